"""Symbol tables: the CTC output alphabet.

Index 0 is always the CTC blank ``<blk>``.  Two units are supported:

* ``char``: every character of a transcript is a symbol; the space between words is the visible
  symbol ``<space>`` so that word boundaries are learned and can be decoded (handwriting).
* ``phone`` (or ``word``): transcripts are whitespace-separated tokens (speech phones).

``tokens.txt`` is written Kaldi-style, ``<symbol> <index>`` per line.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Iterable

BLANK = "<blk>"
SPACE = "<space>"
UNITS = ("char", "phone", "word")


class SymbolTable:
    def __init__(self, symbols: list[str], unit: str = "char"):
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}; expected one of {UNITS}")
        if not symbols or symbols[0] != BLANK:
            symbols = [BLANK] + [s for s in symbols if s != BLANK]
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbol table has duplicate symbols")
        self.symbols = list(symbols)
        self.unit = unit
        self.index = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other) -> bool:
        return isinstance(other, SymbolTable) and self.symbols == other.symbols and self.unit == other.unit

    @property
    def blank(self) -> int:
        return 0

    def split(self, text: str) -> list[str]:
        """Split a transcript into symbol strings (not yet indices)."""
        if self.unit == "char":
            text = " ".join(text.split())
            return [SPACE if c == " " else c for c in text]
        return text.split()

    def encode(self, text: str) -> list[int]:
        """Transcript -> indices. Raises ValueError naming the symbols the table lacks."""
        pieces = self.split(text)
        missing = sorted({p for p in pieces if p not in self.index})
        if missing:
            raise ValueError(f"symbols not in the table: {' '.join(missing)}")
        return [self.index[p] for p in pieces]

    def decode(self, ids: Iterable[int]) -> str:
        """Indices (blanks already removed or not) -> transcript."""
        syms = [self.symbols[i] for i in ids if i != 0]
        if self.unit == "char":
            return "".join(" " if s == SPACE else s for s in syms).strip()
        return " ".join(syms)

    @classmethod
    def from_texts(cls, texts: Iterable[str], unit: str = "char", min_count: int = 1) -> "SymbolTable":
        probe = cls([BLANK], unit)
        counts: Counter = Counter()
        for t in texts:
            counts.update(probe.split(t))
        syms = sorted(s for s, c in counts.items() if c >= min_count)
        return cls([BLANK] + syms, unit)

    def write(self, path: str | os.PathLike) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"# unit={self.unit}\n")
            for i, s in enumerate(self.symbols):
                f.write(f"{s} {i}\n")

    @classmethod
    def read(cls, path: str | os.PathLike) -> "SymbolTable":
        unit = "char"
        syms: list[tuple[int, str]] = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if line.startswith("# unit="):
                    unit = line.split("=", 1)[1].strip()
                    continue
                if not line.strip():
                    continue
                parts = line.rsplit(" ", 1)
                if len(parts) != 2 or not parts[1].isdigit():
                    raise ValueError(f"{path}:{lineno}: expected '<symbol> <index>'")
                syms.append((int(parts[1]), parts[0]))
        syms.sort()
        if [i for i, _ in syms] != list(range(len(syms))):
            raise ValueError(f"{path}: indices must be 0..N-1 without gaps")
        return cls([s for _, s in syms], unit)
