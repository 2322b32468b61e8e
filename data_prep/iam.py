"""Prepare the IAM Handwriting Database (line level).

Layout (as distributed)::

    corpus/ascii/lines.txt                  line index and transcriptions
    corpus/ascii/forms.txt                  optional: form -> writer id
    corpus/lines/a01/a01-000u/a01-000u-00.png

``lines.txt`` starts with ``#`` comment lines; each data line is::

    a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from

line id, segmentation result (``ok`` or ``err``), graylevel used to binarize, number of
components, bounding box x y w h, then the transcription.  Everything after the 8th field is the
transcription; ``|`` separates words and becomes a single space.  IAM writes the double quote as
the entity ``&quot;``; it (and ``&amp;``, ``&apos;``, ``&lt;``, ``&gt;`` should they occur) is
converted back to the character.  Note that IAM tokenises punctuation as separate words, so the
transcript reads ``Gaitskell from .`` with a space before the full stop; it is kept that way.

``err`` lines (the automatic line segmentation has an error, typically a few characters of a
neighbouring line) are kept by default, as in most published setups (e.g. the Aachen/RWTH split
lists include them); ``include_err=False`` / ``--exclude-err`` drops them.

The speaker of a line is its writer (second field of ``forms.txt``:
``a01-000u 000 2 prt 7 5 52 36``) when ``forms.txt`` is present, else the form id (``a01-000u``).

Split lists hold one entry per line (blank lines and ``#`` comments ignored): a line id
(``a01-000u-00``, as in the Aachen "Large Writer Independent Text Line Recognition Task" lists
``trainset.txt``, ``validationset1.txt``, ``validationset2.txt``, ``testset.txt``) or a form id
(``a01-000u``), which selects all of that form's lines.

Missing images and malformed ``lines.txt`` lines are reported on stderr and skipped.

Usage::

    python -m data_prep.iam --corpus DIR --out DIR --train LST --valid LST --test LST \\
        [--split valid2=validationset2.txt] [--exclude-err]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from recog.manifest import Utterance

from .common import Reporter, named_path, normalize_text, write_all

PROG = "data_prep.iam"
ENTITIES = {"&quot;": '"', "&apos;": "'", "&lt;": "<", "&gt;": ">", "&amp;": "&"}  # &amp; last


@dataclass
class IamLine:
    id: str
    form: str
    status: str  # "ok" or "err"
    text: str


def form_of(line_id: str) -> str:
    """``a01-000u-00`` -> ``a01-000u``."""
    return "-".join(line_id.split("-")[:2])


def decode_transcription(raw: str) -> str:
    """IAM transcription field -> text: ``|`` -> space, entities decoded, whitespace collapsed."""
    text = raw.replace("|", " ")
    for ent, ch in ENTITIES.items():
        text = text.replace(ent, ch)
    return normalize_text(text)


def _find(corpus: Path, *cands: str) -> Path | None:
    return next((corpus / c for c in cands if (corpus / c).is_file()), None)


def read_lines_txt(path: Path, rep: Reporter) -> dict[str, IamLine]:
    """Parse ``lines.txt``; malformed lines are warned about (file:line) and skipped."""
    out: dict[str, IamLine] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split(maxsplit=8)
            problem = None
            if len(parts) < 9:
                problem = f"expected 9 fields, found {len(parts)}"
            elif parts[1] not in ("ok", "err"):
                problem = f"segmentation result {parts[1]!r} is neither 'ok' nor 'err'"
            elif not all(p.lstrip("-").isdigit() for p in parts[2:8]):
                problem = "fields 3-8 must be integers"
            elif parts[0].count("-") < 2:
                problem = f"line id {parts[0]!r} is not <part>-<part>-<nn>"
            if problem is None:
                text = decode_transcription(parts[8])
                if not text:
                    problem = "empty transcription"
            if problem is None and parts[0] in out:
                problem = f"duplicate line id {parts[0]!r}"
            if problem:
                rep.warn("malformed lines.txt", f"{path}:{lineno}: {problem}; skipped")
                continue
            out[parts[0]] = IamLine(parts[0], form_of(parts[0]), parts[1], text)
    return out


def read_forms_txt(path: Path, rep: Reporter) -> dict[str, str]:
    """``forms.txt`` -> {form id: writer id}."""
    writers: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) < 2:
                rep.warn("malformed forms.txt", f"{path}:{lineno}: expected '<form> <writer> ...'; skipped")
                continue
            writers[parts[0]] = parts[1]
    return writers


def read_list(path: Path) -> list[str]:
    """Entries of a split list (line or form ids; a path or ``.png`` name gives its stem)."""
    ids = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            entry = entry.replace("\\", "/").rsplit("/", 1)[-1]
            for ext in (".png", ".tif", ".jpg"):
                if entry.lower().endswith(ext):
                    entry = entry[: -len(ext)]
            ids.append(entry)
    return ids


def image_path(corpus: Path, line_id: str) -> Path:
    """``lines/a01/a01-000u/a01-000u-00.png`` (a flat ``lines/a01-000u-00.png`` also works)."""
    form = form_of(line_id)
    p = corpus / "lines" / line_id.split("-")[0] / form / f"{line_id}.png"
    if not p.is_file():
        flat = corpus / "lines" / f"{line_id}.png"
        if flat.is_file():
            return flat
    return p


def prepare_iam(corpus: Path, out: Path, splits: dict[str, Path], include_err: bool = True,
                ) -> dict[str, list[Utterance]]:
    """Prepare IAM lines into ``out``; ``splits`` maps split names to list files.

    Returns the utterances of each split.  Raises FileNotFoundError when ``lines.txt`` or a
    split list is missing (a setup error, not bad data).
    """
    corpus, out = Path(corpus), Path(out)
    rep = Reporter(PROG)
    if not splits:
        raise ValueError("no split lists given")
    lines_txt = _find(corpus, "ascii/lines.txt", "lines.txt")
    if lines_txt is None:
        raise FileNotFoundError(f"{corpus}: no ascii/lines.txt")
    for name, p in splits.items():
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: {name} list not found")

    lines = read_lines_txt(lines_txt, rep)
    by_form: dict[str, list[str]] = {}
    for lid, rec in lines.items():
        by_form.setdefault(rec.form, []).append(lid)
    forms_txt = _find(corpus, "ascii/forms.txt", "forms.txt")
    writers = read_forms_txt(forms_txt, rep) if forms_txt else {}
    if forms_txt is None:
        rep.info("no ascii/forms.txt: speaker = form id")

    result: dict[str, list[Utterance]] = {}
    owner: dict[str, str] = {}
    image_ok: dict[str, bool] = {}
    excluded_err = 0
    for name, lst in splits.items():
        lst = Path(lst)
        utts: list[Utterance] = []
        seen: set[str] = set()
        for entry in read_list(lst):
            if entry in lines:
                selected = [entry]
            elif entry in by_form:
                selected = by_form[entry]
            else:
                rep.warn("unknown list entry", f"{lst}: {entry!r} is neither a line nor a form in {lines_txt}; skipped")
                continue
            for lid in selected:
                if lid in seen:
                    rep.warn("duplicate entry", f"{lst}: line {lid!r} selected twice; kept once")
                    continue
                seen.add(lid)
                rec = lines[lid]
                if rec.status == "err" and not include_err:
                    excluded_err += 1
                    continue
                img = image_path(corpus, lid)
                if lid not in image_ok:
                    image_ok[lid] = img.is_file()
                    if not image_ok[lid]:
                        rep.warn("missing image", f"{img}: image of line {lid!r} not found; skipped")
                if not image_ok[lid]:
                    continue
                if lid in owner:
                    rep.warn("overlap", f"{lst}: line {lid!r} is also in the {owner[lid]} split")
                else:
                    owner[lid] = name
                speaker = writers.get(rec.form)
                if speaker is None:
                    if writers:
                        rep.warn("no writer", f"{forms_txt}: form {rec.form!r} not listed; speaker = form id")
                    speaker = rec.form
                utts.append(Utterance(id=lid, path=str(img.absolute()), text=rec.text, speaker=speaker))
        result[name] = utts

    if excluded_err:
        rep.info(f"excluded {excluded_err} 'err' line(s) (--exclude-err)")
    write_all(out, result, rep)
    rep.summary(result, out)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep iam", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="IAM root (holds ascii/ and lines/)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (one subfolder per split)")
    ap.add_argument("--train", type=Path, help="train list (line or form ids), e.g. trainset.txt")
    ap.add_argument("--valid", type=Path, help="validation list, e.g. validationset1.txt")
    ap.add_argument("--test", type=Path, help="test list, e.g. testset.txt")
    ap.add_argument("--split", type=named_path, action="append", default=[], metavar="NAME=LIST",
                    help="an extra split, e.g. valid2=validationset2.txt (repeatable)")
    ap.add_argument("--exclude-err", action="store_true",
                    help="drop lines whose segmentation result is 'err' (kept by default)")
    args = ap.parse_args(argv)
    splits = {k: v for k, v in (("train", args.train), ("valid", args.valid), ("test", args.test)) if v}
    splits.update(dict(args.split))
    if not splits:
        ap.error("give at least one of --train, --valid, --test, --split")
    try:
        prepare_iam(args.corpus, args.out, splits, include_err=not args.exclude_err)
    except FileNotFoundError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
