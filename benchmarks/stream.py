#!/usr/bin/env python
"""Streaming accuracy and latency (issue 26 item 4): error rate and waiting of ``recog transcribe --stream``.

For every record of a manifest (its audio file and reference), the audio is read at the model's
rate and fed in pieces of the window's chunk, exactly as ``recog transcribe --stream FILE`` does
(``recog.transcribe_stream.stream_one``), decoded greedily and scored against the manifest's text
(PER for phone models, CER for character models).  One markdown row per ``--window``:

* ``wait``: the audio that had arrived after an output frame's own samples when the frame came
  out, mean and max over all output frames (the algorithmic latency: deltas, a BLSTM's chunk and
  right context, the piece size; compute not included);
* ``compute``: ms per piece (mean, max) and after the end of input (mean), and the real-time factor.

``--whole`` adds the non-streaming row: each file's features and the network on the whole input
(``Transcriber.log_probs``, one utterance at a time), greedy; its ``wait`` is the audio after a
frame up to the input's end (a whole-utterance model waits for the end).

    python benchmarks/stream.py --model M --data FEATS/test_ljspeech --whole --window 400:200 --window 200:100
    python benchmarks/stream.py --model UNI --data FEATS/test_synth --window 100 --threads 1
"""

from __future__ import annotations

import argparse
import time

import torch

from recog.data import Example
from recog.decode import greedy
from recog.infer import Transcriber
from recog.manifest import read_manifest
from recog.metrics import score
from recog.transcribe_stream import Timing, file_pieces, stream_one, stream_window


def window_arg(v: str) -> tuple[float | None, float | None]:
    """``CHUNK_MS[:RIGHT_MS]``, or ``model`` (the model's own / the CLI's defaults)."""
    if v == "model":
        return None, None
    chunk, _, right = v.partition(":")
    return float(chunk), float(right) if right else None


def streamed(tr, utts, window) -> tuple[dict, Timing, float, str]:
    nc, nr, piece_ms, warning = stream_window(tr.cfg, *window)
    timing, hyps = Timing(tr.cfg), {}
    rate = tr.cfg.features.audio.sample_rate
    for u in utts:
        uid, hyp, _, _ = stream_one(tr, u.id, file_pieces(u.path, rate, piece_ms / 1000), (nc, nr), timing)
        hyps[uid] = tr.recogniser.symbols.decode(hyp.tokens)
    return hyps, timing, piece_ms, warning


def whole(tr, utts) -> tuple[dict, Timing]:
    timing, hyps = Timing(tr.cfg), {}
    a = tr.cfg.features.audio
    for u in utts:
        t0 = time.perf_counter()
        f = tr.features(u.path)
        lp = tr.log_probs([Example(u.id, f, [], "")])[0]
        hyps[u.id] = tr.recogniser.symbols.decode(greedy(lp).tokens)
        seconds = time.perf_counter() - t0
        timing.add(0, lp.shape[0], ((f.shape[0] - 1) * a.frame_shift_ms + a.frame_length_ms) / 1000, seconds, True)
    return hyps, timing


def row(name: str, refs: dict, hyps: dict, unit: str, timing: Timing) -> str:
    s, er = timing.summary(), score(refs, hyps, unit).error_rate
    return (f"| {name} | {er:.2f} | {s['wait_mean_ms']:.0f} / {s['wait_max_ms']:.0f} | {s['compute_mean_ms']:.1f} / "
            f"{s['compute_max_ms']:.0f} / {s['after_end_ms']:.1f} | {s['rtf']:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="manifest.jsonl (audio paths and references) or its folder")
    p.add_argument("--window", type=window_arg, action="append", default=[],
                   help="CHUNK_MS[:RIGHT_CONTEXT_MS] or model (repeatable; default: model)")
    p.add_argument("--whole", action="store_true", help="also the non-streaming row")
    p.add_argument("--limit", type=int, default=0, help="the first N records only")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tr = Transcriber(args.model, precision=args.precision)
    utts = read_manifest(args.data)[: args.limit or None]
    refs, unit = {u.id: u.text or "" for u in utts}, tr.recogniser.symbols.unit
    print(f"{args.model} on {args.data}: {len(utts)} utterances, {torch.get_num_threads()} threads, {args.precision}")
    print(f"| run | %{'PER' if unit == 'phone' else 'CER'} | wait ms mean / max | compute ms per piece mean / max / "
          "after end | RTF |\n|---|---|---|---|---|")
    if args.whole:
        hyps, timing = whole(tr, utts)
        print(row("whole utterance", refs, hyps, unit, timing), flush=True)
    for w in args.window or [(None, None)]:
        hyps, timing, piece_ms, warning = streamed(tr, utts, w)
        nc, nr, _, _ = stream_window(tr.cfg, *w)
        name = f"stream, chunk {piece_ms:g} ms" + (f", right {nr * piece_ms / max(nc, 1):g} ms" if nc else "")
        print(row(name + (" (not LC-trained)" if "whole utterances" in warning else ""), refs, hyps, unit, timing),
              flush=True)


if __name__ == "__main__":
    main()
