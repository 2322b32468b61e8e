"""espeak-ng's phoneme and word events -> TIMIT-61 .PHN and .WRD segments, sample-exact
(:mod:`data_prep.synth_timit`).

Phones
------
espeak-ng's phoneme events give each phoneme's first sample; a phoneme runs to the next one's
start.  Each espeak phoneme (its mnemonic, as ``espeak-ng -x`` prints it) becomes one or more
TIMIT-61 phones by ``PHONE_MAP`` (plus ``RHOTIC_MAP`` for the rhotic en-us voice).  The labels are
phonemic: they follow espeak's pronunciation of the word, not each accent's exact vowel quality
(West Midlands "aI" is still ``ay``).  Rules beyond the table:

* Pauses (``_``, ``_:``, ...) become ``pau``; the silence before the first and after the last
  speech sound is ``h#`` (each utterance is padded with 100-250 ms of silence at both ends, as
  TIMIT's recordings are).  Adjacent silences merge.
* Stops and affricates become closure + release (``bcl b``, ``tcl ch``, ...).  espeak emits a
  stop's closure silence *before* the stop's event (it marks the release), so the closure is
  taken from the end of the previous segment: from a pause/``h#``, its last 50 ms (at most half of
  it); from a speech sound, its silent tail (samples below 0.5% of the utterance's peak before the
  noise is added; at least 5 ms, and the sound keeps at least 30%).  Where there is no such
  silence (a voiced stop's voice bar is inside the stop's own segment), the stop's own segment is
  split at the burst: the first 4 ms frame between 30% and 90% of the segment that starts two
  frames in a row with RMS over 1.6 x the median of the segment's first 40%; without one, the
  closure is the first 60% (b d g jh: a voice bar) or 25% (p t k ch: after s, f, n ... espeak
  releases them almost at once).
* The flap ``t#`` is ``dx`` and the glottal stop ``?`` is ``q`` (no closure).
* One espeak phoneme giving two TIMIT phones that are not closure + release (``i@`` -> ``iy ax``,
  en-us ``A@`` -> ``aa r``) is split 60% / 40%; a final ``r`` is dropped when the next phoneme
  is an ``r``.
* espeak-ng folds a post-vocalic l (and an r after an r-coloured vowel) into the vowel: the l's
  event comes at the vowel's end, with no or very little audio of its own (< 15 ms).  Such an
  l or r gets the last 35% of the vowel + liquid span.
* Other phonemes of zero length (two events at the same sample) are dropped.
* An unknown mnemonic is logged and mapped through its longest known prefix (``e:`` -> ``e``...),
  else to ``ax`` (vowel-like) or ``hh``; ``synth_info.json`` counts them.

Times are computed at espeak's 22,050 Hz and converted to 16 kHz by ``round(t * 320 / 441)``, the
last boundary being the resampled length; segments that become empty are dropped, so the .PHN
segments always tile the audio exactly.

Words (.WRD): espeak-ng's word events (type 1) say where each word of the text starts in the
phoneme stream; a word spans its phones (the closure of a word-initial stop included), pauses
excluded.  When espeak speaks two words as one (``of a``), their phones are shared out in
proportion to the words' lengths, at phone boundaries (approximate).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .sentences import WORD_RE
from .timit_phones import CLOSURES, SILENCES, TIMIT61, map_phoneme

SR_ESPEAK = 22050
SR = 16000
_UP, _DOWN = 320, 441  # 16000 / 22050 in lowest terms

#: share of the first phone when one espeak phoneme gives two (not closure + release)
SPLIT_FIRST = 0.6
#: closure share of a stop's own segment when no silence precedes it and no burst is found:
#: voiced stops (a voice bar, then the burst), voiceless ones (the burst comes almost at once)
CLOSURE_FRACTION = 0.6
CLOSURE_FRACTION_VOICELESS = 0.25
VOICED_CLOSURES = frozenset({"bcl", "dcl", "gcl"})
BURST_FRAME = 88  # 4 ms at 22,050 Hz
BURST_RISE = 1.6
#: closure taken from a preceding pause: at most this long, and at most half the pause
CLOSURE_FROM_PAUSE_S = 0.050
#: a silent tail counts as a closure from this length on; the previous sound keeps this share
MIN_CLOSURE_S = 0.005
KEEP_PREVIOUS = 0.3
#: "silent": |sample| <= this share of the utterance's peak (espeak's own silence is exactly 0)
QUIET_REL = 0.005
#: an l or r shorter than this after a vowel was folded into the vowel by espeak: it gets the last
#: LIQUID_SHARE of the vowel + liquid span
SHORT_LIQUID_S = 0.015
LIQUID_SHARE = 0.35
VOWELS = frozenset("aa ae ah ao aw ax ax-h axr ay eh er ey ih ix iy ow oy uh uw ux".split())


@dataclass
class _Item:
    start: int
    end: int
    labels: tuple[str, ...]
    word: int | None  # index of the espeak word event
    name: str = ""


def _quiet_tail(x: np.ndarray, lo: int, hi: int, thr: float) -> int:
    """Length of the run of samples with |x| <= thr that ends at hi (not reaching below lo)."""
    if hi <= lo:
        return 0
    loud = np.flatnonzero(np.abs(x[lo:hi].astype(np.int32)) > thr)
    return hi - lo if loud.size == 0 else hi - (lo + int(loud[-1]) + 1)


def _burst_onset(x: np.ndarray, s: int, e: int) -> int | None:
    """Where a stop's release starts inside its own segment [s, e) (closure voicing first): the
    first 4 ms frame, between 30% and 90% of the segment, that starts two frames in a row louder
    than BURST_RISE x the median of the segment's first 40%; None when there is none."""
    f = BURST_FRAME
    nf = (e - s) // f
    if nf < 6:
        return None
    frames = x[s:s + nf * f].astype(np.float64).reshape(nf, f)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    base = max(float(np.median(rms[:max(1, int(0.4 * nf))])), 1.0)
    loud = rms > BURST_RISE * base
    for i in range(int(math.ceil(0.3 * nf)), min(int(0.9 * nf), nf - 1)):
        if loud[i] and loud[i + 1]:
            return s + i * f
    return None


def timit_segments(x: np.ndarray, phonemes: list[tuple[str, int]], word_of: list[int | None],
                   accent: str, stats: Counter | None = None) -> list[tuple[int, int, str, int | None]]:
    """TIMIT-61 segments ``(start, end, phone, word event index or None)`` tiling ``[0, len(x))``.

    ``x``: the audio (int16, any padding included); ``phonemes``: espeak's ``(mnemonic, start)``
    events in the same sample positions; ``word_of``: the word event each phoneme belongs to."""
    stats = stats if stats is not None else Counter()
    n = len(x)
    peak = float(np.abs(x.astype(np.int32)).max()) if n else 0.0
    thr = QUIET_REL * peak
    min_closure = int(round(MIN_CLOSURE_S * SR_ESPEAK))
    from_pause = int(round(CLOSURE_FROM_PAUSE_S * SR_ESPEAK))

    # raw spans: each event to the next one; the stretch before the first event is silence
    items: list[_Item] = []
    prev = 0
    starts = []
    for name, s in phonemes:
        s = min(max(int(s), prev), n)  # monotone, inside the audio
        starts.append(s)
        prev = s
    if not starts or starts[0] > 0:
        items.append(_Item(0, starts[0] if starts else n, ("pau",), None, "_"))
    for i, (name, _) in enumerate(phonemes):
        s = starts[i]
        e = starts[i + 1] if i + 1 < len(starts) else n
        stats[f"espeak {name}"] += 1
        labels = map_phoneme(name, accent, stats)
        items.append(_Item(s, e, labels, None if labels == ("pau",) else word_of[i], name))

    # an r-coloured vowel before an r keeps only its vowel
    for a, b in zip(items, items[1:]):
        if len(a.labels) == 2 and a.labels[1] == "r" and b.labels[0] == "r":
            a.labels = a.labels[:1]
    # a post-vocalic l or r that espeak folded into the vowel takes the vowel's last part
    short = int(round(SHORT_LIQUID_S * SR_ESPEAK))
    for a, b in zip(items, items[1:]):
        if (b.labels in (("l",), ("r",)) and b.end - b.start < short and len(a.labels) == 1
                and a.labels[0] in VOWELS and a.end == b.start):
            cut = a.start + int(round((1 - LIQUID_SHARE) * (b.end - a.start)))
            if a.start < cut < b.start:
                a.end = b.start = cut
                stats["liquid: from the vowel before"] += 1
    # drop empty spans; adjacent pauses become one
    kept: list[_Item] = []
    for it in items:
        if it.end <= it.start:
            if it.labels != ("pau",):
                stats["dropped: zero-length espeak phoneme"] += 1
            continue
        if kept and it.labels == ("pau",) and kept[-1].labels == ("pau",):
            kept[-1].end = it.end
            continue
        kept.append(it)
    items = kept

    segs: list[list] = []  # [start, end, phone, word]
    for it in items:
        s, e, labels = it.start, it.end, it.labels
        if len(labels) == 2 and labels[0] in CLOSURES:
            closure, release = labels
            cut = None  # where the closure starts (before s) if taken from the previous segment
            if segs:
                p = segs[-1]
                plen = p[1] - p[0]
                if p[2] in SILENCES:
                    cl = min(from_pause, plen // 2)
                    if cl >= 1:
                        cut = s - cl
                        stats["closure: from pause"] += 1
                else:
                    q = _quiet_tail(x, p[0] + int(math.ceil(KEEP_PREVIOUS * plen)), s, thr)
                    if q >= min_closure:
                        cut = s - q
                        stats["closure: silent tail"] += 1
            if cut is not None:
                segs[-1][1] = cut
                segs.append([cut, s, closure, it.word])
                segs.append([s, e, release, it.word])
            elif e - s >= 2:
                m = _burst_onset(x, s, e)
                if m is None:
                    frac = CLOSURE_FRACTION if closure in VOICED_CLOSURES else CLOSURE_FRACTION_VOICELESS
                    m = s + int(round(frac * (e - s)))
                    stats["closure: own segment, fixed split"] += 1
                else:
                    stats["closure: own segment, at the burst"] += 1
                m = max(s + 1, min(e - 1, m))
                segs.append([s, m, closure, it.word])
                segs.append([m, e, release, it.word])
            else:
                segs.append([s, e, release, it.word])
                stats["closure: none (1 sample)"] += 1
        elif len(labels) >= 2 and e - s >= len(labels):
            w = [SPLIT_FIRST] + [(1 - SPLIT_FIRST) / (len(labels) - 1)] * (len(labels) - 1)
            bounds = [s] + [s + int(round(sum(w[:k + 1]) * (e - s))) for k in range(len(labels) - 1)] + [e]
            for k, lab in enumerate(labels):
                if bounds[k + 1] > bounds[k]:
                    segs.append([bounds[k], bounds[k + 1], lab, it.word])
        else:
            segs.append([s, e, labels[0], it.word])

    segs = [sg for sg in segs if sg[1] > sg[0]]
    # silences at the edges are h#
    speech = [i for i, sg in enumerate(segs) if sg[2] not in SILENCES]
    for i, sg in enumerate(segs):
        if sg[2] in SILENCES:
            sg[3] = None
            if not speech or i < speech[0] or i > speech[-1]:
                sg[2] = "h#"
    return [tuple(sg) for sg in _merge_silences(segs)]


def _merge_silences(segs: list[list]) -> list[list]:
    out: list[list] = []
    for sg in segs:
        if out and sg[2] in SILENCES and out[-1][2] == sg[2] and out[-1][1] == sg[0]:
            out[-1][1] = sg[1]
        else:
            out.append(list(sg))
    return out


def to_16k(pos: int) -> int:
    """A 22,050 Hz sample position at 16 kHz: round(pos * 320 / 441), halves up."""
    return (2 * pos * _UP + _DOWN) // (2 * _DOWN)


def convert_segments(segs: list[tuple[int, int, str, int | None]], n16: int
                     ) -> list[tuple[int, int, str, int | None]]:
    """22,050 Hz segments tiling [0, n22) -> 16 kHz segments tiling [0, n16) exactly."""
    out = []
    for i, (s, e, lab, w) in enumerate(segs):
        s2 = 0 if i == 0 else min(to_16k(s), n16)
        e2 = n16 if i == len(segs) - 1 else min(to_16k(e), n16)
        if e2 > s2:
            out.append([s2, e2, lab, w])
    return [tuple(sg) for sg in _merge_silences(out)]


def word_segments(text: str, segs: list[tuple[int, int, str, int | None]], words: list,
                  stats: Counter | None = None) -> list[tuple[int, int, str]]:
    """.WRD entries ``(start, end, word)`` for the words of ``text``.

    ``segs`` carry the index of the espeak word event each phone came from; ``words`` are the
    word events (:class:`data_prep.espeak.WordEvent`, text positions 0-based)."""
    stats = stats if stats is not None else Counter()
    tokens = [(m.start(), m.end(), m.group(0).lower()) for m in WORD_RE.finditer(text)]
    if not tokens:
        return []
    # word event -> token
    ev_tok: dict[int, int] = {}
    for k, w in enumerate(words):
        pos = w.text_position
        t = next((i for i, (a, b, _) in enumerate(tokens) if a <= pos < b), None)
        if t is None:
            t = next((i for i, (a, _, _) in enumerate(tokens) if a >= pos), len(tokens) - 1)
        ev_tok[k] = t
    # token -> its phone segments (indices into segs)
    tok_segs: dict[int, list[int]] = {}
    for i, (_, _, lab, w) in enumerate(segs):
        if w is None or lab in SILENCES:
            continue
        tok_segs.setdefault(ev_tok.get(w, 0), []).append(i)
    # tokens without phones of their own share those of the previous token that has some
    groups: list[list[int]] = []
    for t in range(len(tokens)):
        if t in tok_segs or not groups:
            groups.append([t])
        else:
            groups[-1].append(t)
    out = []
    for g in groups:
        owner = next((t for t in g if t in tok_segs), None)
        if owner is None:
            stats["words: no phones"] += len(g)
            continue
        idx = sorted(tok_segs[owner])
        if len(g) == 1:
            out.append((segs[idx[0]][0], segs[idx[-1]][1], tokens[g[0]][2]))
            continue
        stats["words: shared phones (approximate)"] += len(g)
        letters = [len(tokens[t][2]) for t in g]
        total = sum(letters)
        cuts = [0]
        acc = 0
        for L in letters[:-1]:
            acc += L
            c = int(round(acc / total * len(idx)))
            cuts.append(min(max(c, cuts[-1] + 1 if cuts[-1] < len(idx) - 1 else cuts[-1]), len(idx)))
        cuts.append(len(idx))
        for t, a, b in zip(g, cuts, cuts[1:]):
            if b > a:
                out.append((segs[idx[a]][0], segs[idx[b - 1]][1], tokens[t][2]))
            else:
                stats["words: no phones"] += 1
    return sorted(out)


def check_tiling(phn: list[tuple[int, int, str]], n: int, what: str = "") -> None:
    """Raise ValueError unless the segments tile [0, n) exactly with TIMIT-61 phones."""
    if not phn or phn[0][0] != 0 or phn[-1][1] != n:
        raise ValueError(f"{what}: segments do not cover [0, {n})")
    for (s, e, lab), nxt in zip(phn, phn[1:] + [(n, n, "")]):
        if not (s < e == nxt[0]):
            raise ValueError(f"{what}: segment {s} {e} {lab} is empty or not contiguous")
        if lab not in TIMIT61:
            raise ValueError(f"{what}: {lab!r} is not a TIMIT-61 phone")
