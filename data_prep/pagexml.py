"""Cut the text lines of PAGE-XML pages into line images with ground-truth sidecars.

Transkribus, eScriptorium and kraken export transcribed pages as PAGE-XML: one XML file a page,
naming its image in ``Page/@imageFilename``, with ``TextLine`` elements that carry a polygon
(``Coords``) and a transcript (``TextEquiv/Unicode``).  The public Hooker letters come this way.
This turns such pages into the layout ``data_prep.lines`` reads (kraken / Calamari / ocropus)::

    out/lines/<prefix><page stem>_<line id>.png   the line image
    out/lines/<prefix><page stem>_<line id>.gt.txt  its transcript (one UTF-8 line)
    out/lines/index.jsonl                         id, text, page image and XML, bbox on the page
    out/train.lst valid.lst test.lst              split by page (with --split)

Each line is the bounding box of its polygon plus ``--margin`` px (clipped to the page); pixels
outside the polygon are set to white unless ``--no-mask`` (then the whole box is kept, which
helps where the annotators' polygons cut off ascenders and descenders), converted to 8-bit grey
and, with ``--max-height``, scaled down so that it is at most that high (aspect kept).  A
line's transcript is its own ``TextEquiv`` (the lowest ``@index`` when there are several), else
its ``Word`` transcripts joined by spaces; whitespace runs become one space.

Any PAGE schema version is read (namespaces are ignored): polygons as ``points="x,y x,y ..."``
(2013 and later) or as ``<Point x= y=/>`` children (2010).  The page image is looked for next to
the XML and in its parent folder (Transkribus puts the XML in ``page/`` beside the images).

``--split 0.8,0.1,0.1`` writes split lists with all the lines of a page in one split, so that
no page is seen both in training and in test: pages are shuffled with ``--seed``, and each goes
to test, else valid, when that brings the split closer to its share of the lines, else to train.

Bad input is reported on stderr, naming the file, and skipped; the other pages go on: an XML
file that does not parse or holds no PAGE ``Page``, a page image that is missing or unreadable,
a line without a polygon or with one of under 3 points or no area.  A line id used twice on a
page is reported and the later line gets ``_2`` (``_3``, ...) appended.  Lines without a
transcript are counted, not written.  Re-running rewrites the output.

Usage::

    python -m data_prep.pagexml --pages DIR [DIR ...] --out DIR [--prefix jdh_] [--max-height 128]
        [--format png|jpg] [--margin 4] [--no-mask] [--split 0.8,0.1,0.1 --seed 0]
    recog prep lines --corpus DIR --out data        # then, as for any line-image corpus
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, UnidentifiedImageError

from .common import Reporter, normalize_text
from .lines import GT_SUFFIX

PROG = "data_prep.pagexml"
SPLITS = ("train", "valid", "test")


@dataclass
class PageLine:
    """One transcribed line of a page: its id on the page, polygon (page px) and transcript."""
    id: str
    polygon: list[tuple[float, float]]
    text: str


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _iter(el: ET.Element, name: str):
    return (c for c in el.iter() if _local(c.tag) == name)


def parse_points(coords: ET.Element) -> list[tuple[float, float]]:
    """A ``Coords`` element's polygon: ``points="x,y x,y"`` or ``<Point x= y=/>`` children.
    Raises ValueError on numbers that do not parse."""
    pts = coords.get("points")
    if pts is not None:
        out = []
        for pair in pts.split():
            x, _, y = pair.partition(",")
            out.append((float(x), float(y)))
        return out
    return [(float(p.get("x")), float(p.get("y"))) for p in _children(coords, "Point")]


def _unicode_of(el: ET.Element) -> str | None:
    """The text of an element's own ``TextEquiv/Unicode`` (lowest ``@index`` first), or None."""
    equivs = _children(el, "TextEquiv")
    if not equivs:
        return None

    def index(e: ET.Element) -> float:
        try:
            return float(e.get("index", "inf"))
        except ValueError:
            return float("inf")

    for eq in sorted(equivs, key=index):
        uni = _children(eq, "Unicode")
        if uni and uni[0].text and uni[0].text.strip():
            return uni[0].text
    return None


def line_text(line: ET.Element) -> str:
    """A TextLine's transcript: its own TextEquiv, else its Words' joined by spaces ('' if none)."""
    text = _unicode_of(line)
    if text is None:
        words = [_unicode_of(w) for w in _children(line, "Word")]
        text = " ".join(w for w in words if w)
    return normalize_text(text)


def read_page(xml_path: Path) -> tuple[str, list[ET.Element]]:
    """The page image name and the TextLine elements of a PAGE-XML file, in document order.
    Raises ValueError when the file does not parse or is not PAGE."""
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, OSError, LookupError, ValueError) as e:  # LookupError: an unknown declared encoding
        raise ValueError(f"{xml_path}: not readable XML ({e})") from None
    page = next(_iter(root, "Page"), None)
    if page is None:
        raise ValueError(f"{xml_path}: no PAGE <Page> element (not a PAGE-XML file?)")
    image = page.get("imageFilename")
    if not image:
        raise ValueError(f"{xml_path}: <Page> has no imageFilename")
    return image, list(_iter(page, "TextLine"))


def find_image(xml_path: Path, name: str) -> Path | None:
    """The page image ``name`` next to the XML or in its parent folder (basename tried too)."""
    base = re.split(r"[\\/]", name)[-1]
    for d in (xml_path.parent, xml_path.parent.parent):
        for n in (name, base):
            p = d / n
            if p.is_file():
                return p
    return None


def crop_line(page: Image.Image, polygon: list[tuple[float, float]], margin: int = 4,
              mask: bool = True, max_height: int | None = None) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Cut one line out of a grey page: (image, bbox on the page as x0, y0, x1, y1 exclusive)."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    x0 = max(0, int(min(xs)) - margin)
    y0 = max(0, int(min(ys)) - margin)
    x1 = min(page.width, int(max(xs)) + 1 + margin)
    y1 = min(page.height, int(max(ys)) + 1 + margin)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"polygon lies outside the {page.width}x{page.height} page")
    img = page.crop((x0, y0, x1, y1))
    if mask:
        m = Image.new("L", img.size, 0)
        ImageDraw.Draw(m).polygon([(x - x0, y - y0) for x, y in polygon], fill=255, outline=255)
        img = Image.composite(img, Image.new("L", img.size, 255), m)
    if max_height and img.height > max_height:
        w = max(1, round(img.width * max_height / img.height))
        img = img.resize((w, max_height), Image.LANCZOS)
    return img, (x0, y0, x1, y1)


def _area(poly: list[tuple[float, float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]))) / 2


def page_lines(xml_path: Path, lines: list[ET.Element], rep: Reporter) -> list[PageLine]:
    """The usable transcribed lines of a page; the others are reported (or counted) and skipped."""
    out: list[PageLine] = []
    seen: set[str] = set()
    for i, el in enumerate(lines):
        lid = re.sub(r"\s+", "_", el.get("id") or f"line{i + 1}")
        text = line_text(el)
        if not text:
            rep.counts["line without text"] += 1
            continue
        if lid in seen:
            k = 2
            while f"{lid}_{k}" in seen:
                k += 1
            rep.warn("duplicate line id", f"{xml_path}: TextLine id {lid!r} used again; this one is {lid}_{k}")
            lid = f"{lid}_{k}"
        coords = _children(el, "Coords")
        try:
            poly = parse_points(coords[0]) if coords else []
        except (TypeError, ValueError):
            rep.warn("bad polygon", f"{xml_path}: TextLine {lid!r}: Coords do not parse; skipped")
            continue
        if len(poly) < 3 or _area(poly) <= 0:
            rep.warn("bad polygon", f"{xml_path}: TextLine {lid!r}: no polygon with an area "
                                    f"({len(poly)} points); skipped")
            continue
        seen.add(lid)
        out.append(PageLine(lid, poly, text))
    return out


def split_pages(line_counts: dict[str, int], fractions: tuple[float, float, float],
                seed: int = 0) -> dict[str, str]:
    """Page -> split.  Pages are shuffled with ``seed``; each goes to test, else valid, when that
    brings the split closer to its fraction of the lines, and otherwise to train."""
    pages = sorted(line_counts)
    random.Random(seed).shuffle(pages)
    total = sum(line_counts.values())
    target = {"test": fractions[2] * total, "valid": fractions[1] * total}
    got = {"test": 0, "valid": 0}
    where: dict[str, str] = {}
    for p in pages:
        n = line_counts[p]
        where[p] = next((s for s in ("test", "valid") if abs(got[s] + n - target[s]) < abs(got[s] - target[s])),
                        "train")
        if where[p] != "train":
            got[where[p]] += n
    return where


def extract_pages(xml_files: list[Path], out: Path, prefix: str = "", margin: int = 4, mask: bool = True,
                  max_height: int | None = None, fmt: str = "png",
                  split: tuple[float, float, float] | None = None, seed: int = 0) -> dict[str, list[str]]:
    """Write the line images, sidecars, ``index.jsonl`` and (with ``split``) the split lists.
    Returns the line ids of each page stem."""
    rep = Reporter(PROG)
    lines_dir = Path(out) / "lines"
    lines_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {}
    with open(lines_dir / "index.jsonl", "w", encoding="utf-8") as index:
        for xml_path in xml_files:
            try:
                image_name, elements = read_page(xml_path)
            except ValueError as e:
                rep.warn("bad xml", f"{e}; skipped")
                continue
            image_path = find_image(xml_path, image_name)
            if image_path is None:
                rep.warn("missing page image", f"{xml_path}: page image {image_name!r} not found next to "
                                               f"it or in {xml_path.parent.parent}; skipped")
                continue
            plines = page_lines(xml_path, elements, rep)
            if not plines:
                continue
            try:
                with Image.open(image_path) as im:
                    page = im.convert("L")
            except (OSError, UnidentifiedImageError, ValueError) as e:
                rep.warn("bad page image", f"{image_path}: cannot read the image ({e}); skipped")
                continue
            stem = Path(image_path).stem
            ids = []
            for pl in plines:
                uid = f"{prefix}{stem}_{pl.id}"
                try:
                    img, bbox = crop_line(page, pl.polygon, margin, mask, max_height)
                except ValueError as e:
                    rep.warn("bad polygon", f"{xml_path}: TextLine {pl.id!r}: {e}; skipped")
                    continue
                name = f"{uid}.{fmt}"
                if fmt == "jpg":
                    img.save(lines_dir / name, "JPEG", quality=90)
                else:
                    img.save(lines_dir / name)
                (lines_dir / f"{uid}{GT_SUFFIX}").write_text(pl.text + "\n", encoding="utf-8")
                index.write(json.dumps({"id": uid, "text": pl.text, "image": name, "page_image": image_path.name,
                                        "page_xml": xml_path.name, "bbox": list(bbox),
                                        "width": img.width, "height": img.height}, ensure_ascii=False) + "\n")
                ids.append(uid)
            if ids:
                written.setdefault(stem, []).extend(ids)
    n = sum(len(v) for v in written.values())
    if split is not None:
        where = split_pages({p: len(v) for p, v in written.items()}, split, seed)
        for name in SPLITS:
            ids = [u for p in sorted(written) if where[p] == name for u in written[p]]
            (Path(out) / f"{name}.lst").write_text("".join(u + "\n" for u in ids), encoding="utf-8")
            rep.info(f"{name}: {sum(where[p] == name for p in written)} pages, {len(ids)} lines")
    rep.info(f"{n} lines of {len(written)} pages")
    rep.summary({"lines": [u for ids in written.values() for u in ids]}, lines_dir)
    return written


def find_xml(paths: list[Path]) -> list[Path]:
    """PAGE-XML files given directly or found (recursively) in the given folders, sorted."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() == ".xml" and q.is_file()
                                and q.name not in ("metadata.xml", "mets.xml")))
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return files


def _fractions(s: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(x) for x in s.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(x < 0 for x in parts) or abs(sum(parts) - 1) > 1e-6:
        raise argparse.ArgumentTypeError(f"{s!r}: give three fractions train,valid,test that sum to 1")
    return parts  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep pagexml", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=Path, nargs="+", required=True, help="PAGE-XML files or folders (searched recursively)")
    ap.add_argument("--out", type=Path, required=True, help="output folder: lines/ and the split lists")
    ap.add_argument("--prefix", default="", help="prepended to every line id, e.g. jdh_")
    ap.add_argument("--margin", type=int, default=4, help="px added around the polygon's bounding box")
    ap.add_argument("--no-mask", dest="mask", action="store_false", help="keep the whole box, not just the polygon")
    ap.add_argument("--max-height", type=int, default=None, help="scale taller lines down to this height")
    ap.add_argument("--format", choices=("png", "jpg"), default="png")
    ap.add_argument("--split", type=_fractions, default=None, help="train,valid,test fractions of lines, split by page")
    ap.add_argument("--seed", type=int, default=0, help="seed of the page shuffle for --split")
    args = ap.parse_args(argv)
    try:
        files = find_xml(args.pages)
    except FileNotFoundError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    if not files:
        print(f"{PROG}: error: no .xml files in {' '.join(map(str, args.pages))}", file=sys.stderr)
        return 2
    written = extract_pages(files, args.out, args.prefix, args.margin, args.mask, args.max_height,
                            args.format, args.split, args.seed)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
