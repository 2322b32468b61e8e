"""Pronunciations: word -> ARPAbet lexicons and the ARPAbet -> TIMIT-39 phone map.

Every English corpus recog reads (LJSpeech's MFA phones, Kaldi data dirs with a CMU-style lexicon)
is folded through one map (``resources/arpabet_to_timit39.map``: ``SOURCE<TAB>TARGET`` lines, ``#``
comments, an empty SOURCE for the empty interval, TARGET ``<del>`` to drop a segment), so their
labels share one phone table, and ``recog align`` uses the same lexicon to put words on a TextGrid.
"""

from __future__ import annotations

import re
from pathlib import Path

from .manifest import read_lines
from .phones import data_path

DEFAULT_MAP = "arpabet_to_timit39.map"
DELETE = "<del>"
SILENCE = "sil"
_STRESS = re.compile(r"[012]$")


def read_arpabet_map(path: str | Path | None = None) -> dict[str, str]:
    """``SOURCE<TAB>TARGET`` lines -> dict; ``#`` lines skipped; an empty SOURCE is the empty
    interval text.  Raises ValueError naming file and line for a malformed line."""
    path = Path(path) if path is not None else data_path(DEFAULT_MAP)
    out: dict[str, str] = {}
    with open(path, encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() and "\t" not in line:
                continue
            if line.startswith("#"):
                continue
            if "\t" in line:
                src, _, tgt = line.partition("\t")
            else:
                parts = line.split()
                if len(parts) != 2:
                    raise ValueError(f"{path}:{lineno}: expected 'SOURCE<TAB>TARGET'")
                src, tgt = parts
            src, tgt = src.strip(), tgt.strip()
            if not tgt:
                raise ValueError(f"{path}:{lineno}: no target for {src!r}")
            out[src] = tgt
    return out


def map_phone(phone: str, table: dict[str, str]) -> str | None:
    """The mapped phone, ``<del>``, or None when the map has neither it nor its stressless form."""
    p = phone.strip()
    if p in table:
        return table[p]
    bare = _STRESS.sub("", p)
    if bare in table:
        return table[bare]
    for cand in (p.upper(), bare.upper(), p.lower()):
        if cand in table:
            return table[cand]
    return None


def read_lexicon(path: Path) -> dict[str, list[str]]:
    """WORD -> first pronunciation (upper-case keys).  Raises ValueError naming file and line."""
    lex: dict[str, list[str]] = {}
    for lineno, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts or line.startswith(";;;"):
            continue
        if len(parts) < 2:
            raise ValueError(f"{path}:{lineno}: a lexicon line needs a word and at least one phone")
        lex.setdefault(parts[0].upper(), parts[1:])
    if not lex:
        raise ValueError(f"{path}: empty lexicon")
    return lex


def words_to_phones(words: list[str], lex: dict[str, list[str]], table: dict[str, str],
                    prons: dict[int, list[str]] | None = None) -> tuple[list[str], str]:
    """Folded phones of ``words`` (word k pronounced ``prons[k]`` when given, else as the
    lexicon's first entry) and "" or the reason they cannot be labelled."""
    out = []
    for k, w in enumerate(words):
        pron = prons[k] if prons and k in prons else lex.get(w.upper())
        if pron is None:
            return [], f"word {w!r} not in the lexicon"
        for p in pron:
            q = map_phone(p.split("_")[0], table)  # text-phone style position tags (AH0_B) dropped
            if q is None:
                return [], f"phone {p!r} (word {w!r}) not in the phone map"
            if q not in (DELETE, SILENCE):
                out.append(q)
    return out, ""


def phone_inventory(table: dict[str, str]) -> list[str]:
    """The folded phones a map can produce (its targets, less silence and deletion), sorted."""
    return sorted({t for t in table.values() if t not in (DELETE, SILENCE)})
