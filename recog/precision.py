"""Inference precision (``--precision fp32|bf16|auto``, ``recog.load(precision=)``).

``bf16`` runs the network's forward pass under bf16 autocast (matrix products, convolutions and
recurrent cells in bfloat16, accumulating in float32); the output layer's log-softmax stays in
float32 (:mod:`recog.models.heads`), so decoders always read float32 log-probabilities.
``auto`` picks bf16 where the hardware has bf16 arithmetic — a CUDA GPU that supports it, or an
x86 CPU with AVX512-BF16 or AMX — and fp32 elsewhere (emulated bf16 is slower than fp32).
``bf16`` given explicitly is honoured on any hardware.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

PRECISIONS = ("fp32", "bf16", "auto")


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic: AVX512-BF16 or AMX (torch's own probes, else the
    flags of /proc/cpuinfo)."""
    probes = [getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    probes = [p for p in probes if p is not None]
    if probes:
        try:
            return any(bool(p()) for p in probes)
        except Exception:  # noqa: BLE001 - a private probe that fails: ask the kernel instead
            pass
    return bool(cpuinfo_flags() & {"avx512_bf16", "amx_bf16"})


def cpuinfo_flags() -> set[str]:
    """The words of /proc/cpuinfo (its ``flags`` lines among them); empty where there is none."""
    try:
        return set(Path("/proc/cpuinfo").read_text(errors="replace").split())
    except OSError:
        return set()


def bf16_supported(device: str | torch.device) -> bool:
    """Whether ``device`` (cpu, cuda, cuda:N) computes in bf16 natively."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """``fp32`` or ``bf16`` for ``precision`` (fp32, bf16 or auto) on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: use fp32, bf16 or auto")
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision


def autocast(device: str | torch.device, precision: str):
    """The context a forward pass runs in: bf16 autocast for ``bf16``, nothing for ``fp32``."""
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
