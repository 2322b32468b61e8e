#!/usr/bin/env python
"""How to run a hand-written LSTM (the peephole LSTM of models/lstm_variants.py) fast on a CPU.

One step = forward and backward of one unidirectional layer on a batch (the seqMNIST shape by
default: 128 sequences of 28 frames of 28 values, 128 units), timed for each way of running its
time loop, against torch's fused ``nn.LSTM`` (no peepholes) in the same run:

* ``fused nn.LSTM``: torch's kernel (oneDNN), the yardstick;
* ``eager loop``: the step in Python, autograd recording every operation (the peephole cell as it
  was written before): input projection of all steps in one matmul before the loop, already;
* ``script fwd + autograd``: the same loop compiled by ``torch.jit.script``, autograd through it;
* ``... + NNC fusion``: the same with TorchScript's CPU fuser switched on;
* ``compile``: ``torch.compile`` of the eager loop (unrolled over the T steps: one graph per length);
* ``compile (step)``: ``torch.compile`` of the elementwise step only, the loop and matmuls eager;
* ``manual bwd, python``: models/lstm_kernel.py's autograd.Function (hand-written BPTT: one matmul
  per step each way, weight gradients as one matmul after the loop) with Python loops;
* ``manual bwd, script``: the same loops in TorchScript: what recog runs.

Times are the median of ``--steps`` steps after warm-up; on a busy machine compare rows of one run
only.

    OMP_NUM_THREADS=1 python benchmarks/lstm_cells.py [--batch 128 --frames 28 --dim 28 --hidden 128]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from recog.models import lstm_kernel
from recog.models.lstm_variants import VariantLSTM


def eager_loop(cell: VariantLSTM, x: torch.Tensor) -> torch.Tensor:
    """The vanilla peephole LSTM step by step with autograd (the former ``PeepholeLSTM.forward``)."""
    B, T, _ = x.shape
    H = cell.hidden_size
    proj = torch.addmm(cell.bias, x.reshape(B * T, -1), cell.weight_ih.T).view(B, T, 4 * H)
    h = c = x.new_zeros(B, H)
    outs = []
    for t in range(T):
        z = proj[:, t] + h @ cell.weight_hh.T
        i = torch.sigmoid(z[:, :H] + cell.peep_i * c)
        f = torch.sigmoid(z[:, H : 2 * H] + cell.peep_f * c)
        g = torch.tanh(z[:, 2 * H : 3 * H])
        c = f * c + i * g
        o = torch.sigmoid(z[:, 3 * H :] + cell.peep_o * c)
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1)


def _peephole_step(z, c, p_i, p_f, p_o):
    """One step after the recurrent matmul: z = W x_t + b + U h_{t−1} (B, 4H) -> h_t, c_t."""
    H = c.shape[1]
    i = torch.sigmoid(z[:, :H] + p_i * c)
    f = torch.sigmoid(z[:, H : 2 * H] + p_f * c)
    g = torch.tanh(z[:, 2 * H : 3 * H])
    c = f * c + i * g
    o = torch.sigmoid(z[:, 3 * H :] + p_o * c)
    return o * torch.tanh(c), c


_compiled_step = None


def compiled_step_loop(cell: VariantLSTM, x: torch.Tensor) -> torch.Tensor:
    """The eager loop with its elementwise step compiled by ``torch.compile`` (one fused kernel
    forward and one backward per step; the loop and the matmuls stay eager: any length)."""
    global _compiled_step
    if _compiled_step is None:
        _compiled_step = torch.compile(_peephole_step, dynamic=False)
    B, T, _ = x.shape
    H = cell.hidden_size
    proj = torch.addmm(cell.bias, x.reshape(B * T, -1), cell.weight_ih.T).view(B, T, 4 * H)
    h = c = x.new_zeros(B, H)
    outs = []
    for t in range(T):
        h, c = _compiled_step(torch.addmm(proj[:, t], h, cell.weight_hh.T), c, cell.peep_i, cell.peep_f, cell.peep_o)
        outs.append(h)
    return torch.stack(outs, 1)


def _loop(xp: torch.Tensor, w_hh: torch.Tensor, p_i: torch.Tensor, p_f: torch.Tensor, p_o: torch.Tensor
          ) -> torch.Tensor:
    """The eager loop's steps over a time-major projection xp (T, B, 4H), for TorchScript."""
    T, B = xp.shape[0], xp.shape[1]
    H = w_hh.shape[1]
    h = xp.new_zeros(B, H)
    c = xp.new_zeros(B, H)
    outs = []
    for t in range(T):
        z = torch.addmm(xp[t], h, w_hh.t())
        i = torch.sigmoid(z[:, :H] + p_i * c)
        f = torch.sigmoid(z[:, H : 2 * H] + p_f * c)
        g = torch.tanh(z[:, 2 * H : 3 * H])
        c = f * c + i * g
        o = torch.sigmoid(z[:, 3 * H :] + p_o * c)
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1)


_scripted_loop = None


def scripted_autograd(cell: VariantLSTM, x: torch.Tensor) -> torch.Tensor:
    """The loop compiled by ``torch.jit.script``, differentiated by autograd (no hand-written backward)."""
    global _scripted_loop
    if _scripted_loop is None:
        _scripted_loop = lstm_kernel._script(_loop)
    B, T, D = x.shape
    xp = torch.addmm(cell.bias, x.transpose(0, 1).reshape(T * B, D), cell.weight_ih.T).view(T, B, -1)
    return _scripted_loop(xp, cell.weight_hh, cell.peep_i, cell.peep_f, cell.peep_o)


def manual_python(cell: VariantLSTM, x: torch.Tensor) -> torch.Tensor:
    """The hand-written backward with the loops left in Python."""
    saved = lstm_kernel._forward, lstm_kernel._backward
    lstm_kernel._forward, lstm_kernel._backward = lstm_kernel._forward_py, lstm_kernel._backward_py
    try:
        return cell(x)[0]
    finally:
        lstm_kernel._forward, lstm_kernel._backward = saved


def time_steps(fn, x: torch.Tensor, steps: int, warmup: int = 3) -> float:
    """Median ms of forward + backward of ``fn(x)``."""
    times = []
    for k in range(warmup + steps):
        t0 = time.perf_counter()
        fn(x).square().mean().backward()
        if k >= warmup:
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--frames", type=int, default=28)
    ap.add_argument("--dim", type=int, default=28)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip", default="", help="comma-separated beginnings of row names to leave out (e.g. compile)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.frames, args.dim)
    cell = VariantLSTM(args.dim, args.hidden, "peephole_lstm")
    fused = nn.LSTM(args.dim, args.hidden, batch_first=True)
    fgr = VariantLSTM(args.dim, args.hidden, "lstm_fgr")
    rows = {
        "fused nn.LSTM": lambda v: fused(v)[0],
        "eager loop": lambda v: eager_loop(cell, v),
        "script fwd + autograd": lambda v: scripted_autograd(cell, v),
        "script fwd + autograd + NNC fusion": "nnc",
        "compile (eager loop)": "compile",
        "compile (step; loop eager)": "compile_step",
        "manual bwd, python loops": lambda v: manual_python(cell, v),
        "manual bwd, script loops (recog)": lambda v: cell(v)[0],
        "manual bwd, script loops, lstm_fgr": lambda v: fgr(v)[0],
    }
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    print(f"B={args.batch} T={args.frames} D={args.dim} H={args.hidden}, {args.threads} thread(s), "
          f"torch {torch.__version__}")
    base = None
    for name, fn in rows.items():
        if any(name.startswith(s) for s in skip):
            continue
        if fn == "nnc":
            torch._C._jit_override_can_fuse_on_cpu(True)
            try:
                ms = time_steps(lambda v: scripted_autograd(cell, v), x, args.steps)
            finally:
                torch._C._jit_override_can_fuse_on_cpu(False)
        elif fn in ("compile", "compile_step"):
            try:
                t0 = time.perf_counter()
                compiled = (torch.compile(lambda v: eager_loop(cell, v)) if fn == "compile"
                            else lambda v: compiled_step_loop(cell, v))
                compiled(x).square().mean().backward()
                print(f"  (compile: first call {time.perf_counter() - t0:.1f} s)")
                ms = time_steps(compiled, x, args.steps)
            except Exception as e:  # no compiler, or inductor fails on this machine
                print(f"{name:40s} failed: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
                continue
        else:
            ms = time_steps(fn, x, args.steps)
        base = base or ms
        print(f"{name:40s} {ms:8.2f} ms/step  {1000 * ms / args.frames:8.1f} µs/frame  {ms / base:5.2f}x fused")


if __name__ == "__main__":
    main()
