"""Checkpoints and packaged models.

A *packaged model* is a plain dict of tensors, strings and numbers — config, symbol table,
feature settings, CMVN statistics and weights — that loads with ``torch.load(weights_only=True)``.
A training checkpoint is the same dict plus ``train_state`` (optimizer, scheduler, counters, RNG).
Files are written atomically: to a temporary name, then renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .config import Config
from .features.cmvn import CMVN, normaliser
from .models import CTCModel, build_model
from .tokens import SymbolTable

FORMAT = "recog-model-1"


def atomic_save(obj, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def model_dict(model: CTCModel, cfg: Config, symbols: SymbolTable, cmvn: CMVN | None, meta: dict | None = None) -> dict:
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return {
        "format": FORMAT,
        "config": cfg.to_dict(),
        "symbols": list(symbols.symbols),
        "unit": symbols.unit,
        "cmvn": cmvn.state() if cmvn is not None else None,  # None for per-utterance CMVN
        "state_dict": state,
        "meta": meta or {},
    }


def load_file(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in ("model.pt", "best.pt", "last.pt") if (path / n).is_file()]
        if not found:
            onnx = " (it holds an exported ONNX model: use --engine onnx)" if any(path.glob("*.onnx")) else ""
            raise ValueError(f"{path}: not a recog model: the folder holds no model.pt, best.pt or last.pt{onnx}")
        path = found[0]
    if not path.exists():
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        # weights_only: a pickle that would construct or call anything is refused, never run
        d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds on foreign or corrupt files
        raise ValueError(f"{path}: not a recog model: {_why_not_loadable(path, e)}") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"{path}: not a recog model: a PyTorch file without the {FORMAT} format tag ({got!r})")
    return d


def _why_not_loadable(path: Path, e: Exception) -> str:
    """One line on what the file is instead, from its first bytes and torch's error."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head.lstrip().startswith(b"\\data\\"):
        return "an ARPA language model (pass it with --lm)"
    if path.suffix == ".onnx":
        return "an exported ONNX model (run it with --engine onnx)"
    if head[:2] == b"\x1f\x8b":
        return "a gzip file (a compressed ARPA LM? pass it with --lm)"
    if type(e).__name__ == "UnpicklingError" and "weights_only" in str(e).lower():
        return "a pickle holding more than plain weights (refused without running it)"
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return f"a damaged or foreign PyTorch/pickle file ({type(e).__name__})"
    return "not a PyTorch file" + (" (it is text)" if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head) else "")


def keep_epoch_weights(exp: str | Path, epoch: int, keep: int) -> Path:
    """Copy ``exp/last.pt``, just written at the end of ``epoch``, to ``exp/epoch<epoch>.pt`` without
    its training state, and delete the epoch files older than the last ``keep``: the inputs of
    ``recog package --average``."""
    exp = Path(exp)
    d = load_file(exp / "last.pt")
    d.pop("train_state", None)
    dst = exp / f"epoch{epoch}.pt"
    atomic_save(d, dst)
    for p in exp.glob("epoch*.pt"):
        n = p.stem[len("epoch"):]
        if n.isdigit() and int(n) <= epoch - keep:
            p.unlink()
    return dst


class LoadedModel:
    """A model ready for inference: config, symbols, CMVN and the network in eval mode."""

    def __init__(self, d: dict):
        self.cfg = Config.from_dict(d["config"])
        self.symbols = SymbolTable(d["symbols"], d["unit"])
        self.cmvn = normaliser(self.cfg.features.cmvn, d.get("cmvn"), self.cfg.features.cmvn_prior)
        # outputs: the symbols (blank included), or a regression model's target values
        self.model = build_model(self.cfg, int(d["state_dict"]["output.weight"].shape[0]))
        self.model.load_state_dict(d["state_dict"])
        self.model.eval()
        self.meta = d.get("meta", {})


def load_model(path: str | Path) -> LoadedModel:
    return LoadedModel(load_file(path))


def package(src: str | Path, dst: str | Path, meta: dict | None = None, average: list[str | Path] | None = None) -> Path:
    """Strip a checkpoint to an inference-only model file ``dst`` (a directory gets model.pt).
    ``average``: further checkpoints whose weights are averaged with ``src``'s."""
    d = load_file(src)
    out = {k: v for k, v in d.items() if k != "train_state"}
    if average:
        states = [d["state_dict"]] + [load_file(p)["state_dict"] for p in average]
        out["state_dict"] = {
            k: (sum(s[k].double() for s in states) / len(states)).to(v.dtype) if v.is_floating_point() else v
            for k, v in d["state_dict"].items()
        }
    out["meta"] = {**d.get("meta", {}), **(meta or {})}
    dst = Path(dst)
    if dst.suffix != ".pt":
        dst = dst / "model.pt"
    atomic_save(out, dst)
    return dst
