#!/usr/bin/env python
"""Training-step time of recog models in float32 and under bf16 autocast (``train.amp``).

One step = forward, CTC loss, backward, Adam update, on a batch of random features the shape of
a real batch (16 lines; a Hooker line is about 970 px wide at 128 px, so 485 columns at 64 px;
a TIMIT utterance about 300 frames of 123 fbank+Δ+ΔΔ values).  Each model config is timed in
both precisions in the same run; ``ratio`` is fp32 time over bf16 time (above 1: bf16 faster).
Without hardware bf16 (AVX512-BF16 / AMX on x86) autocast is emulated and usually slower.

    python benchmarks/train_step.py                 # all rows, torch's default thread count
    python benchmarks/train_step.py --threads 2 --steps 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from recog.config import Config
from recog.features import feature_dim
from recog.models import build_model

ROOT = Path(__file__).resolve().parents[1]
ROWS = {
    # name: (recipe config, batch, frames)
    "hooker 64 px (conf/bilstm)": ("recipes/hooker/conf/bilstm.yaml", 16, 485),
    "hooker 128 px (conf/bilstm128)": ("recipes/hooker/conf/bilstm128.yaml", 16, 970),
    "timit fbank (conf/graves_3l)": ("recipes/timit/conf/graves_3l.yaml", 16, 300),
}


def step_time(conf: str, batch: int, frames: int, amp: bool, steps: int) -> float:
    cfg = Config.load(ROOT / conf)
    torch.manual_seed(0)
    model = build_model(cfg, 80)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, frames, feature_dim(cfg.features))
    lens = torch.full((batch,), frames)
    labels = torch.randint(1, 80, (batch, 20))
    times = []
    for _ in range(steps + 1):  # the first step warms up allocators and kernels
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            logp, out_lens = model(x, lens)
        loss = F.ctc_loss(logp.transpose(0, 1), labels, out_lens, torch.full((batch,), 20))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    ap.add_argument("--steps", type=int, default=4, help="timed steps per cell (the fastest is reported)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch of 16, best of {args.steps} steps")
    print(f"| model | fp32 s/step | bf16 s/step | ratio |\n|---|---|---|---|")
    for name, (conf, batch, frames) in ROWS.items():
        fp32 = step_time(conf, batch, frames, False, args.steps)
        bf16 = step_time(conf, batch, frames, True, args.steps)
        print(f"| {name} | {fp32:.3f} | {bf16:.3f} | {fp32 / bf16:.2f} |", flush=True)


if __name__ == "__main__":
    main()
