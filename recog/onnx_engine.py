"""An exported model run by ONNX Runtime (``--engine onnx``, ``recog.load(path, engine="onnx")``).

``recog export --format onnx`` (:mod:`recog.export`) writes two files side by side:

* ``<name>.onnx``: the network.  Inputs ``features`` (B, T, D) float32, right-padded, and
  ``lengths`` (B,) int64; outputs ``log_probs`` (B, T', V) float32 (for a label model (B, C); a
  regression model's values are named ``outputs``) and ``output_lengths`` (B,) int64; batch and
  lengths are dynamic.  Padding frames never change a valid frame's output, whatever they hold.
* ``<name>.json``: everything else inference needs, the packaged model minus its weights:
  ``format`` ("recog-onnx-1"), ``config`` (feature settings, model and data options),
  ``symbols`` and ``unit`` (the symbol table, blank first), ``cmvn`` (global mean and std as
  lists, or null), ``num_outputs``, ``precision`` (fp32 or int8), ``meta``, and what it was
  exported from (``source``, ``opset``, ``torch``, ``check``).

Loading gives the same attributes as :class:`recog.checkpoint.LoadedModel` (cfg, symbols, cmvn,
model, meta), so ``recog.infer.Transcriber`` runs either engine; the ``model`` here takes and
returns torch tensors (on the CPU) and has the network's ``output_lengths``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import torch

from .config import Config
from .features.cmvn import CMVN, normaliser
from .models import build_model
from .models.rnn import align
from .tokens import SymbolTable

FORMAT = "recog-onnx-1"
PIP = "pip install 'recog[onnx]' (onnx and onnxruntime)"


class MissingONNX(ValueError):
    """onnx or onnxruntime is not installed (the message is one line saying what to install)."""


def require(module: str, what: str):
    """Import ``module`` (onnx, onnxruntime, onnxruntime.quantization) or say in one line how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingONNX(f"{what} needs {module.split('.')[0]}, which is not installed: {PIP}") from None


def sidecar_path(onnx_path: str | Path) -> Path:
    return Path(onnx_path).with_suffix(".json")


def find_onnx(path: str | Path) -> Path:
    """The .onnx file of ``path``: the file itself, the .onnx beside a .json sidecar, or a folder's
    ``model.onnx`` (else ``model.int8.onnx``)."""
    p = Path(path)
    if p.is_dir():
        for name in ("model.onnx", "model.int8.onnx"):
            if (p / name).is_file():
                return p / name
        hint = " (it holds a PyTorch model: export it with recog export --format onnx)" if any(
            (p / n).is_file() for n in ("model.pt", "best.pt", "last.pt")) else ""
        raise ValueError(f"{p}: no model.onnx or model.int8.onnx in the folder{hint}")
    if p.suffix == ".json":
        p = p.with_suffix(".onnx")
    if not p.exists():
        raise FileNotFoundError(f"{p}: model file not found")
    if p.suffix == ".pt":
        raise ValueError(f"{p}: a PyTorch model; run it with --engine torch, or export it first "
                         "(recog export --format onnx)")
    return p


def read_sidecar(onnx_path: Path) -> dict:
    side = sidecar_path(onnx_path)
    try:
        d = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{onnx_path}: its settings file {side.name} is missing beside it "
                         "(recog export writes both)") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{side}: not a recog ONNX settings file ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"{side}: not a recog ONNX settings file (no {FORMAT} format tag)")
    return d


class OnnxNetwork:
    """The exported network in an ONNX Runtime session, called like ``CTCModel``:
    ``net(features, lengths, padding) -> (outputs, output_lengths)``."""

    def __init__(self, path: Path, shape_model: torch.nn.Module, device: str = "cpu", threads: int | None = None):
        ort = require("onnxruntime", "the ONNX engine")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as e:  # noqa: BLE001 - ORT raises its own error types for unreadable models
            raise ValueError(f"{path}: ONNX Runtime cannot load it ({str(e).splitlines()[0][:200]})") from None
        self.output_lengths = shape_model.output_lengths
        self.input_dim = self.session.get_inputs()[0].shape[-1]

    def to(self, device):
        return self

    def eval(self):
        return self

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor, padding: str = "right"):
        if padding == "left":  # the graph reads right-padded batches; outputs are valid-frames-first anyway
            x = align(x, lengths, "right")
        feed = {"features": np.ascontiguousarray(x.detach().float().cpu().numpy()),
                "lengths": lengths.detach().cpu().long().numpy()}
        out, out_lengths = self.session.run(None, feed)
        return torch.from_numpy(out), torch.from_numpy(out_lengths)


class LoadedOnnx:
    """An exported model ready for inference: config, symbols, CMVN and the ONNX network."""

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None):
        require("onnxruntime", "the ONNX engine")  # before anything else: the one thing to fix
        self.path = find_onnx(path)
        d = read_sidecar(self.path)
        self.cfg = Config.from_dict(d["config"])
        self.symbols = SymbolTable(d["symbols"], d["unit"])
        stats = d.get("cmvn")
        self.cmvn = normaliser(self.cfg.features.cmvn, {k: np.asarray(v, dtype=np.float32) for k, v in stats.items()}
                               if stats else None, self.cfg.features.cmvn_prior)
        self.meta = d.get("meta", {})
        self.precision = d.get("precision", "fp32")
        # the torch network's shape arithmetic (output lengths); its weights are never used
        self.model = OnnxNetwork(self.path, build_model(self.cfg, int(d["num_outputs"])), device, threads)


def load_onnx(path: str | Path, device: str = "cpu", threads: int | None = None) -> LoadedOnnx:
    return LoadedOnnx(path, device, threads)


def cmvn_json(cmvn) -> dict | None:
    """Global CMVN statistics as JSON lists (float32 values round-trip exactly)."""
    if not isinstance(cmvn, CMVN):
        return None
    return {"mean": [float(v) for v in cmvn.mean], "std": [float(v) for v in cmvn.std]}
