"""Helpers shared by the corpus preparers: writing splits and the symbol table, warnings."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable

from recog.manifest import Utterance, write_manifest, write_text
from recog.tokens import SymbolTable

#: extensions recognised as line images (compared case-insensitively)
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _abs(p: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(p))


def write_split(out_dir: Path, name: str, utts: list[Utterance]) -> None:
    """Write ``out_dir/name/manifest.jsonl`` (absolute paths, order kept) and
    ``out_dir/name/text`` (Kaldi text, sorted by id)."""
    split_dir = Path(out_dir) / name
    split_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for u in utts:
        rows.append(
            Utterance(
                id=u.id,
                path=_abs(u.path),
                text=u.text,
                speaker=u.speaker,
                feats=_abs(u.feats) if u.feats else None,
                num_frames=u.num_frames,
                extra=dict(u.extra),
            )
        )
    write_manifest(split_dir / "manifest.jsonl", rows)
    write_text(split_dir / "text", sorted((u.id, u.text or "") for u in rows))


def write_tokens(out_dir: Path, train_utts: Iterable[Utterance], unit: str = "char") -> SymbolTable:
    """Build the symbol table from the training transcripts and write ``out_dir/tokens.txt``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = SymbolTable.from_texts((u.text or "" for u in train_utts), unit=unit)
    table.write(out_dir / "tokens.txt")
    return table


def normalize_text(text: str) -> str:
    """Strip and collapse every run of whitespace (newlines included) to one space."""
    return " ".join(text.split())


class Reporter:
    """Warnings on stderr, counted by kind; at most ``limit`` printed per kind, then a count."""

    def __init__(self, prog: str, limit: int = 20):
        self.prog = prog
        self.limit = limit
        self.counts: Counter = Counter()

    def warn(self, kind: str, msg: str) -> None:
        self.counts[kind] += 1
        n = self.counts[kind]
        if n <= self.limit:
            print(f"{self.prog}: warning: {msg}", file=sys.stderr)
        elif n == self.limit + 1:
            print(f"{self.prog}: warning: more '{kind}' problems; only counting them from now on",
                  file=sys.stderr)

    def info(self, msg: str) -> None:
        print(f"{self.prog}: {msg}", file=sys.stderr)

    def summary(self, splits: dict[str, list[Utterance]], out: Path) -> None:
        kept = ", ".join(f"{name} {len(u)}" for name, u in splits.items()) or "nothing"
        self.info(f"wrote {out}: {kept} utterances")
        if self.counts:
            detail = ", ".join(f"{k}: {n}" for k, n in sorted(self.counts.items()))
            self.info(f"skipped or flagged {sum(self.counts.values())} ({detail})")
        else:
            self.info("no problems found")


def write_all(out: Path, splits: dict[str, list[Utterance]], rep: Reporter,
              train_name: str = "train", unit: str = "char") -> None:
    """Write every split and, from the ``train_name`` split, ``tokens.txt``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, utts in splits.items():
        write_split(out, name, utts)
    train = splits.get(train_name)
    if train:
        write_tokens(out, train, unit=unit)
    else:
        rep.warn("no train split", f"no '{train_name}' utterances: {out / 'tokens.txt'} not written")


def named_path(s: str) -> tuple[str, Path]:
    """``NAME=PATH`` (an argparse type): the split or corpus name and its path."""
    import argparse

    name, sep, path = s.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {s!r}")
    return name, Path(path)


def run_reporting_errors(prog: str, work: Callable[[], object]) -> int:
    """Run a preparer's work: 0, or 2 after one ``prog: error: ...`` line for the errors a preparer
    raises (a missing corpus, file or folder; a malformed file)."""
    try:
        work()
    except (FileNotFoundError, ValueError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    return 0
