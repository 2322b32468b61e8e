"""PAGE XML and ALTO page layouts read into line records, and transcriptions written back.

Users of Transkribus, eScriptorium, kraken and Calamari bring page images with a layout file:
PAGE XML (PRImA; 2013-07-15 and 2019-07-15 schemas, the 2009/2010 ones read too) or ALTO (v2,
v3, v4).  recog cuts every ``TextLine`` out of the page image, transcribes it, and has to hand
the text back *in the user's own file*, so that their tool loads it again with everything else
it holds (regions, reading order, metadata, custom attributes) untouched.  Hence this layer
reads the file into an ElementTree, keeps the tree, and edits only the transcribed lines.

Reading ignores namespaces, so any schema version of either format is read the same way; the
root element (``PcGts`` or ``alto``) says which format it is.  Each line has its polygon and
baseline in page pixels and its existing transcript (see ``page_xml`` and ``alto``).  A file that
cannot be used raises ValueError naming the file and the problem.

Writing (``set_transcription`` then ``write_layout``) replaces a line's words and text, in the
children order the official XSDs require, into a *new* file (``output_path``: ``<stem>.recog.xml``;
writing over the input is refused).  Namespace prefixes, ``xsi:schemaLocation``, comments inside
the root and all other elements and attributes are kept; the XML declaration is rewritten as
UTF-8, and comments or processing instructions before the root element are dropped.  Confidences
are written with 4 decimals in 0..1, coordinates as rounded non-negative integers.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .geometry import Point

# characters XML 1.0 cannot hold (text containing them would make the written file unreadable)
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class LayoutLine:
    """One TextLine: id, polygon and baseline (page px, None where missing or unusable), its
    existing transcript ('' if none) and the element itself, for writing back."""
    id: str
    polygon: list[Point] | None
    baseline: list[Point] | None
    text: str
    element: ET.Element


@dataclass
class Layout:
    """A page layout file as read: its tree, page image name and size, and lines in document
    order.  ``namespaces`` holds the prefixes the file declares (prefix -> URI; '' = default),
    so that writing keeps them."""
    path: Path
    kind: str
    namespace: str
    tree: ET.ElementTree
    image: str
    width: int | None
    height: int | None
    lines: list[LayoutLine]
    namespaces: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class WordBox:
    """A recognised word: its text, box on the page (px; x1/y1 exclusive) and confidence 0..1."""
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    conf: float


# ---------------------------------------------------------------------------------- helpers

def local(tag) -> str:
    """An element's name without namespace ('' for comments and processing instructions)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace_of(tag) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local(c.tag) == name]


def descendants(el: ET.Element, name: str):
    return (c for c in el.iter() if local(c.tag) == name)


def normalize_text(text: str) -> str:
    """Strip and collapse every run of whitespace (newlines included) to one space."""
    return " ".join(text.split())


def parse_points(s: str | None, minimum: int) -> list[Point] | None:
    """``"x,y x,y ..."`` or ``"x y x y ..."`` as points; None when absent, unparseable or fewer
    than ``minimum`` points."""
    if s is None:
        return None
    try:
        nums = [float(v) for v in s.replace(",", " ").split()]
    except ValueError:
        return None
    if len(nums) % 2 or not all(map(math.isfinite, nums)):
        return None
    pts = list(zip(nums[0::2], nums[1::2]))
    return pts if len(pts) >= minimum else None


def int_box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """A box rounded to non-negative integer pixels."""
    return tuple(max(0, round(v)) for v in (x0, y0, x1, y1))  # type: ignore[return-value]


def fmt_conf(conf: float) -> str:
    return f"{min(1.0, max(0.0, conf)):.4f}"


def sub(parent: ET.Element, name: str, ns: str, attrib: dict[str, str] | None = None) -> ET.Element:
    """A new child ``name`` in namespace ``ns``, appended to ``parent``."""
    return ET.SubElement(parent, f"{{{ns}}}{name}" if ns else name, attrib or {})


def make(name: str, ns: str, attrib: dict[str, str] | None = None) -> ET.Element:
    return ET.Element(f"{{{ns}}}{name}" if ns else name, attrib or {})


def indent_info(el: ET.Element) -> tuple[str, int] | None:
    """(indent unit, level of ``el``) when ``el``'s children are pretty-printed, else None."""
    if not len(el):
        return None
    inner, closing = el.text or "", el[-1].tail or ""
    if "\n" not in inner or "\n" not in closing or inner.strip() or closing.strip():
        return None
    inner, closing = inner.rsplit("\n", 1)[1], closing.rsplit("\n", 1)[1]
    unit = inner[len(closing):]
    if not unit or not inner.startswith(closing) or closing != unit * (len(closing) // len(unit)):
        return None
    return unit, len(closing) // len(unit)


def reindent(el: ET.Element, info: tuple[str, int] | None, new: list[ET.Element]) -> None:
    """Lay ``el``'s children out one a line, at the file's indentation (``indent_info`` taken
    before editing), and indent the insides of the ``new`` ones; other insides are untouched."""
    if info is None:
        return
    unit, level = info
    el.text = "\n" + unit * (level + 1)
    for c in el:
        if c in new:
            ET.indent(c, space=unit, level=level + 1)
        if not (c.tail or "").strip():
            c.tail = el.text
    el[-1].tail = "\n" + unit * level


class _Builder(ET.TreeBuilder):
    """A TreeBuilder that keeps comments and processing instructions and records the
    namespace prefixes the document declares."""

    def __init__(self):
        super().__init__(insert_comments=True, insert_pis=True)
        self.namespaces: dict[str, str] = {}

    def start_ns(self, prefix: str, uri: str) -> None:
        self.namespaces.setdefault(prefix, uri)


# ------------------------------------------------------------------------------- public API

def read_layout(path) -> Layout:
    """Read a PAGE XML or ALTO file.  Raises ValueError, naming the file, when it does not parse,
    is neither format, or lacks what recog needs (a Page, the image file name; see the format
    modules)."""
    from . import alto, page_xml

    path = Path(path)
    builder = _Builder()
    try:
        parser = ET.XMLParser(target=builder)
        parser.feed(path.read_bytes())
        root = parser.close()
    except (ET.ParseError, OSError, LookupError, ValueError) as e:  # LookupError: unknown encoding
        raise ValueError(f"{path}: not readable XML ({e})") from None
    name = local(root.tag)
    if name == "alto":
        kind, reader = "alto", alto.read
    elif name == "PcGts" or any(p.get("imageFilename") is not None for p in descendants(root, "Page")):
        kind, reader = "page", page_xml.read
    else:
        raise ValueError(f"{path}: root element <{name}> is neither PAGE XML (<PcGts>) nor ALTO (<alto>)")
    image, width, height, lines = reader(root, path)
    return Layout(path, kind, namespace_of(root.tag), ET.ElementTree(root), image, width, height,
                  lines, builder.namespaces)


def find_page_image(layout: Layout) -> Path | None:
    """The page image named in the file: next to the XML or in its parent folder (Transkribus
    puts the XML in ``page/`` beside the images), by the full name, then by its basename."""
    base = re.split(r"[\\/]", layout.image)[-1]
    for d in (layout.path.parent, layout.path.parent.parent):
        for n in (layout.image, base):
            p = d / n
            if p.is_file():
                return p
    return None


def load_page_image(path: Path):
    """The page image as 8-bit grey (PIL); ValueError naming the file when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.convert("L")
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the page image ({e})") from None


def set_transcription(layout: Layout, line: LayoutLine, text: str, conf: float,
                      words: list[WordBox]) -> None:
    """Replace ``line``'s transcription in the tree: its words (one per WordBox, may be empty)
    and its text with confidence ``conf`` (0..1).  The words, when given, must spell ``text``:
    each one whitespace-free and non-empty, joined by spaces equal to ``text``'s words.
    ``line.text`` becomes the new text (whitespace collapsed, as on reading)."""
    from . import alto, page_xml

    where = f"{layout.path}: TextLine {line.id!r}"
    for c in [conf] + [w.conf for w in words]:
        if not math.isfinite(c):
            raise ValueError(f"{where}: confidence {c} is not a number")
    for t in [text] + [w.text for w in words]:
        m = _ILLEGAL_XML.search(t)
        if m:
            raise ValueError(f"{where}: character {m.group()!r} cannot be written to XML")
    if words and ([w.text for w in words] != text.split() or any(len(w.text.split()) != 1 for w in words)):
        raise ValueError(f"{where}: the words {[w.text for w in words]} do not spell the text {text!r}")
    writer = alto.write_line if layout.kind == "alto" else page_xml.write_line
    writer(line, text, conf, words, layout.namespace)
    line.text = normalize_text(text)


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _prefixed(root: ET.Element, declared: dict[str, str]) -> ET.Element:
    """A copy of the tree with names spelled ``prefix:name`` by the document's own prefixes,
    all of them declared on the root (ElementTree alone would write ``ns0:``).  A namespace
    without a prefix in the document gets a new one, as does the default namespace when some
    elements are in none."""
    prefix_of = {"http://www.w3.org/XML/1998/namespace": "xml"}
    for prefix, uri in declared.items():
        prefix_of.setdefault(uri, prefix)
    if any(isinstance(e.tag, str) and not e.tag.startswith("{") for e in root.iter()):
        prefix_of = {u: p for u, p in prefix_of.items() if p}
    taken = set(prefix_of.values())

    def name(qname: str) -> str:
        if not qname.startswith("{"):
            return qname
        uri, tag = qname[1:].split("}", 1)
        if uri not in prefix_of:
            prefix_of[uri] = next(p for p in (f"ns{k}" for k in range(len(taken) + 1)) if p not in taken)
            taken.add(prefix_of[uri])
        return f"{prefix_of[uri]}:{tag}" if prefix_of[uri] else tag

    def copy(el: ET.Element) -> ET.Element:
        if not isinstance(el.tag, str):  # comment or processing instruction
            return el
        new = ET.Element(name(el.tag), {name(k): v for k, v in el.items()})
        new.text, new.tail = el.text, el.tail
        new.extend(copy(c) for c in el)
        return new

    out = copy(root)
    xmlns = {("xmlns:" + p if p else "xmlns"): u for u, p in prefix_of.items() if p != "xml"}
    out.attrib = {**xmlns, **out.attrib}
    return out


def write_layout(layout: Layout, out) -> None:
    """Write the layout to ``out`` (UTF-8, with an XML declaration), keeping the file's namespace
    prefixes.  Raises ValueError when ``out`` is the input file.  PAGE ``Metadata/LastChange``
    is set to now."""
    from . import page_xml

    out = Path(out)
    if _same_file(out, layout.path):
        raise ValueError(f"{out}: is the input file; write the transcription to a new file")
    root = layout.tree.getroot()
    if layout.kind == "page":
        page_xml.touch_last_change(root)
    body = ET.tostring(_prefixed(root, layout.namespaces), encoding="unicode")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n", encoding="utf-8")
    os.replace(tmp, out)


def output_path(xml_path, out_dir=None) -> Path:
    """``<stem>.recog.xml`` next to the input, or in ``out_dir`` when given."""
    xml_path = Path(xml_path)
    return Path(out_dir or xml_path.parent) / f"{xml_path.stem}.recog.xml"
