"""Write ALTO v4 copies of PAGE XML pages (lines with their polygons, baselines and words), so
that `recog transcribe --pages` can be checked on ALTO input of the same pages.

    python recipes/hooker/local/page_to_alto.py --out DIR PAGE.xml [...]

Each TextLine becomes an ALTO TextLine with ``Shape/Polygon`` (its PAGE polygon, when it has
one), ``BASELINE`` as points (ALTO 4.2+), its box, and its transcript as ``String``/``SP``
elements without positions.  Output: ``DIR/<stem>.xml``, validating against ALTO 4.4.
"""

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from recog.layout.files import read_layout

NS = "http://www.loc.gov/standards/alto/ns-v4#"


def _pts(points) -> str:
    return " ".join(f"{round(x)},{round(y)}" for x, y in points)


def to_alto(page_xml: Path) -> ET.ElementTree:
    lay = read_layout(page_xml)
    ET.register_namespace("", NS)
    q = lambda n: f"{{{NS}}}{n}"  # noqa: E731
    root = ET.Element(q("alto"))
    desc = ET.SubElement(root, q("Description"))
    ET.SubElement(desc, q("MeasurementUnit")).text = "pixel"
    ET.SubElement(ET.SubElement(desc, q("sourceImageInformation")), q("fileName")).text = lay.image
    page = ET.SubElement(ET.SubElement(root, q("Layout")), q("Page"),
                         {"ID": "page1", "PHYSICAL_IMG_NR": "1", "WIDTH": str(lay.width), "HEIGHT": str(lay.height)})
    block = ET.SubElement(ET.SubElement(page, q("PrintSpace")), q("TextBlock"), {"ID": "block1"})
    for k, line in enumerate(lay.lines):
        pts = (line.polygon or []) + (line.baseline or [])
        if not pts:
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        attrs = {"ID": line.id, "HPOS": str(round(min(xs))), "VPOS": str(round(min(ys))),
                 "WIDTH": str(round(max(xs) - min(xs))), "HEIGHT": str(round(max(ys) - min(ys)))}
        if line.baseline:
            attrs["BASELINE"] = _pts(line.baseline)
        el = ET.SubElement(block, q("TextLine"), attrs)
        if line.polygon:
            ET.SubElement(ET.SubElement(el, q("Shape")), q("Polygon"), {"POINTS": _pts(line.polygon)})
        for i, word in enumerate(line.text.split() or [""]):
            if i:
                ET.SubElement(el, q("SP"))
            ET.SubElement(el, q("String"), {"ID": f"{line.id}_w{i + 1}", "CONTENT": word})
    ET.indent(root)
    return ET.ElementTree(root)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for p in args.pages:
        if (args.out / p.name).resolve() == p.resolve():
            sys.exit(f"{p}: --out would overwrite the input")
        to_alto(p).write(args.out / p.name, encoding="utf-8", xml_declaration=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
