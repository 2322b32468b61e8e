#!/usr/bin/env python
"""End-to-end transcription speed of the shipped models, per engine, precision and thread count.

For each set (the Hooker handwriting model on line images, the English phone model on audio
files) and each row — torch fp32, torch bf16, ONNX Runtime fp32, ONNX Runtime int8 — at 1 and 2
threads, side by side in one run, it transcribes the inputs as ``recog transcribe`` does (greedy,
``Transcriber.transcribe_files``: windows of inputs, batches of ``--batch-size`` sorted by length,
text output) and prints lines/s and frames/s end to end; then it does the same work again with
each stage timed on its own:

* ``load+feat``: reading each file and computing the model's features (+ CMVN);
* ``model``: the network on the padded batch (``Transcriber.outputs``: collate, forward);
* ``decode``: greedy CTC decoding of the batch's log-probs;
* ``write``: the ``<id> <text>`` lines, written to a file as the CLI writes them;

and, with ``--ref`` (Kaldi text files; repeatable, ids matched across them), each row's error
rate (CER for the character model, PER for the phone model).  Frames are input feature frames:
image columns at the model's line height, or 10 ms audio frames.  A stage's rate is lines (or
frames) over that stage's own seconds.  Each row warms up on one batch first; with ``--passes P``
the fastest of P timed passes is kept.  The ONNX files are exported before timing starts
(``recog export``; ``--onnx-dir`` keeps and reuses them).  The machine should be otherwise idle.

    python benchmarks/transcribe.py --limit 10                     # the bundled samples, a quick look
    python benchmarks/transcribe.py --images LINES/ --audio CLIPS/ --ref LINES/text --ref CLIPS/text \
        --threads 1 2 --passes 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from recog.commands import _print_results
from recog.data import Example
from recog.decode import greedy_batch
from recog.infer import Transcriber, collect_inputs, input_ids
from recog.manifest import read_text
from recog.metrics import score
from recog.precision import cpu_has_bf16

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "pretrained" / "samples"
ROWS = ["torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8"]
STAGES = ["load+feat", "model", "decode", "write"]


def run_row(tr: Transcriber, paths: list[Path], ids: list[str], batch: int, out_file: Path) -> dict:
    """One timed pass.  End to end: what ``recog transcribe`` does (``Transcriber.transcribe_files``,
    then the ``<id> <text>`` lines into a file).  Then the same work again, stage by stage, in the
    same windows and length-sorted batches (``Transcriber.transcribe_items``), each stage timed
    on its own.  Returns the end-to-end seconds, stage seconds, input frames, hypotheses."""
    t0 = time.perf_counter()
    results, _ = tr.transcribe_files(paths, ids=ids)
    with open(out_file, "w", encoding="utf-8") as out:
        _print_results(results, tr.recogniser.symbols, "text", out)
    e2e = time.perf_counter() - t0
    hyps = {uid: tr.recogniser.symbols.decode(h.tokens) for uid, h, _, _ in results}

    secs = dict.fromkeys(STAGES, 0.0)
    frames = 0
    window = batch * tr.WINDOW_BATCHES
    with open(out_file, "w", encoding="utf-8") as out:
        for w in range(0, len(paths), window):
            t0 = time.perf_counter()
            exs = [Example(uid, tr.features(p), [], "") for uid, p in zip(ids[w : w + window], paths[w : w + window])]
            exs.sort(key=lambda e: e.feats.shape[0])
            secs["load+feat"] += time.perf_counter() - t0
            frames += sum(int(e.feats.shape[0]) for e in exs)
            for i in range(0, len(exs), batch):
                t1 = time.perf_counter()
                logp, lens = tr.outputs(exs[i : i + batch])
                logp, lens = logp.float().cpu(), lens.cpu()
                t2 = time.perf_counter()
                decoded = greedy_batch(logp, lens)
                t3 = time.perf_counter()
                _print_results([(e.id, h, tr.frame_shift, [h]) for e, h in zip(exs[i : i + batch], decoded)],
                               tr.recogniser.symbols, "text", out)
                t4 = time.perf_counter()
                for name, a, b in zip(STAGES[1:], (t1, t2, t3), (t2, t3, t4)):
                    secs[name] += b - a
    return {"e2e": e2e, "secs": secs, "frames": frames, "hyps": hyps}


def transcriber(model: Path, row: str, onnx: dict[str, Path], batch: int) -> Transcriber:
    engine, precision = row.split("-")
    if engine == "torch":
        return Transcriber(model, batch_size=batch, precision=precision)
    return Transcriber(onnx[precision], batch_size=batch, engine="onnx")


def export_models(name: str, model: Path, rows: list[str], onnx_dir: Path) -> dict[str, Path]:
    from recog.export import export_onnx, output_path

    files = {}
    for precision in ("fp32", "int8"):
        if f"onnx-{precision}" not in rows:
            continue
        dst = output_path(onnx_dir / name, precision == "int8")
        if not dst.exists():
            r = export_onnx(model, onnx_dir / name, int8=precision == "int8")
            print(f"# exported {r['onnx']}: {r['check']}", flush=True)
        files[precision] = dst
    return files


def fmt_rate(n: float, s: float) -> str:
    if s <= 0:
        return "-"
    return f"{n / s:.1f}" if n / s < 100 else f"{n / s:.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--images", nargs="*", default=[str(SAMPLES / "hooker")], help="line images or folders")
    ap.add_argument("--image-model", default=str(ROOT / "pretrained" / "hooker"))
    ap.add_argument("--audio", nargs="*", default=[str(SAMPLES / "ljspeech"), str(SAMPLES / "fsdd")],
                    help="audio files or folders")
    ap.add_argument("--audio-model", default=str(ROOT / "pretrained" / "english_phones"))
    ap.add_argument("--ref", action="append", default=[], help="Kaldi text of references (repeatable)")
    ap.add_argument("--repeat", type=int, default=1, help="go through each set's inputs this many times per pass "
                    "(repeats get ids <id>~<k>)")
    ap.add_argument("--limit", type=int, default=0, help="at most N inputs per set and pass (after --repeat)")
    ap.add_argument("--rows", nargs="+", default=ROWS, choices=ROWS)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--passes", type=int, default=1, help="timed passes per row; the fastest is kept")
    ap.add_argument("--onnx-dir", help="where the exported ONNX files are kept (default: a temporary folder)")
    args = ap.parse_args(argv)

    refs: dict[str, str] = {}
    for r in args.ref:
        refs.update(read_text(r))
    rows, ort_version = list(args.rows), "-"
    if any(r.startswith("onnx") for r in rows):
        try:
            import onnxruntime

            ort_version = onnxruntime.__version__
        except ImportError:
            print("# onnxruntime is not installed (pip install 'recog[onnx]'): the onnx rows are left out")
            rows = [r for r in rows if not r.startswith("onnx")]
    tmp = tempfile.TemporaryDirectory(prefix="recog-bench-")
    onnx_dir = Path(args.onnx_dir) if args.onnx_dir else Path(tmp.name) / "onnx"

    print(f"# torch {torch.__version__}, onnxruntime {ort_version}, "
          f"{os.cpu_count()} cores, bf16 hardware: {'yes' if cpu_has_bf16() else 'no (torch bf16 is emulated)'}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, batch {args.batch_size}, "
          f"best of {args.passes} pass(es)")
    print("| set | row | threads | lines | frames | e2e lines/s | e2e frames/s | "
          + " | ".join(f"{s} lines/s | {s} frames/s" for s in STAGES) + " | error rate |")
    print("|" + "---|" * (8 + 2 * len(STAGES)))
    sets = [("hooker", Path(args.image_model), args.images, "image"), ("phones", Path(args.audio_model), args.audio, "audio")]
    for name, model, inputs, modality in sets:
        if not inputs:
            continue
        paths, errors = collect_inputs(inputs, None, modality)
        for e in errors:
            print(f"# {e}", file=sys.stderr)
        if not paths:
            continue
        base_ids = input_ids(paths, inputs)
        ids = [uid if k == 0 else f"{uid}~{k}" for k in range(args.repeat) for uid in base_ids]
        paths = paths * args.repeat
        if args.limit:
            paths, ids = paths[: args.limit], ids[: args.limit]
        onnx = export_models(name, model, rows, onnx_dir)
        for threads in args.threads:
            torch.set_num_threads(threads)
            for row in rows:
                tr = transcriber(model, row, onnx, args.batch_size)  # ONNX sessions take torch's thread count
                run_row(tr, paths[: args.batch_size], ids[: args.batch_size], args.batch_size, Path(tmp.name) / "w")
                best = min((run_row(tr, paths, ids, args.batch_size, Path(tmp.name) / "out.txt")
                            for _ in range(args.passes)), key=lambda r: r["e2e"])
                n, frames, secs, total = len(paths), best["frames"], best["secs"], best["e2e"]
                er = "-"
                scored = {uid: refs[uid.split("~")[0]] for uid in best["hyps"] if uid.split("~")[0] in refs}
                if scored:
                    unit = tr.recogniser.symbols.unit
                    er = f"{'CER' if unit == 'char' else 'PER'} {score(scored, best['hyps'], unit).error_rate:.2f}"
                stage_cols = " | ".join(f"{fmt_rate(n, secs[s])} | {fmt_rate(frames, secs[s])}" for s in STAGES)
                print(f"| {name} | {row} | {threads} | {n} | {frames} | {fmt_rate(n, total)} | {fmt_rate(frames, total)} | "
                      f"{stage_cols} | {er} |", flush=True)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
