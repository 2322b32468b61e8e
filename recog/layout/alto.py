"""ALTO (v2, v3, v4): the lines of a page, and a line's words written back as Strings.

Read, whatever the version (namespaces are ignored): the image is
``Description/sourceImageInformation/fileName``; the page size ``Page/@WIDTH``, ``@HEIGHT``.  A
TextLine's polygon is its ``Shape/Polygon/@POINTS`` (``"x,y x,y"`` or kraken's ``"x y x y"``),
else its HPOS/VPOS/WIDTH/HEIGHT box; its baseline ``@BASELINE``, either one number, the baseline's
y on the page (v2 to v4.1: the line from HPOS to HPOS+WIDTH at that y), or a list of points
(v4.2+); its transcript the ``String/@CONTENT``s joined by single spaces (SP is a space, HYP is
ignored).  Only pixel coordinates are read (``MeasurementUnit`` pixel, or none), and one Page a
file, which is how kraken, eScriptorium, Transkribus and Tesseract write ALTO.

Written in the order the v2.1, v3.1 and v4.4 XSDs give a TextLine's children (Shape?, then
(String, SP?)+, then HYP?): the line's String, SP and HYP children are replaced by one ``String``
per word (``ID="<line id>_w<k>"``, k from 1, CONTENT, HPOS/VPOS/WIDTH/HEIGHT as integers, WC)
with an ``SP`` (HPOS, VPOS, WIDTH of the gap) between two; Shape and anything else stay first.
Without word boxes the text's words become Strings without positions (WC = the line's
confidence); an empty text one String with empty CONTENT, since a TextLine needs a String.
HPOS/VPOS/WIDTH/HEIGHT missing on a v2 TextLine (v2 requires them; v3 and v4 do not) are filled
in from the box of its polygon, else of its words.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from .files import (LayoutLine, WordBox, children, descendants, fmt_conf, indent_info, int_box,
                    local, make, normalize_text, parse_points, reindent)

_BOX = ("HPOS", "VPOS", "WIDTH", "HEIGHT")


def _num(el: ET.Element, name: str) -> float | None:
    try:
        v = float(el.get(name))
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def _polygon(el: ET.Element) -> list[tuple[float, float]] | None:
    for shape in children(el, "Shape"):
        for poly in children(shape, "Polygon"):
            pts = parse_points(poly.get("POINTS"), 3)
            if pts:
                return pts
    x, y, w, h = (_num(el, a) for a in _BOX)
    if None in (x, y, w, h):
        return None
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def _baseline(el: ET.Element) -> list[tuple[float, float]] | None:
    value = el.get("BASELINE")
    if value is None:
        return None
    if len(value.replace(",", " ").split()) == 1:  # v2-v4.1: the baseline's y
        y, x, w = _num(el, "BASELINE"), _num(el, "HPOS"), _num(el, "WIDTH")
        return None if None in (y, x, w) else [(x, y), (x + w, y)]
    return parse_points(value, 2)


def _text(el: ET.Element) -> str:
    return normalize_text(" ".join(s.get("CONTENT") or "" for s in children(el, "String")))


def read(root: ET.Element, path: Path) -> tuple[str, int | None, int | None, list[LayoutLine]]:
    """(image name, width, height, lines) of an ALTO document; ValueError naming ``path`` when
    its unit is not pixels, it has no or several Pages, or no image file name."""
    desc = next(iter(children(root, "Description")), None)
    unit = children(desc, "MeasurementUnit") if desc is not None else []
    if unit and (unit[0].text or "").strip() != "pixel":
        raise ValueError(f"{path}: ALTO MeasurementUnit is {(unit[0].text or '').strip()!r}, not pixel; "
                         f"export the ALTO in pixels")
    pages = list(descendants(root, "Page"))
    if not pages:
        raise ValueError(f"{path}: no ALTO <Page> element")
    if len(pages) > 1:
        raise ValueError(f"{path}: {len(pages)} ALTO <Page> elements; recog reads one page a file")
    names = [f for s in descendants(desc, "sourceImageInformation") for f in children(s, "fileName")] \
        if desc is not None else []
    image = (names[0].text or "").strip() if names else ""
    if not image:
        raise ValueError(f"{path}: no image file name (Description/sourceImageInformation/fileName)")
    lines = [LayoutLine(id=el.get("ID") or f"line{i + 1}", polygon=_polygon(el), baseline=_baseline(el),
                        text=_text(el), element=el)
             for i, el in enumerate(descendants(pages[0], "TextLine"))]
    size = [_num(pages[0], a) for a in ("WIDTH", "HEIGHT")]
    return image, *(None if v is None else round(v) for v in size), lines


def _fill_line_box(line: LayoutLine, words: list[WordBox]) -> None:
    el = line.element
    if all(el.get(a) is not None for a in _BOX):
        return
    if line.polygon:
        xs, ys = [p[0] for p in line.polygon], [p[1] for p in line.polygon]
    elif words:
        xs, ys = [w.x0 for w in words] + [w.x1 for w in words], [w.y0 for w in words] + [w.y1 for w in words]
    else:
        return
    x0, y0, x1, y1 = int_box(min(xs), min(ys), max(xs), max(ys))
    for a, v in zip(_BOX, (x0, y0, x1 - x0, y1 - y0)):
        if el.get(a) is None:
            el.set(a, str(v))


def _strings(line_id: str, text: str, conf: float, words: list[WordBox], ns: str) -> list[ET.Element]:
    if not words:
        tokens = text.split() or [""]
        return [make("String", ns, {"ID": f"{line_id}_w{k}", "CONTENT": t, "WC": fmt_conf(conf)})
                for k, t in enumerate(tokens, 1)]
    out: list[ET.Element] = []
    prev = None
    for k, w in enumerate(words, 1):
        x0, y0, x1, y1 = int_box(w.x0, w.y0, w.x1, w.y1)
        if prev is not None:
            gap = {"HPOS": prev[2], "VPOS": min(prev[1], y0), "WIDTH": max(0, x0 - prev[2])}
            out.append(make("SP", ns, {a: str(v) for a, v in gap.items()}))
        out.append(make("String", ns, {"ID": f"{line_id}_w{k}", "CONTENT": w.text, "HPOS": str(x0),
                                       "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0),
                                       "WC": fmt_conf(w.conf)}))
        prev = (x0, y0, x1, y1)
    return out


def write_line(line: LayoutLine, text: str, conf: float, words: list[WordBox], ns: str) -> None:
    """Replace the TextLine's String, SP and HYP children with ``words`` (or ``text``'s words)."""
    el = line.element
    info = indent_info(el)
    for c in list(el):
        if local(c.tag) in ("String", "SP", "HYP"):
            el.remove(c)
    new = _strings(line.id, text, conf, words, ns)
    el.extend(new)
    if not re.search(r"ns-v[3-9]#", ns):  # v2 (and v1) require the TextLine's box
        _fill_line_box(line, words)
    reindent(el, info, new)
