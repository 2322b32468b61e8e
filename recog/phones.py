"""TIMIT phone sets and their folding 61 -> 48 -> 39 (Lee & Hon 1989, as in Kaldi's TIMIT recipe).

The map ships with the package (``recog/resources/timit_phones.60-48-39.map``, Kaldi's
``conf/phones.60-48-39.map``).  Each line is ``<61-set phone> <48-set phone> <39-set phone>``;
the glottal stop ``q`` has no targets and is *deleted* whenever a transcript is folded
(Kaldi's ``timit_norm_trans.pl`` does the same, for the 48 as well as the 39 set).

What the map implies (read it, don't guess):

* TIMIT's ``.PHN`` files use 61 symbols: the 60 mapped phones plus ``q``.
* The utterance-edge silence ``h#`` and the pause ``pau`` become ``sil`` already in the 48 set;
  the epenthetic silence ``epi`` stays ``epi`` in the 48 set and becomes ``sil`` in the 39 set.
* Closures fold to ``vcl`` (voiced: ``bcl dcl gcl``) and ``cl`` (unvoiced: ``pcl tcl kcl``) in the
  48 set, and to ``sil`` in the 39 set.  So in the 39 set ``sil`` stands for silence, pauses,
  epenthetic silence and every stop closure.
* Other merges: ``ao->aa``, ``ax ax-h->ah`` (``ax-h->ax`` in 48), ``axr->er``, ``el->l``,
  ``em->m``, ``en->n``, ``eng->ng``, ``nx->n``, ``hv->hh``, ``ix->ih``, ``ux->uw``, ``zh->sh``.

Folding maps symbol by symbol and does *not* merge the repeats it may create (``bcl b`` ->
``sil b``, but ``pau pcl`` -> ``sil sil``), exactly like Kaldi; CTC output and edit-distance
scoring are both fine with that.  Folding to 48 or 39 accepts input already in a smaller set
(``vcl``, ``cl``, ``sil`` are understood), so hypotheses from a 48-phone model fold to 39 too.

``target`` is one of ``61`` (TIMIT's own symbols, kept as they are, ``q`` included), ``60``
(``q`` deleted, nothing folded), ``48`` or ``39``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

#: folder of the data files shipped inside the package
DATA_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_MAP = "timit_phones.60-48-39.map"
TARGETS = (61, 60, 48, 39)

SILENCE = "sil"
#: stop closures of the 61 set (-> vcl/cl in 48, sil in 39)
CLOSURES = frozenset({"bcl", "dcl", "gcl", "pcl", "tcl", "kcl"})
#: non-closure silences of the 61 set: utterance edges, pause, epenthetic silence
PAUSES = frozenset({"h#", "pau", "epi"})
#: phones deleted by folding
DELETED = frozenset({"q"})


def data_path(name: str) -> Path:
    """Path of a data file shipped in ``recog/resources/`` (phone maps, TIMIT speaker lists)."""
    return DATA_DIR / name


class PhoneMapError(ValueError):
    """A phone map that cannot be read, or a phone a map does not know."""


class PhoneMap:
    """The 61 -> 48 -> 39 folding table.

    ``rows`` maps each 61-set phone to ``(phone48, phone39)``, or to ``(None, None)`` for a phone
    that folding deletes (``q``).
    """

    def __init__(self, rows: dict[str, tuple[str | None, str | None]], source: str = "<map>"):
        self.source = source
        self.rows = dict(rows)
        self._48: dict[str, str | None] = {p: t48 for p, (t48, _) in self.rows.items()}
        self._39: dict[str, str | None] = {p: t39 for p, (_, t39) in self.rows.items()}
        # 48-set symbols (vcl, cl, sil, ...) fold to themselves / to their 39 class
        for t48, t39 in self.rows.values():
            if t48 is None:
                continue
            prev = self._39.get(t48, t39)
            if t48 not in self.rows and prev != t39:
                raise PhoneMapError(f"{source}: 48-set phone {t48!r} maps to both {prev!r} and {t39!r}")
            self._48.setdefault(t48, t48)
            self._39.setdefault(t48, t39)
        for t39 in set(self._39.values()):
            if t39 is not None:
                self._39.setdefault(t39, t39)

    # -- the sets -----------------------------------------------------------------------------
    @property
    def phones61(self) -> list[str]:
        """TIMIT's symbols in map order (60 phones plus the deleted ``q``)."""
        return list(self.rows)

    @property
    def phones60(self) -> list[str]:
        return [p for p, (t48, _) in self.rows.items() if t48 is not None]

    @property
    def phones48(self) -> list[str]:
        return sorted({t for t, _ in self.rows.values() if t is not None})

    @property
    def phones39(self) -> list[str]:
        return sorted({t for _, t in self.rows.values() if t is not None})

    @property
    def silences(self) -> frozenset[str]:
        """Every symbol (61, 48 or 39 set) that folds to the 39-set silence ``sil``."""
        return frozenset(p for p, t in self._39.items() if t == SILENCE)

    # -- single phones ------------------------------------------------------------------------
    def to48(self, phone: str) -> str | None:
        """The 48-set phone of a 61-set (or 48-set) phone; None for a deleted phone (``q``)."""
        try:
            return self._48[phone]
        except KeyError:
            raise PhoneMapError(f"{self.source}: unknown phone {phone!r}") from None

    def to39(self, phone: str) -> str | None:
        """The 39-set phone of a 61-, 48- or 39-set phone; None for a deleted phone (``q``)."""
        try:
            return self._39[phone]
        except KeyError:
            raise PhoneMapError(f"{self.source}: unknown phone {phone!r}") from None

    # -- sequences ----------------------------------------------------------------------------
    def fold(self, phones: Iterable[str], target: int) -> list[str]:
        """Fold a phone sequence to the ``target`` set (61, 60, 48 or 39); deleted phones vanish.

        Raises PhoneMapError naming the phones the map does not know."""
        phones = list(phones)
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
        if target in (61, 60):
            table = {p: (p if t48 is not None or target == 61 else None)
                     for p, (t48, _) in self.rows.items()}
        else:
            table = self._48 if target == 48 else self._39
        missing = sorted({p for p in phones if p not in table})
        if missing:
            raise PhoneMapError(
                f"{self.source}: phone(s) not in the {target}-phone input set: {' '.join(missing)}")
        out = []
        for p in phones:
            t = table[p]
            if t is not None:
                out.append(t)
        return out

    def fold_text(self, text: str, target: int) -> str:
        """Fold a space-separated phone string."""
        return " ".join(self.fold(text.split(), target))


def read_phone_map(path: str | os.PathLike) -> PhoneMap:
    """Read a Kaldi ``phones.60-48-39.map``: ``p61 p48 p39`` per line, or a lone ``p61`` for a
    phone that is deleted.  Blank lines and ``#`` comments are skipped."""
    path = Path(path)
    rows: dict[str, tuple[str | None, str | None]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):  # note: 'h#' is a phone, not a comment
                continue
            if len(parts) == 1:
                t48 = t39 = None
            elif len(parts) == 3:
                t48, t39 = parts[1], parts[2]
            else:
                raise PhoneMapError(f"{path}:{lineno}: expected '<p61> <p48> <p39>' or '<p61>'")
            if parts[0] in rows:
                raise PhoneMapError(f"{path}:{lineno}: phone {parts[0]!r} listed twice")
            rows[parts[0]] = (t48, t39)
    if not rows:
        raise PhoneMapError(f"{path}: empty phone map")
    return PhoneMap(rows, source=str(path))


_DEFAULT: PhoneMap | None = None


def load_phone_map(path: str | os.PathLike | None = None) -> PhoneMap:
    """The packaged TIMIT map (cached), or the map in ``path``."""
    global _DEFAULT
    if path is not None:
        return read_phone_map(path)
    if _DEFAULT is None:
        _DEFAULT = read_phone_map(data_path(DEFAULT_MAP))
    return _DEFAULT


def fold(phones: Iterable[str], target: int, phone_map: PhoneMap | None = None) -> list[str]:
    """Fold a phone sequence to 61/60/48/39 phones with the packaged map (or ``phone_map``)."""
    return (phone_map or load_phone_map()).fold(phones, target)


def fold_text(text: str, target: int, phone_map: PhoneMap | None = None) -> str:
    """Fold a space-separated phone string to 61/60/48/39 phones."""
    return (phone_map or load_phone_map()).fold_text(text, target)


_M = load_phone_map()
#: TIMIT's 61 symbols (60 phones + ``q``), in map order
PHONES_61: tuple[str, ...] = tuple(_M.phones61)
#: the 60 phones left when ``q`` is deleted
PHONES_60: tuple[str, ...] = tuple(_M.phones60)
#: the 48-phone training set (sorted)
PHONES_48: tuple[str, ...] = tuple(_M.phones48)
#: the 39-phone scoring set (sorted)
PHONES_39: tuple[str, ...] = tuple(_M.phones39)
#: every symbol of any set that folds to ``sil`` in the 39 set
SILENCES: frozenset[str] = _M.silences
del _M
