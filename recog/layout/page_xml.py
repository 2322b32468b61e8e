"""PAGE XML (PRImA): the lines of a page, and a line's words and text written back.

Read as ``data_prep.pagexml`` always did, whatever the schema version (namespaces are ignored):
the image is ``Page/@imageFilename``; a TextLine's polygon is its ``Coords``, as
``points="x,y x,y ..."`` (2013 and later) or ``<Point x= y=/>`` children (2009/2010); its
baseline is ``Baseline/@points``; its transcript is its own ``TextEquiv`` (the lowest ``@index``
when there are several), else its ``Word`` transcripts joined by spaces, whitespace collapsed.

Written in the order the 2013-07-15 and 2019-07-15 XSDs give a TextLine's children
(AlternativeImage*, Coords, Baseline?, Word*, TextEquiv*, TextStyle?, UserDefined?, Labels*; the
2013 schema has a subset in the same order): the line's Words and own TextEquivs are replaced by
one ``Word`` per box (``id="<line id>_w<k>"``, k from 1; ``Coords`` = the box's 4 corners, then
its ``TextEquiv``) and one line ``TextEquiv``, placed before TextStyle/UserDefined/Labels.
Words of 2009/2010 documents get ``<Point>`` corners, as those schemas want.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

from .files import (LayoutLine, WordBox, children, descendants, fmt_conf, indent_info, int_box,
                    local, make, normalize_text, parse_points, reindent, sub)

# TextLine children that come after Word and TextEquiv in the schemas
_AFTER_TEXT = {"TextStyle", "UserDefined", "Labels"}


def coords_points(coords: ET.Element) -> list[tuple[float, float]] | None:
    """A ``Coords`` element's polygon (``points=`` or ``<Point>`` children); None if it does not
    parse or has under 3 points."""
    if coords.get("points") is not None:
        return parse_points(coords.get("points"), 3)
    try:
        pts = [(float(p.get("x")), float(p.get("y"))) for p in children(coords, "Point")]
    except (TypeError, ValueError):
        return None
    return pts if len(pts) >= 3 else None


def unicode_of(el: ET.Element) -> str | None:
    """The text of an element's own ``TextEquiv/Unicode`` (lowest ``@index`` first), or None."""
    def index(e: ET.Element) -> float:
        try:
            return float(e.get("index", "inf"))
        except ValueError:
            return float("inf")

    for eq in sorted(children(el, "TextEquiv"), key=index):
        uni = children(eq, "Unicode")
        if uni and uni[0].text and uni[0].text.strip():
            return uni[0].text
    return None


def line_text(line: ET.Element) -> str:
    """A TextLine's transcript: its own TextEquiv, else its Words' joined by spaces ('' if none)."""
    text = unicode_of(line)
    if text is None:
        words = [unicode_of(w) for w in children(line, "Word")]
        text = " ".join(w for w in words if w)
    return normalize_text(text)


def _int_attr(el: ET.Element, name: str) -> int | None:
    try:
        return round(float(el.get(name)))
    except (TypeError, ValueError, OverflowError):
        return None


def read(root: ET.Element, path: Path) -> tuple[str, int | None, int | None, list[LayoutLine]]:
    """(image name, width, height, lines) of a PAGE document; ValueError naming ``path`` when
    it has no ``Page`` or no ``imageFilename``."""
    page = next(descendants(root, "Page"), None)
    if page is None:
        raise ValueError(f"{path}: no PAGE <Page> element")
    image = (page.get("imageFilename") or "").strip()
    if not image:
        raise ValueError(f"{path}: <Page> has no imageFilename")
    lines = []
    for i, el in enumerate(descendants(page, "TextLine")):
        coords = children(el, "Coords")
        base = children(el, "Baseline")
        lines.append(LayoutLine(
            id=el.get("id") or f"line{i + 1}",
            polygon=coords_points(coords[0]) if coords else None,
            baseline=parse_points(base[0].get("points"), 2) if base else None,
            text=line_text(el),
            element=el))
    return image, _int_attr(page, "imageWidth"), _int_attr(page, "imageHeight"), lines


def _text_equiv(text: str, conf: float, ns: str) -> ET.Element:
    eq = make("TextEquiv", ns, {"conf": fmt_conf(conf)})
    sub(eq, "Unicode", ns).text = text
    return eq


def _word(line_id: str, k: int, w: WordBox, ns: str, point_children: bool) -> ET.Element:
    x0, y0, x1, y1 = int_box(w.x0, w.y0, w.x1, w.y1)
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    word = make("Word", ns, {"id": f"{line_id}_w{k}"})
    if point_children:
        coords = sub(word, "Coords", ns)
        for x, y in corners:
            sub(coords, "Point", ns, {"x": str(x), "y": str(y)})
    else:
        sub(word, "Coords", ns, {"points": " ".join(f"{x},{y}" for x, y in corners)})
    word.append(_text_equiv(w.text, w.conf, ns))
    return word


def write_line(line: LayoutLine, text: str, conf: float, words: list[WordBox], ns: str) -> None:
    """Replace the TextLine's Words and own TextEquivs with ``words`` and ``text``."""
    el = line.element
    info = indent_info(el)
    for c in list(el):
        if local(c.tag) in ("Word", "TextEquiv"):
            el.remove(c)
    old = "2009" in ns or "2010" in ns  # those schemas give Coords <Point> children
    new = [_word(line.id, k, w, ns, old) for k, w in enumerate(words, 1)] + [_text_equiv(text, conf, ns)]
    at = next((i for i, c in enumerate(el) if local(c.tag) in _AFTER_TEXT), len(el))
    el[at:at] = new
    reindent(el, info, new)


def touch_last_change(root: ET.Element) -> None:
    """Set ``Metadata/LastChange`` to now (local time with its UTC offset), where present."""
    for md in children(root, "Metadata"):
        for lc in children(md, "LastChange"):
            lc.text = datetime.now().astimezone().isoformat(timespec="seconds")
