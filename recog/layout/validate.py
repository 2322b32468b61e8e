"""Check PAGE XML and ALTO files against the official schemas shipped in ``recog/resources/xsd``.

    python -m recog.layout.validate [--transkribus] FILE [FILE ...]

A file is checked against the schema of its root namespace (PAGE 2013-07-15 and 2019-07-15;
ALTO v2, v3, v4 — ALTO 2.x/3.x/4.x files against 2.1/3.1/4.4), offline: the ALTO schemas'
XLink import is resolved to the local copy.  Transkribus writes two things the 2013 schema does
not allow (``TranskribusMetadata``, an empty ``Relations``); ``--transkribus`` ignores exactly
those, so that a Transkribus export and what recog wrote into it can be checked.  Needs lxml
(``pip install lxml``; it is in the ``dev`` extra).  Exit status 1 when a file does not validate.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

XSD = Path(__file__).resolve().parent.parent / "resources" / "xsd"
SCHEMA = {
    "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15": "pagecontent-2013-07-15.xsd",
    "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15": "pagecontent-2019-07-15.xsd",
    "http://www.loc.gov/standards/alto/ns-v2#": "alto-2-1.xsd",
    "http://www.loc.gov/standards/alto/ns-v3#": "alto-3-1.xsd",
    "http://www.loc.gov/standards/alto/ns-v4#": "alto-4-4.xsd",
}


def _etree():
    try:
        from lxml import etree
    except ImportError:
        raise RuntimeError("schema validation needs lxml: pip install lxml") from None
    return etree


@functools.cache
def schema(namespace: str):
    """The compiled XSD of a PAGE or ALTO namespace; ValueError for another namespace."""
    if namespace not in SCHEMA:
        raise ValueError(f"no schema shipped for namespace {namespace!r} (known: {', '.join(SCHEMA)})")
    etree = _etree()

    class LocalXLink(etree.Resolver):
        def resolve(self, url, pubid, context):
            return self.resolve_filename(str(XSD / "xlink.xsd"), context) if url.endswith("xlink.xsd") else None

    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(LocalXLink())
    return etree.XMLSchema(etree.parse(str(XSD / SCHEMA[namespace]), parser))


def _strip_transkribus(doc) -> None:
    for el in list(doc.iter("{*}TranskribusMetadata", "{*}Relations")):
        if el.tag.endswith("TranskribusMetadata") or not len(el):
            el.getparent().remove(el)


def errors(path: str | Path, transkribus: bool = False) -> str:
    """'' when the file validates against the schema of its namespace, else the errors, each
    naming the file and line.  ValueError naming the file when it does not parse."""
    etree = _etree()
    try:
        doc = etree.parse(str(path), etree.XMLParser(no_network=True))
    except (OSError, etree.XMLSyntaxError) as e:
        raise ValueError(f"{path}: not readable XML ({e})") from None
    ns = etree.QName(doc.getroot()).namespace or ""
    try:
        xsd = schema(ns)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    if transkribus:
        _strip_transkribus(doc)
    if xsd.validate(doc):
        return ""
    return "\n".join(f"{path}:{e.line}: {e.message}" for e in xsd.error_log)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m recog.layout.validate", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--transkribus", action="store_true",
                    help="ignore TranskribusMetadata and empty Relations (Transkribus' additions to PAGE 2013)")
    args = ap.parse_args(argv)
    bad = 0
    for f in args.files:
        try:
            problems = errors(f, args.transkribus)
        except (ValueError, RuntimeError) as e:
            problems = str(e)
        print(problems or f"{f}: valid", file=sys.stderr if problems else sys.stdout)
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
