"""Prepare a folder of line images with ground-truth sidecars (kraken / Calamari / ocropus).

Layout::

    corpus/                      or corpus/lines/ (both are searched)
        0001.png  0001.gt.txt    one image per text line, any of .png .jpg .jpeg .tif .tiff .bmp
        0002.jpg  0002.gt.txt    (extension case-insensitive); the sidecar holds one UTF-8 line
    train.lst valid.lst test.lst one line id per line, in corpus/ or its parent directory

The utterance id is the image name without its extension (and without an ocropus ``.bin`` /
``.nrm`` infix: ``0001.bin.png`` pairs with ``0001.gt.txt``).  The transcript is the sidecar with
leading/trailing whitespace removed and internal whitespace runs collapsed to one space.

A split list has one entry per line; blank lines and ``#`` comments are ignored.  An entry is an
id, or a file name or path (``lines/0001.png``, ``0001.gt.txt``) whose stem is taken.
``dev.lst`` is accepted in place of ``valid.lst``.

Bad data -- an image without a sidecar, an empty sidecar, a list entry with no image, a sidecar
with no image -- is reported on stderr (naming the file) and skipped.  A count summary ends the run.

Usage::

    python -m data_prep.lines --corpus DIR --out DIR [--train LST --valid LST --test LST]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recog.manifest import Utterance, read_lines

from .common import IMAGE_EXTS, Reporter, normalize_text, write_all

PROG = "data_prep.lines"
GT_SUFFIX = ".gt.txt"
_OCROPUS_INFIXES = (".bin", ".nrm")
DEFAULT_LISTS = {"train": ("train.lst",), "valid": ("valid.lst", "dev.lst"), "test": ("test.lst",)}


def _basename(entry: str) -> str:
    return entry.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _is_image(name: str) -> bool:
    return any(name.lower().endswith(e) for e in IMAGE_EXTS)


def line_id(name: str) -> str:
    """The line id of an image name, sidecar name, path or bare id."""
    name = _basename(name)
    low = name.lower()
    if low.endswith(GT_SUFFIX):
        name = name[: -len(GT_SUFFIX)]
    else:
        for ext in IMAGE_EXTS:
            if low.endswith(ext):
                name = name[: -len(ext)]
                break
    for infix in _OCROPUS_INFIXES:
        if name.endswith(infix) and len(name) > len(infix):
            name = name[: -len(infix)]
            break
    return name


def read_list(path: Path) -> list[str]:
    """Ids of a split list (blank lines and ``#`` comments skipped), in file order."""
    ids = []
    for line in read_lines(path):
        entry = line.strip()
        if entry and not entry.startswith("#"):
            ids.append(line_id(entry))
    return ids


def find_lists(corpus: Path) -> dict[str, Path]:
    """Default split lists: train.lst, valid.lst (or dev.lst), test.lst in corpus/ or corpus/.."""
    corpus = Path(corpus)
    found: dict[str, Path] = {}
    for split, names in DEFAULT_LISTS.items():
        for d in (corpus, corpus.absolute().parent):
            hit = next((d / n for n in names if (d / n).is_file()), None)
            if hit is not None:
                found[split] = hit
                break
    return found


def _gt_for(image: Path, uid: str) -> Path | None:
    for cand in (image.with_name(uid + GT_SUFFIX),
                 image.with_name(image.name[: -len(image.suffix)] + GT_SUFFIX)):
        if cand.is_file():
            return cand
    return None


def scan_images(corpus: Path, rep: Reporter) -> tuple[dict[str, Path], dict[str, Path]]:
    """Images found in corpus/ and corpus/lines/ (id -> path), and sidecars without an image."""
    images: dict[str, Path] = {}
    sidecars: dict[str, Path] = {}
    for d in (corpus, corpus / "lines"):
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if not p.is_file():
                continue
            if p.name.lower().endswith(GT_SUFFIX):
                sidecars.setdefault(line_id(p.name), p)
            elif _is_image(p.name):
                uid = line_id(p.name)
                if uid in images:
                    rep.warn("duplicate image", f"{p}: id {uid!r} already used by {images[uid]}; ignored")
                    continue
                images[uid] = p
    orphans = {uid: gt for uid, gt in sidecars.items() if uid not in images}
    return images, orphans


def read_gt(path: Path) -> str:
    with open(path, encoding="utf-8-sig", errors="strict") as f:
        return normalize_text(f.read())


def prepare_lines(corpus: Path, out: Path, splits: dict[str, Path] | None = None,
                  ) -> dict[str, list[Utterance]]:
    """Prepare ``corpus`` into ``out``; returns the utterances of each split.

    ``splits`` maps a split name to its list file; by default ``train.lst``, ``valid.lst`` (or
    ``dev.lst``) and ``test.lst`` are looked for in ``corpus`` and its parent.
    Raises FileNotFoundError when the corpus or a list is missing (a setup error, not bad data).
    """
    corpus, out = Path(corpus), Path(out)
    rep = Reporter(PROG)
    if not corpus.is_dir():
        raise FileNotFoundError(f"{corpus}: corpus directory not found")
    if splits is None:
        splits = find_lists(corpus)
        if not splits:
            raise FileNotFoundError(
                f"{corpus}: no split lists given and no train.lst/valid.lst/dev.lst/test.lst "
                f"in {corpus} or {corpus.absolute().parent}")
        for name, p in splits.items():
            rep.info(f"{name} list: {p}")
    for name, p in splits.items():
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: {name} list not found")

    images, orphans = scan_images(corpus, rep)
    if not images:
        rep.warn("no images", f"no line images ({' '.join(IMAGE_EXTS)}) in {corpus} or {corpus / 'lines'}")
    for uid, gt in orphans.items():
        rep.warn("gt without image", f"{gt}: ground truth without a line image; skipped")

    result: dict[str, list[Utterance]] = {}
    owner: dict[str, str] = {}
    text_cache: dict[str, str | None] = {}
    for name, lst in splits.items():
        lst = Path(lst)
        utts: list[Utterance] = []
        seen: set[str] = set()
        for uid in read_list(lst):
            if uid in seen:
                rep.warn("duplicate entry", f"{lst}: {uid!r} listed twice; kept once")
                continue
            seen.add(uid)
            if not uid or any(c.isspace() for c in uid):
                rep.warn("bad id", f"{lst}: entry {uid!r} is not a usable id (empty or whitespace); skipped")
                continue
            image = images.get(uid)
            if image is None:
                if uid in orphans:
                    rep.warn("gt without image", f"{lst}: {uid!r} has {orphans[uid]} but no line image; skipped")
                else:
                    rep.warn("missing image", f"{lst}: no line image for {uid!r} in {corpus}; skipped")
                continue
            if uid not in text_cache:
                gt = _gt_for(image, uid)
                if gt is None:
                    rep.warn("no gt", f"{image}: no {uid}{GT_SUFFIX} ground truth; skipped")
                    text_cache[uid] = None
                else:
                    try:
                        text = read_gt(gt)
                    except (OSError, UnicodeDecodeError) as e:
                        rep.warn("unreadable gt", f"{gt}: cannot read ({e}); skipped")
                        text = None
                    else:
                        if not text:
                            rep.warn("empty gt", f"{gt}: empty ground truth; skipped")
                            text = None
                    text_cache[uid] = text
            text = text_cache[uid]
            if text is None:
                continue
            if uid in owner:
                rep.warn("overlap", f"{lst}: {uid!r} is also in the {owner[uid]} split")
            else:
                owner[uid] = name
            utts.append(Utterance(id=uid, path=str(image.absolute()), text=text, speaker=None))
        result[name] = utts

    unlisted = len(set(images) - set(owner))
    if unlisted:
        rep.info(f"{unlisted} image(s) are in no split list")
    write_all(out, result, rep)
    rep.summary(result, out)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep lines", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="folder of line images + .gt.txt (or its parent with lines/)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (one subfolder per split)")
    ap.add_argument("--train", type=Path, help="train list (default: train.lst in corpus or its parent)")
    ap.add_argument("--valid", type=Path, help="validation list (default: valid.lst or dev.lst)")
    ap.add_argument("--test", type=Path, help="test list (default: test.lst)")
    args = ap.parse_args(argv)
    given = {k: v for k, v in (("train", args.train), ("valid", args.valid), ("test", args.test)) if v}
    try:
        # a list given replaces its own default only; the other splits keep theirs
        prepare_lines(args.corpus, args.out, {**find_lists(args.corpus), **given} if given else None)
    except FileNotFoundError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
