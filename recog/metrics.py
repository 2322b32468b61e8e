"""Error rates (CER / WER / PER) with Kaldi ``compute-wer`` style reports.

``score(refs, hyps, unit)`` compares two ``{id: transcript}`` maps (as read by
:func:`recog.manifest.read_text`) and returns an :class:`ErrorReport` with totals,
per-utterance counts and a substitution confusion table.

Units:

* ``char``: characters of the whitespace-normalised text; the space between words counts as
  a symbol ``" "`` so that missing or extra word breaks are errors (standard HTR CER).
* ``word`` / ``phone``: whitespace-separated tokens.

Distances come from :mod:`editdistance` (fast C); the Python DP in :func:`align` is used to split
the errors into substitutions, deletions and insertions and always gives the same total.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import editdistance

UNITS = ("char", "word", "phone")
_NAMES = {"char": "CER", "word": "WER", "phone": "PER"}

def tokenize(text: str, unit: str) -> list[str]:
    """Split ``text`` into scoring units.

    ``char``: every character of ``" ".join(text.split())`` (spaces included as ``" "``);
    ``word`` and ``phone``: ``text.split()``.
    """
    if unit == "char":
        return list(" ".join(text.split()))
    if unit in ("word", "phone"):
        return text.split()
    raise ValueError(f"unknown unit {unit!r}; expected one of {UNITS}")


@dataclass
class Alignment:
    """A minimum-edit alignment of ``hyp`` against ``ref``.

    ``ops`` is a list of ``(op, ref_sym, hyp_sym)`` with ``op`` one of ``"C"`` (correct),
    ``"S"`` (substitution), ``"D"`` (deletion: ``hyp_sym`` is None) and ``"I"`` (insertion:
    ``ref_sym`` is None).
    """

    ref: list[str]
    hyp: list[str]
    ops: list[tuple[str, str | None, str | None]]

    def _count(self, kind: str) -> int:
        return sum(1 for op, _, _ in self.ops if op == kind)

    @property
    def sub(self) -> int:
        return self._count("S")

    @property
    def dels(self) -> int:
        return self._count("D")

    @property
    def ins(self) -> int:
        return self._count("I")

    @property
    def errors(self) -> int:
        return sum(1 for op, _, _ in self.ops if op != "C")

    @property
    def ref_len(self) -> int:
        return len(self.ref)


def align(ref: Sequence[str], hyp: Sequence[str]) -> Alignment:
    """Levenshtein alignment with backtrace.

    Unit costs for S, D and I.  On ties the backtrace prefers the diagonal (C/S), then
    deletion, then insertion, so the result is deterministic.  ``alignment.errors`` equals
    ``editdistance.eval(ref, hyp)``.
    """
    ref = list(ref)
    hyp = list(hyp)
    n, m = len(ref), len(hyp)
    # d[i][j]: distance between ref[:i] and hyp[:j]
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        row, prev = d[i], d[i - 1]
        row[0] = i
        r = ref[i - 1]
        for j in range(1, m + 1):
            diag = prev[j - 1] + (0 if r == hyp[j - 1] else 1)
            dele = prev[j] + 1
            ins = row[j - 1] + 1
            row[j] = min(diag, dele, ins)
    ops: list[tuple[str, str | None, str | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            same = ref[i - 1] == hyp[j - 1]
            if d[i][j] == d[i - 1][j - 1] + (0 if same else 1):
                ops.append(("C" if same else "S", ref[i - 1], hyp[j - 1]))
                i -= 1
                j -= 1
                continue
        if i > 0 and d[i][j] == d[i - 1][j] + 1:
            ops.append(("D", ref[i - 1], None))
            i -= 1
            continue
        ops.append(("I", None, hyp[j - 1]))
        j -= 1
    ops.reverse()
    return Alignment(ref=ref, hyp=hyp, ops=ops)


@dataclass
class ErrorReport:
    """Totals and details of a scoring run.

    ``per_utt`` rows are ``(id, ref_len, sub, dels, ins)`` in the order of ``refs``;
    ``confusions`` counts ``(ref_sym, hyp_sym)`` substitution pairs; ``missing`` lists reference
    ids without a hypothesis (scored as all deletions) and ``extra`` hypothesis ids without a
    reference (ignored).
    """

    unit: str
    n_utts: int = 0
    ref_len: int = 0
    sub: int = 0
    dels: int = 0
    ins: int = 0
    per_utt: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    confusions: Counter = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``CER``, ``WER`` or ``PER`` according to the unit."""
        return _NAMES.get(self.unit, "ER")

    @property
    def errors(self) -> int:
        return self.sub + self.dels + self.ins

    @property
    def error_rate(self) -> float:
        """Percent errors, ``100 * errors / ref_len`` (0 if there is nothing and no errors)."""
        if self.ref_len == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return 100.0 * self.errors / self.ref_len

    def format(self, top_confusions: int = 10) -> str:
        """Kaldi-style summary, e.g.
        ``%CER 7.53 [ 123 / 1634, 20 ins, 40 del, 63 sub ] over 50 utterances``,
        followed by the most frequent substitutions and notes on missing/extra ids."""
        lines = [
            f"%{self.name} {self.error_rate:.2f} [ {self.errors} / {self.ref_len}, "
            f"{self.ins} ins, {self.dels} del, {self.sub} sub ] over {self.n_utts} utterances"
        ]
        if self.missing:
            lines.append(f"missing hypotheses: {len(self.missing)} (scored as deletions)")
        if self.extra:
            lines.append(f"hypotheses without reference: {len(self.extra)} (ignored)")
        if top_confusions > 0 and self.confusions:
            lines.append("top substitutions (ref -> hyp count):")
            for (r, h), c in self.confusions.most_common(top_confusions):
                lines.append(f"  {_show(r)} -> {_show(h)} {c}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _show(sym: str | None) -> str:
    if sym is None:
        return "<none>"
    return "<space>" if sym == " " else sym


def score(refs: dict[str, str], hyps: dict[str, str], unit: str) -> ErrorReport:
    """Score hypotheses against references.

    Every id of ``refs`` is scored; one without a hypothesis counts as all deletions and is
    listed in ``report.missing``.  Ids only in ``hyps`` are ignored and listed in ``report.extra``.
    """
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {UNITS}")
    rep = ErrorReport(unit=unit)
    for uid, ref_text in refs.items():
        ref = tokenize(ref_text, unit)
        if uid not in hyps:
            rep.missing.append(uid)
            hyp: list[str] = []
        else:
            hyp = tokenize(hyps[uid], unit)
        if ref == hyp:
            s = d = i = 0
        elif not hyp or not ref:
            s, d, i = 0, len(ref), len(hyp)
        else:
            a = align(ref, hyp)
            s, d, i = a.sub, a.dels, a.ins
            for op, r, h in a.ops:
                if op == "S":
                    rep.confusions[(r, h)] += 1
        rep.n_utts += 1
        rep.ref_len += len(ref)
        rep.sub += s
        rep.dels += d
        rep.ins += i
        rep.per_utt.append((uid, len(ref), s, d, i))
    rep.extra = [uid for uid in hyps if uid not in refs]
    return rep


def _utt_rate(ref_len: int, errs: int) -> float:
    if ref_len == 0:
        return 0.0 if errs == 0 else float("inf")
    return 100.0 * errs / ref_len


def per_utterance_report(report: ErrorReport) -> str:
    """One line per utterance, ``id ref_len S D I err%``, worst error rate first
    (ties: more errors first, then id)."""
    rows = sorted(
        report.per_utt,
        key=lambda r: (-_utt_rate(r[1], r[2] + r[3] + r[4]), -(r[2] + r[3] + r[4]), r[0]),
    )
    lines = ["id ref_len S D I err%"]
    for uid, n, s, d, i in rows:
        lines.append(f"{uid} {n} {s} {d} {i} {_utt_rate(n, s + d + i):.2f}")
    return "\n".join(lines)


def distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Plain edit distance (fast, via :mod:`editdistance`)."""
    return int(editdistance.eval(list(ref), list(hyp)))


def group_table(report: ErrorReport, group_of: dict[str, str], title: str) -> str:
    """Error rate per group of utterances (speaker, gender, age band ...) from ``report.per_utt``:
    ``group utts ref_len errors err%`` rows, worst first, then the spread of the group rates
    (mean, median, best, worst).  Utterances without a group fall under ``?``."""
    tot: dict[str, list[int]] = {}
    for uid, n, s, d, i in report.per_utt:
        t = tot.setdefault(group_of.get(uid, "?"), [0, 0, 0])
        t[0], t[1], t[2] = t[0] + 1, t[1] + n, t[2] + s + d + i
    rows = sorted(tot.items(), key=lambda kv: (-_utt_rate(kv[1][1], kv[1][2]), kv[0]))
    width = max([len(title)] + [len(g) for g in tot])
    lines = [f"{title:<{width}} utts ref_len errors {report.name}%"]
    lines += [f"{g:<{width}} {u:4d} {n:7d} {e:6d} {_utt_rate(n, e):6.2f}" for g, (u, n, e) in rows]
    rates = sorted(_utt_rate(n, e) for _, n, e in tot.values())
    if len(rates) > 2:
        mid = (rates[(len(rates) - 1) // 2] + rates[len(rates) // 2]) / 2
        lines.append(f"{len(rates)} {title}s: mean {sum(rates) / len(rates):.2f}, median {mid:.2f}, "
                     f"best {rates[0]:.2f}, worst {rates[-1]:.2f}")
    return "\n".join(lines)


def age_band(age: int) -> str:
    """Age bands of the per-speaker tables: children, teenagers, adults."""
    return "child (<=12)" if age <= 12 else "teen (13-17)" if age <= 17 else "adult (18+)"


def _read_key_value(path: Path) -> dict[str, str]:
    """A Kaldi ``<key> <value>`` file (utt2spk, spk2gender, spk2age); errors name file and line."""
    from .manifest import ManifestError, read_lines

    out = {}
    for lineno, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if parts and len(parts) != 2:
            raise ManifestError(f"{path}:{lineno}: expected '<key> <value>', got {len(parts)} fields")
        if parts:
            out[parts[0]] = parts[1]
    return out


def speaker_tables(rep: ErrorReport, d: Path) -> str:
    """Error rates by speaker, and by gender and age band where the Kaldi files give them."""
    if not (d / "utt2spk").is_file():
        raise FileNotFoundError(f"{d / 'utt2spk'}: not found (--per-spk takes a folder with utt2spk)")
    spk = _read_key_value(d / "utt2spk")
    parts = [group_table(rep, spk, "speaker")]
    if (d / "spk2gender").is_file():
        g = _read_key_value(d / "spk2gender")
        parts.append(group_table(rep, {u: g.get(s, "?") for u, s in spk.items()}, "gender"))
    if (d / "spk2age").is_file():
        a = {s: age_band(int(v)) for s, v in _read_key_value(d / "spk2age").items() if v.isdigit()}
        parts.append(group_table(rep, {u: a.get(s, "?") for u, s in spk.items()}, "age"))
    return "\n\n".join(parts)
