"""Read Praat TextGrid files (the text formats: long "ooTextFile" and short).

Both text formats are the same sequence of values -- quoted strings, numbers and the
``<exists>`` / ``<absent>`` flag -- the long one with ``key = `` labels and ``item [1]:`` headers
around them.  The reader tokenises either into that value sequence (labels, bracketed indices and
``!`` comments are skipped, never inside a string) and then reads::

    "ooTextFile" "TextGrid" xmin xmax <exists> n_tiers
    per tier: "IntervalTier" name xmin xmax n  then n x (xmin xmax "text")
          or: "TextTier"     name xmin xmax n  then n x (time "mark")

Encodings: UTF-8 (with or without BOM) and UTF-16 (with BOM, as Praat writes files that hold
non-ASCII text; BOM-less UTF-16 is recognised from its zero bytes).  Inside a string a doubled
quote ``""`` stands for one ``"``.  Praat's binary format is not supported.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path


class TextGridError(ValueError):
    """A TextGrid that cannot be read; the message names the file."""


@dataclass
class Interval:
    xmin: float
    xmax: float
    text: str


@dataclass
class Point:
    time: float
    mark: str


@dataclass
class Tier:
    name: str
    kind: str  # "IntervalTier" or "TextTier"
    xmin: float
    xmax: float
    intervals: list[Interval] = field(default_factory=list)  # IntervalTier
    points: list[Point] = field(default_factory=list)  # TextTier

    @property
    def is_interval(self) -> bool:
        return self.kind == "IntervalTier"


@dataclass
class TextGrid:
    xmin: float
    xmax: float
    tiers: list[Tier]

    def tier(self, name: str) -> Tier:
        """The tier called ``name`` (exact match first, then case-insensitive); KeyError if none."""
        for t in self.tiers:
            if t.name == name:
                return t
        for t in self.tiers:
            if t.name.lower() == name.lower():
                return t
        raise KeyError(f"no tier {name!r} (tiers: {', '.join(repr(t.name) for t in self.tiers)})")

    def get(self, name: str) -> Tier | None:
        try:
            return self.tier(name)
        except KeyError:
            return None

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tiers]


_TOKEN = re.compile(
    r'"(?P<str>(?:[^"]|"")*)"'  # a string; "" inside is one quote
    r"|(?P<skip>\[[^\]\n]*\]|![^\n]*)"  # item [1]: / intervals [2]: indices, ! comments
    r"|(?P<flag><exists>|<absent>)"
    r"|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*\??)"  # labels: xmin, intervals, tiers?, ...
    r"|(?P<other>\S)",
)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    head = data[:200]
    if head.count(b"\x00") > len(head) // 4:  # UTF-16 without a BOM
        return data.decode("utf-16-be" if head[:1] == b"\x00" else "utf-16-le")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _tokens(text: str) -> list[str | float]:
    """Values in file order: strings as str, numbers as float, flags as '<exists>'/'<absent>'."""
    out: list = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "str":
            out.append(_Str(m.group("str").replace('""', '"')))
        elif kind == "num":
            out.append(float(m.group("num")))
        elif kind == "flag":
            out.append(_Flag(m.group("flag")))
    return out


class _Str(str):
    pass


class _Flag(str):
    pass


class _Reader:
    def __init__(self, toks: list, where: str):
        self.toks, self.i, self.where = toks, 0, where

    def _next(self):
        if self.i >= len(self.toks):
            raise TextGridError(f"{self.where}: file ends early (after {self.i} values)")
        t = self.toks[self.i]
        self.i += 1
        return t

    def string(self, what: str) -> str:
        t = self._next()
        if not isinstance(t, _Str):
            raise TextGridError(f"{self.where}: expected a string for {what}, got {t!r} (value {self.i})")
        return str(t)

    def number(self, what: str) -> float:
        t = self._next()
        if not isinstance(t, float):
            raise TextGridError(f"{self.where}: expected a number for {what}, got {t!r} (value {self.i})")
        return t

    def count(self, what: str) -> int:
        n = self.number(what)
        if n < 0 or n != int(n):
            raise TextGridError(f"{self.where}: bad count {n!r} for {what}")
        return int(n)

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None


def parse_textgrid(text: str, where: str = "<textgrid>") -> TextGrid:
    """Parse the text of a TextGrid (long or short format)."""
    r = _Reader(_tokens(text), where)
    ftype = r.string("the file type")
    if not ftype.startswith("ooTextFile"):
        raise TextGridError(f"{where}: not a Praat text file (file type {ftype!r})")
    oclass = r.string("the object class")
    if not oclass.startswith("TextGrid"):
        raise TextGridError(f"{where}: object class is {oclass!r}, not 'TextGrid'")
    xmin, xmax = r.number("xmin"), r.number("xmax")
    n_tiers = 0
    nxt = r.peek()
    if isinstance(nxt, _Flag):
        r._next()
        n_tiers = r.count("the number of tiers") if nxt == "<exists>" else 0
    elif nxt is not None:  # some writers leave out the flag
        n_tiers = r.count("the number of tiers")
    tiers = []
    for k in range(n_tiers):
        kind = r.string(f"the class of tier {k + 1}")
        name = r.string(f"the name of tier {k + 1}")
        t = Tier(name=name, kind=kind, xmin=r.number("tier xmin"), xmax=r.number("tier xmax"))
        n = r.count(f"the size of tier {name!r}")
        if kind == "IntervalTier":
            for j in range(n):
                a = r.number(f"interval {j + 1} xmin of tier {name!r}")
                b = r.number(f"interval {j + 1} xmax of tier {name!r}")
                t.intervals.append(Interval(a, b, r.string(f"interval {j + 1} text of tier {name!r}")))
        elif kind == "TextTier":
            for j in range(n):
                a = r.number(f"point {j + 1} time of tier {name!r}")
                t.points.append(Point(a, r.string(f"point {j + 1} mark of tier {name!r}")))
        else:
            raise TextGridError(f"{where}: tier {name!r} has unknown class {kind!r}")
        tiers.append(t)
    return TextGrid(xmin=xmin, xmax=xmax, tiers=tiers)


def read_textgrid(path: str | os.PathLike) -> TextGrid:
    """Read a TextGrid file. Raises TextGridError (naming the file) for a file it cannot use,
    OSError when the file cannot be opened."""
    path = Path(path)
    data = path.read_bytes()
    if data.startswith(b"ooBinaryFile"):
        raise TextGridError(f"{path}: Praat binary TextGrids are not supported; save as text")
    try:
        text = _decode(data)
    except UnicodeDecodeError as e:
        raise TextGridError(f"{path}: cannot decode ({e})") from None
    return parse_textgrid(text, where=str(path))
