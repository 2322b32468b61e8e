"""Cut the text lines of PAGE-XML or ALTO pages into line images with ground-truth sidecars.

Transkribus, eScriptorium and kraken export transcribed pages as PAGE-XML: one XML file a page,
naming its image in ``Page/@imageFilename``, with ``TextLine`` elements that carry a polygon
(``Coords``) and a transcript (``TextEquiv/Unicode``).  The public Hooker letters come this way.
This turns such pages into the layout ``data_prep.lines`` reads (kraken / Calamari / ocropus)::

    out/lines/<prefix><page stem>_<line id>.png   the line image
    out/lines/<prefix><page stem>_<line id>.gt.txt  its transcript (one UTF-8 line)
    out/lines/index.jsonl                         id, text, page image and XML, bbox on the page
    out/train.lst valid.lst test.lst              split by page (with --split)

Each line is cut from its region (``recog.layout.geometry``): its polygon, or, where the polygon
is missing or thinner than 0.3 of the page's line spacing, a band around its baseline (0.8 of the
spacing over it, 0.45 under it, never past the neighbouring baselines), as kraken cuts lines;
``--cut polygon`` keeps every polygon as it is (the old cut).  The crop is the region's bounding
box plus ``--margin`` px (clipped to the page); pixels outside the region are set to white unless
``--no-mask`` (then the whole box is kept), converted to 8-bit grey and, with ``--max-height``,
scaled down so that it is at most that high (aspect kept).  ``index.jsonl`` says which region
each line was cut from (``cut``: polygon or baseline).  A
line's transcript is its own ``TextEquiv`` (the lowest ``@index`` when there are several), else
its ``Word`` transcripts joined by spaces; whitespace runs become one space.

Any PAGE schema version is read, and ALTO v2–v4 (``recog.layout.files``): PAGE polygons as
``points="x,y x,y ..."`` (2013 and later) or as ``<Point x= y=/>`` children (2010); ALTO lines
as ``Shape/Polygon`` or their box, with ``String`` contents as the transcript.  The page image is
looked for next to the XML and in its parent folder (Transkribus puts the XML in ``page/``
beside the images).

``--split 0.8,0.1,0.1`` writes split lists with all the lines of a page in one split, so that
no page is seen both in training and in test: pages are shuffled with ``--seed``, and each goes
to test, else valid, when that brings the split closer to its share of the lines, else to train.
``--page-lists test=test_pages.lst ...`` reproduces a published split instead: each list names
pages (image stems), and ``<name>.lst`` gets their lines.

Bad input is reported on stderr, naming the file, and skipped; the other pages go on: an XML
file that does not parse or holds no PAGE ``Page``, a page image that is missing or unreadable,
a line with neither a usable polygon (3 points or more, an area) nor a baseline.  A line id used
twice on a page is reported and the later line gets ``_2`` (``_3``, ...) appended; whitespace in
ids (page file names such as ``JDH_2_16_180_004 (1).jpg``) becomes ``_``.  Lines without a
transcript are counted, not written.  Re-running rewrites the output.

Usage::

    python -m data_prep.pagexml --pages DIR [DIR ...] --out DIR [--prefix jdh_] [--max-height 128]
        [--format png|jpg] [--margin 4] [--no-mask] [--cut auto|polygon]
        [--split 0.8,0.1,0.1 --seed 0 | --page-lists train=FILE --page-lists valid=FILE ...]
    recog prep lines --corpus DIR --out data        # then, as for any line-image corpus
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


from recog.layout.files import LayoutLine, find_page_image, load_page_image, read_layout
from recog.layout.geometry import Point, crop_region, page_regions, polygon_area
from recog.manifest import read_lines

from .common import Reporter, named_path
from .lines import GT_SUFFIX

PROG = "data_prep.pagexml"
SPLITS = ("train", "valid", "test")


@dataclass
class PageLine:
    """One transcribed line of a page: its id on the page, polygon and baseline (page px; None
    where missing) and transcript."""
    id: str
    polygon: list[Point] | None
    text: str
    baseline: list[Point] | None = None
    index: int = 0  # position among the page's TextLines


def page_lines(xml_path: Path, lines: list[LayoutLine], rep: Reporter) -> list[PageLine]:
    """The usable transcribed lines of a page; the others are reported (or counted) and skipped."""
    out: list[PageLine] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        lid = re.sub(r"\s+", "_", line.id)
        if not line.text:
            rep.counts["line without text"] += 1
            continue
        if lid in seen:
            k = 2
            while f"{lid}_{k}" in seen:
                k += 1
            rep.warn("duplicate line id", f"{xml_path}: TextLine id {lid!r} used again; this one is {lid}_{k}")
            lid = f"{lid}_{k}"
        poly, base = line.polygon, line.baseline
        if (poly is None or polygon_area(poly) <= 0) and base is None:
            rep.warn("bad polygon", f"{xml_path}: TextLine {lid!r}: no polygon with an area (3 points or "
                                    f"more) and no baseline; skipped")
            continue
        seen.add(lid)
        out.append(PageLine(lid, poly, line.text, base, i))
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
                  split: tuple[float, float, float] | None = None, seed: int = 0,
                  cut: str = "auto", page_lists: list[tuple[str, Path]] | None = None) -> dict[str, list[str]]:
    """Write the line images, sidecars, ``index.jsonl`` and (with ``split`` or ``page_lists``)
    the split lists.
    ``cut``: "auto" (polygon, or the baseline band where it is missing or thin) or "polygon".
    Returns the line ids of each page stem."""
    rep = Reporter(PROG)
    lines_dir = Path(out) / "lines"
    lines_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {}
    cuts: Counter = Counter()
    with open(lines_dir / "index.jsonl", "w", encoding="utf-8") as index:
        for xml_path in xml_files:
            try:
                layout = read_layout(xml_path)
            except ValueError as e:
                rep.warn("bad xml", f"{e}; skipped")
                continue
            elements = layout.lines
            image_path = find_page_image(layout)
            if image_path is None:
                rep.warn("missing page image", f"{xml_path}: page image {layout.image!r} not found next to "
                                               f"it or in {xml_path.parent.parent}; skipped")
                continue
            plines = page_lines(xml_path, elements, rep)
            if not plines:
                continue
            try:
                page = load_page_image(image_path)
            except ValueError as e:
                rep.warn("bad page image", f"{e}; skipped")
                continue
            stem = Path(image_path).stem
            ids = []
            regions = page_regions(elements, cut)
            for pl in plines:
                uid = "_".join(f"{prefix}{stem}_{pl.id}".split())  # ids split on whitespace downstream
                region = regions[pl.index]
                try:
                    if region is None:
                        raise ValueError("no polygon with an area (--cut polygon)")
                    img, bbox = crop_region(page, region.polygon, margin, mask, max_height)
                except ValueError as e:
                    rep.warn("bad polygon", f"{xml_path}: TextLine {pl.id!r}: {e}; skipped")
                    continue
                cuts[region.source] += 1
                name = f"{uid}.{fmt}"
                if fmt == "jpg":
                    img.save(lines_dir / name, "JPEG", quality=90)
                else:
                    img.save(lines_dir / name)
                (lines_dir / f"{uid}{GT_SUFFIX}").write_text(pl.text + "\n", encoding="utf-8")
                index.write(json.dumps({"id": uid, "text": pl.text, "image": name, "page_image": image_path.name,
                                        "page_xml": xml_path.name, "bbox": list(bbox), "cut": region.source,
                                        "width": img.width, "height": img.height}, ensure_ascii=False) + "\n")
                ids.append(uid)
            if ids:
                written.setdefault(stem, []).extend(ids)
    n = sum(len(v) for v in written.values())
    if page_lists:
        write_page_lists(written, page_lists, Path(out), rep)
    elif split is not None:
        where = split_pages({p: len(v) for p, v in written.items()}, split, seed)
        for name in SPLITS:
            ids = [u for p in sorted(written) if where[p] == name for u in written[p]]
            (Path(out) / f"{name}.lst").write_text("".join(u + "\n" for u in ids), encoding="utf-8")
            rep.info(f"{name}: {sum(where[p] == name for p in written)} pages, {len(ids)} lines")
    rep.info(f"{n} lines of {len(written)} pages; cut from " + ", ".join(f"the {k}: {v}" for k, v in sorted(cuts.items())))
    rep.summary({"lines": [u for ids in written.values() for u in ids]}, lines_dir)
    return written


def write_page_lists(written: dict[str, list[str]], page_lists: list[tuple[str, Path]], out: Path,
                     rep: Reporter) -> None:
    """``<name>.lst`` of the lines of the pages (image stems, one a line) each list names: a
    published split reproduced exactly.  Pages of a list that were not found are reported."""
    for name, path in page_lists:
        pages = [ln.strip() for ln in read_lines(path) if ln.strip()]
        missing = [p for p in pages if p not in written]
        if missing:
            rep.warn("page not found", f"{path}: {len(missing)} of its {len(pages)} pages have no lines here "
                                       f"(first: {missing[0]!r})")
        ids = [u for p in pages for u in written.get(p, [])]
        (out / f"{name}.lst").write_text("".join(u + "\n" for u in ids), encoding="utf-8")
        rep.info(f"{name}: {len(pages) - len(missing)} pages, {len(ids)} lines")


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
    ap.add_argument("--cut", choices=("auto", "polygon"), default="auto",
                    help="auto: the polygon, or a band around the baseline where the polygon is missing or thin; "
                         "polygon: every polygon as it is")
    ap.add_argument("--max-height", type=int, default=None, help="scale taller lines down to this height")
    ap.add_argument("--format", choices=("png", "jpg"), default="png")
    ap.add_argument("--split", type=_fractions, default=None, help="train,valid,test fractions of lines, split by page")
    ap.add_argument("--seed", type=int, default=0, help="seed of the page shuffle for --split")
    ap.add_argument("--page-lists", type=named_path, action="append", default=[], metavar="NAME=FILE",
                    help="write NAME.lst with the lines of the pages FILE names (page image stems, one a line); "
                         "repeat for each split, e.g. train=train_pages.lst (instead of --split)")
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
                            args.format, args.split, args.seed, args.cut, args.page_lists)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
