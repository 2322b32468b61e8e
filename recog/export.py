"""``recog export --format onnx``: a packaged model as an ONNX network plus its settings file.

The network is traced by torch's TorchScript-based ONNX exporter (``torch.onnx.export(...,
dynamo=False)``, opset 17) with dynamic batch and length; what it computes is ``CTCModel.forward``
on a right-padded batch, the backward directions' within-length reversal included (a gather by
indices computed from ``lengths``, so one graph serves every batch and padding).  Two parts are
swapped for export-friendly equivalents that compute the same numbers: frame stacking
(``unfold``, which the exporter cannot size dynamically, becomes ``k`` shifted slices
concatenated), and ``data.sequence_length: N`` (a unidirectional encoder's chunked run equals the
unchunked one, which is exported; a bidirectional chunked model is refused, as are peephole LSTMs
and latency-controlled BLSTMs (``model.chunk``), whose Python loops would be traced at one length).  (torch's newer dynamo exporter traces this
model too, but its graph fails at run time on other lengths than the example's.)

``--int8``: ONNX Runtime's dynamic quantisation (``quant_pre_process``, then ``quantize_dynamic``:
int8 weights, activations quantised per batch at run time) of the fp32 graph's LSTM, GRU, RNN
and MatMul/Gemm nodes, which hold nearly all weights and arithmetic; the convolutional front end
stays fp32 (quantising it too doubled the frames whose best symbol changed, 0.6 % against 0.3 %,
with the shipped Hooker model on the 12 Hooker and synthetic IAM sample lines).  After writing, the file is run on a random
padded batch of three lengths against PyTorch and the largest difference of valid outputs is
reported (and kept in the settings file, ``check``).
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .checkpoint import LoadedModel, load_file
from .features import feature_dim
from .models.frontends import StackFrontend
from .onnx_engine import FORMAT, cmvn_json, load_onnx, require, sidecar_path

OPSET = 17


class _Stack(StackFrontend):
    """Frame stacking as ``stack`` shifted slices concatenated, then every ``subsample``-th frame:
    the numbers of ``unfold`` (windows from frame 0, frames in order within a window)."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.stack
        n = x.shape[1] - k + 1
        y = torch.cat([x[:, j : j + n] for j in range(k)], dim=-1)
        return y[:, :: self.subsample], self.output_lengths(lengths)


class _Graph(nn.Module):
    """What the ONNX graph computes: (features, lengths) -> (outputs, output lengths), right-padded."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor, lengths: torch.Tensor):
        return self.net(features, lengths, "right")


def exportable(loaded: LoadedModel) -> nn.Module:
    """A copy of the network that traces to the same numbers at every batch size and length."""
    cfg, net = loaded.cfg, copy.deepcopy(loaded.model).eval()
    if cfg.model.cell not in ("lstm", "gru", "rnn"):
        raise ValueError(f"model.cell={cfg.model.cell} cannot be exported to ONNX yet (its time loop is TorchScript "
                         "with a hand-written backward, models/lstm_kernel.py)")
    if getattr(net, "lc_chunk", 0):  # its chunk loop is Python, and would be traced at one length
        raise ValueError("a latency-controlled BLSTM (model.chunk) cannot be exported to ONNX yet")
    if net.chunk:
        if cfg.model.bidirectional:
            raise ValueError(f"a bidirectional model run in chunks (data.sequence_length={net.chunk}) cannot be "
                             "exported to ONNX: each chunk's backward direction depends on where chunks are cut")
        net.chunk = 0  # unidirectional: state carried across chunks = the unchunked run
    f = net.frontend
    if isinstance(f, StackFrontend) and (f.stack > 1 or f.subsample > 1):
        net.frontend = _Stack(f.output_size // f.stack, f.stack, f.subsample)
    return net


def output_path(out: str | Path, int8: bool) -> Path:
    """``out`` itself if it names a .onnx file, else ``out/model.onnx`` (``model.int8.onnx``)."""
    out = Path(out)
    return out if out.suffix == ".onnx" else out / ("model.int8.onnx" if int8 else "model.onnx")


def _example(loaded: LoadedModel, lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), feature_dim(loaded.cfg.features), generator=g)
    lens = torch.tensor(lengths)
    x[torch.arange(x.shape[1]).unsqueeze(0) >= lens.unsqueeze(1)] = 0.0
    return x, lens


def compare(loaded: LoadedModel, onnx_path: Path, lengths: list[int] = (96, 67, 31)) -> dict:
    """Run the ONNX file and the PyTorch model on one random right-padded batch: the largest
    absolute difference of valid outputs (and, for log-probs, of posteriors), and the share of
    valid frames (or sequences) whose best class agrees."""
    x, lens = _example(loaded, list(lengths), seed=1)
    with torch.no_grad():
        ref, ref_lens = loaded.model(x, lens)
    got, got_lens = load_onnx(onnx_path).model(x, lens)
    if not torch.equal(ref_lens.cpu(), got_lens.long()):
        raise RuntimeError(f"{onnx_path}: output lengths {got_lens.tolist()} differ from PyTorch's {ref_lens.tolist()}")
    if ref.dim() == 3:
        pairs = [(ref[i, : ref_lens[i]], got[i, : ref_lens[i]]) for i in range(len(lengths))]
        ref, got = torch.cat([a for a, _ in pairs]), torch.cat([b for _, b in pairs])
    d = (ref - got).abs()
    d[ref == got] = 0.0  # a class that is never output: -inf in both
    res = {"batch_lengths": list(lengths), "max_abs_diff": float(d.max()) if d.numel() else 0.0}
    if loaded.cfg.model.output != "regression" and ref.numel():
        res["argmax_agreement"] = float((ref.argmax(-1) == got.argmax(-1)).float().mean())
        res["max_posterior_diff"] = float((ref.exp() - got.exp()).abs().max())
    return res


def _quantize(quant, path: Path) -> None:
    """Dynamic int8 quantisation of the ONNX file ``path``, in place."""
    import logging

    pre, q = path.with_name(path.stem + ".pre.onnx"), path.with_name(path.stem + ".int8.onnx")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic's advice to pre-process, which is done here
    try:
        quant.quant_pre_process(str(path), str(pre))
        quant.quantize_dynamic(str(pre), str(q), weight_type=quant.QuantType.QInt8,
                               op_types_to_quantize=["LSTM", "GRU", "RNN", "MatMul", "Gemm"])
        os.replace(q, path)
    finally:
        root.setLevel(level)
        pre.unlink(missing_ok=True)
        q.unlink(missing_ok=True)


def export_onnx(model: str | Path, out: str | Path, int8: bool = False) -> dict:
    """Export the packaged model ``model`` to ``out`` (a .onnx file, or a folder for model.onnx /
    model.int8.onnx) and its settings file beside it; returns a summary (paths, check)."""
    require("onnx", "recog export --format onnx")
    if int8:
        quant = require("onnxruntime.quantization", "recog export --int8")
    else:
        require("onnxruntime", "recog export (checking the exported file)")
    d = load_file(model)
    loaded = LoadedModel(d)
    dst = output_path(out, int8)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.tmp{os.getpid()}.onnx")
    per_frame = loaded.model.per_frame
    out_name = "outputs" if loaded.cfg.model.output == "regression" else "log_probs"
    x, lens = _example(loaded, [64, 40])
    try:
        with warnings.catch_warnings():  # tracer and deprecation warnings, about code paths checked here
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Graph(exportable(loaded)), (x, lens), str(tmp), dynamo=False, opset_version=OPSET,
                input_names=["features", "lengths"], output_names=[out_name, "output_lengths"],
                dynamic_axes={"features": {0: "batch", 1: "frames"}, "lengths": {0: "batch"},
                              out_name: {0: "batch", 1: "out_frames"} if per_frame else {0: "batch"},
                              "output_lengths": {0: "batch"}})
            if int8:
                _quantize(quant, tmp)
        side = {"format": FORMAT, "onnx": dst.name, "precision": "int8" if int8 else "fp32",
                "config": d["config"], "symbols": d["symbols"], "unit": d["unit"], "cmvn": cmvn_json(loaded.cmvn),
                "num_outputs": int(d["state_dict"]["output.weight"].shape[0]), "meta": d.get("meta", {}),
                "source": str(model), "opset": OPSET, "torch": torch.__version__}
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    sidecar_path(dst).write_text(json.dumps(side, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    side["check"] = compare(loaded, dst)
    if not int8 and side["check"]["max_abs_diff"] > 1e-3:  # a trace that went wrong: never leave it to be used
        dst.unlink()
        sidecar_path(dst).unlink()
        raise ValueError(f"{model}: the ONNX graph differs from PyTorch by {side['check']['max_abs_diff']:.3g} on a "
                         "padded batch; not written (please report this model's config)")
    sidecar_path(dst).write_text(json.dumps(side, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return {"onnx": dst, "settings": sidecar_path(dst), "precision": side["precision"], "check": side["check"]}
