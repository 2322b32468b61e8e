"""CTC forced alignment: where each symbol of a known transcript lies in time.

``forced_align`` is the one place that calls torchaudio's ``functional.forced_align`` (CTC
Viterbi); if that function is ever withdrawn, ``viterbi_align`` (the same dynamic programme in
torch) takes over.  Segments come out as (symbol, start, end) in seconds and tile the span from
the first symbol's onset to the end of the last one: a symbol ends where the next one begins.
They are written as CTM (``<utt> 1 <start> <dur> <symbol>``) or TIMIT ``.PHN`` (sample indices).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class Segment:
    symbol: str
    start: float
    end: float


def viterbi_align(logp: torch.Tensor, targets: list[int], blank: int = 0) -> list[int]:
    """Best CTC path through the extended label sequence (blank, l1, blank, l2, ..., blank):
    returns the frame-level labels (blank or target symbol) of length T."""
    T = logp.shape[0]
    ext = [blank]
    for t in targets:
        ext += [t, blank]
    S = len(ext)
    neg = torch.tensor(float("-inf"))
    ext_t = torch.tensor(ext)
    # a transition s-2 -> s is allowed when ext[s] is a label different from ext[s-2]
    skip = torch.zeros(S, dtype=torch.bool)
    skip[2:] = (ext_t[2:] != blank) & (ext_t[2:] != ext_t[:-2])
    alpha = torch.full((S,), float("-inf"))
    alpha[0] = logp[0, blank]
    if S > 1:
        alpha[1] = logp[0, ext[1]]
    back = torch.zeros((T, S), dtype=torch.long)
    idx = torch.arange(S)
    for t in range(1, T):
        stay = alpha
        prev1 = torch.cat([neg.view(1), alpha[:-1]])
        prev2 = torch.where(skip, torch.cat([neg.repeat(2), alpha[:-2]]), neg)
        cand = torch.stack([stay, prev1, prev2])
        best, arg = cand.max(0)
        back[t] = idx - arg
        alpha = best + logp[t, ext_t]
    end = S - 1 if S == 1 or alpha[S - 1] >= alpha[S - 2] else S - 2
    if torch.isinf(alpha[end]):
        raise ValueError(f"{len(targets)} symbols cannot be aligned to {T} frames")
    path = [0] * T
    s = end
    for t in range(T - 1, -1, -1):
        path[t] = ext[s]
        s = int(back[t, s]) if t > 0 else s
    return path


def forced_align(logp: torch.Tensor, targets: list[int], blank: int = 0) -> list[tuple[int, int, int]]:
    """Align ``targets`` to (T, V) log-probs; returns (symbol, first frame, last frame) per target."""
    if not targets:
        return []
    try:
        from torchaudio.functional import forced_align as _ta_align
    except ImportError:  # torchaudio without it: our own Viterbi pass
        _ta_align = None
    if _ta_align is not None:
        ali, _ = _ta_align(logp.unsqueeze(0).float(), torch.tensor([targets], dtype=torch.int32), blank=blank)
        path = ali[0].tolist()
    else:
        path = viterbi_align(logp.float(), targets, blank)
    spans: list[tuple[int, int, int]] = []
    prev = blank
    for t, s in enumerate(path):
        if s != blank and (s != prev or not spans):
            spans.append((s, t, t))
        elif s != blank and s == prev:
            spans[-1] = (s, spans[-1][1], t)
        prev = s
    if len(spans) != len(targets):
        raise ValueError("alignment does not match the targets")
    return spans


def spans_to_segments(spans: list[tuple[int, int, int]], symbols: list[str], frame_shift: float,
                      total: float | None = None) -> list[Segment]:
    """Frame spans -> time segments: each symbol starts at its first frame and ends where the next
    one starts; the last ends after its last frame (or at ``total``, if given)."""
    segs = []
    for i, (s, a, b) in enumerate(spans):
        start = a * frame_shift
        end = spans[i + 1][1] * frame_shift if i + 1 < len(spans) else (total if total else (b + 1) * frame_shift)
        segs.append(Segment(symbols[s], round(start, 4), round(max(end, start), 4)))
    return segs


def write_ctm(path: str | Path, items: list[tuple[str, list[Segment]]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for uid, segs in items:
            for sg in segs:
                f.write(f"{uid} 1 {sg.start:.3f} {sg.end - sg.start:.3f} {sg.symbol}\n")


def read_ctm(path: str | Path) -> dict[str, list[Segment]]:
    out: dict[str, list[Segment]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            p = line.split()
            if not p or line.startswith(";;"):
                continue
            if len(p) < 5:
                raise ValueError(f"{path}:{lineno}: expected '<utt> <channel> <start> <duration> <symbol>'")
            start, dur = float(p[2]), float(p[3])
            out.setdefault(p[0], []).append(Segment(p[4], start, start + dur))
    return out


def write_phn(path: str | Path, segs: list[Segment], sample_rate: int) -> None:
    """TIMIT .PHN: ``<start sample> <end sample> <phone>`` per line."""
    with open(path, "w", encoding="utf-8") as f:
        for sg in segs:
            f.write(f"{round(sg.start * sample_rate)} {round(sg.end * sample_rate)} {sg.symbol}\n")


def _matched(ref: dict[str, list[Segment]], hyp: dict[str, list[Segment]]):
    """(reference, hypothesis) segment lists of the utterances whose symbol sequences agree (and
    are not empty), and the ids of the other reference utterances."""
    pairs, skipped = [], []
    for uid, r in ref.items():
        h = hyp.get(uid)
        if h and [s.symbol for s in h] == [s.symbol for s in r]:
            pairs.append((r, h))
        else:
            skipped.append(uid)
    return pairs, skipped


def boundary_accuracy(ref: dict[str, list[Segment]], hyp: dict[str, list[Segment]],
                      tolerances=(0.010, 0.020, 0.040)) -> dict:
    """Share of reference phone boundaries (every segment start, and the last end) that the
    hypothesis places within each tolerance.  Utterances are compared only where both sides have
    the same symbol sequence (forced alignments of the reference transcript)."""
    hits = {tol: 0 for tol in tolerances}
    n = 0
    pairs, skipped = _matched(ref, hyp)
    for r, h in pairs:
        rb = [s.start for s in r] + [r[-1].end]
        hb = [s.start for s in h] + [h[-1].end]
        for a, b in zip(rb, hb):
            n += 1
            for tol in tolerances:
                hits[tol] += abs(a - b) <= tol + 1e-9
    return {"boundaries": n, "utterances": len(pairs), "skipped": skipped,
            "within": {tol: (100.0 * hits[tol] / n if n else 0.0) for tol in tolerances}}


END = "<end>"  # key of the offset applied to the last symbol's end


def fit_offsets(ref: dict[str, list[Segment]], hyp: dict[str, list[Segment]],
                min_count: int = 5) -> dict[str, float]:
    """Per-symbol boundary corrections: for each symbol, the median of (reference start −
    aligned start) in seconds over utterances whose sequences match; ``"<end>"`` likewise for
    the last symbol's end.  CTC places a symbol where its spike begins, which leads or lags the
    true onset by an amount that depends on the symbol (stops fire late, vowels early); fitted
    on training alignments and applied with :func:`apply_offsets`, this removes that bias.
    Symbols seen fewer than ``min_count`` times get no correction."""
    errs: dict[str, list[float]] = {}
    for r, h in _matched(ref, hyp)[0]:
        for a, b in zip(r, h):
            errs.setdefault(a.symbol, []).append(a.start - b.start)
        errs.setdefault(END, []).append(r[-1].end - h[-1].end)
    out = {}
    for sym, v in sorted(errs.items()):
        if len(v) >= min_count:
            v = sorted(v)
            mid = len(v) // 2
            out[sym] = round(v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2, 4)
    return out


def apply_offsets(segs: list[Segment], offsets: dict[str, float]) -> list[Segment]:
    """Shift each segment's start by its symbol's offset (kept in order: a start never moves
    before the previous one, nor below zero) and the last end by ``"<end>"``'s; segments still
    tile, each ending where the next begins."""
    if not segs:
        return []
    starts = []
    for sg in segs:
        t = max(0.0, sg.start + offsets.get(sg.symbol, 0.0))
        starts.append(max(t, starts[-1]) if starts else t)
    last_end = max(starts[-1], segs[-1].end + offsets.get(END, 0.0))
    ends = starts[1:] + [last_end]
    return [Segment(sg.symbol, round(a, 4), round(b, 4)) for sg, a, b in zip(segs, starts, ends)]


def word_segments(words: list[tuple[str, list[str]]], phones: list[Segment]) -> list[Segment] | None:
    """Words over aligned phones: word k spans its pronunciation's phones, which must follow one
    another in ``phones`` exactly (None when they do not: the words tier is then left out)."""
    if [p for _, pron in words for p in pron] != [s.symbol for s in phones]:
        return None
    out, i = [], 0
    for w, pron in words:
        if pron:
            out.append(Segment(w, phones[i].start, phones[i + len(pron) - 1].end))
            i += len(pron)
    return out


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def textgrid_text(tiers: dict[str, list[Segment]], xmax: float) -> str:
    """Praat's long text TextGrid: one IntervalTier per entry, the gaps between segments (and to
    0 and ``xmax``) filled with empty intervals, as Praat requires tiers to tile the whole span."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ", f"xmax = {xmax:.4f} ",
             "tiers? <exists> ", f"size = {len(tiers)} ", "item []: "]
    for k, (name, segs) in enumerate(tiers.items(), 1):
        intervals, t = [], 0.0
        for sg in segs:
            if sg.start > t + 1e-6:
                intervals.append((t, sg.start, ""))
            intervals.append((max(t, sg.start), sg.end, sg.symbol))
            t = sg.end
        if xmax > t + 1e-6:
            intervals.append((t, xmax, ""))
        lines += [f"    item [{k}]:", '        class = "IntervalTier" ', f"        name = {_quote(name)} ",
                  "        xmin = 0 ", f"        xmax = {xmax:.4f} ", f"        intervals: size = {len(intervals)} "]
        for j, (a, b, text) in enumerate(intervals, 1):
            lines += [f"        intervals [{j}]:", f"            xmin = {a:.4f} ", f"            xmax = {b:.4f} ",
                      f"            text = {_quote(text)} "]
    return "\n".join(lines) + "\n"


def write_textgrids(out: Path, hyp: list[tuple[str, list[Segment]]], records: dict, frame_s: float,
                    lexicon: str | Path | None = None) -> int:
    """<id>.TextGrid per utterance: a phones tier, and a words tier where the record has its words
    (``words`` or ``sentence``) and ``lexicon`` pronounces them as the aligned phones.  Returns how
    many utterances got no words tier for that reason."""
    from .lexicon import read_arpabet_map, read_lexicon, words_to_phones

    lex = read_lexicon(Path(lexicon)) if lexicon else None
    table = read_arpabet_map() if lex else None
    without_words = 0
    for uid, segs in hyp:
        u = records[uid]
        tiers = {"phones": segs}
        text = u.extra.get("words") or u.extra.get("sentence")
        if lex and text:
            ws = word_segments([(w, words_to_phones([w], lex, table)[0]) for w in text.split()], segs)
            if ws is None:
                without_words += 1
            else:
                tiers = {"words": ws, "phones": segs}
        xmax = max(segs[-1].end if segs else 0.0, (u.num_frames or 0) * frame_s)
        (Path(out) / f"{uid}.TextGrid").write_text(textgrid_text(tiers, xmax), encoding="utf-8")
    return without_words


def reference_segments(u, sample_rate: int = 16000) -> list[Segment] | None:
    """Reference segments of a manifest record: ``segments`` ([start_s, end_s, symbol] lists, as
    the LJSpeech reader writes) or a TIMIT ``.PHN`` file named by ``phn`` (sample indices)."""
    if u.extra.get("segments"):
        return [Segment(str(s), float(a), float(b)) for a, b, s in u.extra["segments"]]
    phn = u.extra.get("phn")
    if phn:
        segs = []
        with open(phn, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if len(p) == 3:
                    segs.append(Segment(p[2], int(p[0]) / sample_rate, int(p[1]) / sample_rate))
        return segs
    return None


def align_manifest(tr, utts, log=print, progress: bool = False
                   ) -> tuple[list[tuple[str, list[Segment]]], list[tuple[str, list[Segment]]]]:
    """Force-align every record's transcript with a loaded model (a ``recog.infer.Transcriber``);
    returns (hypothesis segments, reference segments where the records have them).  ``progress``:
    a bar on stderr (``recog.progress``)."""
    from .data import Example
    from .progress import bar

    hyp, ref = [], []
    for u in bar(len(utts), progress, iterable=utts):
        try:
            targets = tr.recogniser.symbols.encode(u.text or "")
            feats = tr.manifest_features(u)
            logp = tr.log_probs([Example(u.id, feats, [], "")])[0]
            spans = forced_align(logp, targets)
        except (ValueError, OSError) as e:
            log(f"error: {u.id}: {e}; skipped")
            continue
        total = feats.shape[0] * tr.cfg.features.audio.frame_shift_ms / 1000
        hyp.append((u.id, spans_to_segments(spans, tr.recogniser.symbols.symbols, tr.frame_shift, total)))
        r = reference_segments(u, tr.cfg.features.audio.sample_rate)
        if r:
            ref.append((u.id, r))
    return hyp, ref
