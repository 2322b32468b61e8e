"""recog export --format onnx [--int8] and the ONNX Runtime engine (transcribe/decode --engine onnx,
recog.load(engine="onnx")), on tiny untrained image and speech models."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY, make_speech_model, render_line, write_noise_wav

import recog
from recog.checkpoint import atomic_save, model_dict
from recog.cli import main
from recog.config import Config
from recog.data import Example
from recog.infer import Transcriber
from recog.models import build_model
from recog.tokens import SymbolTable

AUDIO = ["features.modality=audio", "model.frontend=stack", "model.stack=3", "model.subsample=2", "model.hidden=16",
         "model.layers=2"]


def _save(path: Path, overrides: list[str], texts=("the cat sat on a mat",)) -> Path:
    cfg = Config.load(None, overrides)
    torch.manual_seed(0)
    symbols = SymbolTable.from_texts(list(texts), unit="char" if cfg.features.modality == "image" else "phone")
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), path)
    return path


def image_model(tmp_path: Path) -> Path:
    return _save(tmp_path / "image.pt", TINY)  # as tests/test_newcomer.py's `model` fixture


def speech_model(tmp_path: Path) -> Path:
    return make_speech_model(tmp_path / "speech.pt")


def inputs(tmp_path: Path, kind: str) -> list[Path]:
    """Three inputs of clearly different lengths (a padded batch)."""
    d = tmp_path / f"in_{kind}"
    d.mkdir()
    paths = []
    for i, (text, secs) in enumerate((("the cat sat on a mat", 1.3), ("a dog", 0.7), ("it", 0.35))):
        if kind == "image":
            render_line(text, seed=i).save(d / f"u{i}.png")
            paths.append(d / f"u{i}.png")
        else:
            write_noise_wav(d / f"u{i}.wav", secs, seed=i)
            paths.append(d / f"u{i}.wav")
    return paths


def export(model: Path, out: Path, int8: bool = False) -> Path:
    assert main(["export", "--model", str(model), "--format", "onnx", "--out", str(out)] + (["--int8"] if int8 else [])) == 0
    return out


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_onnx_fp32_matches_torch_on_a_padded_batch_and_int8_is_close(tmp_path, kind, capsys):
    pytest.importorskip("onnxruntime")
    model = image_model(tmp_path) if kind == "image" else speech_model(tmp_path)
    out = export(model, tmp_path / "onnx")
    export(model, tmp_path / "onnx", int8=True)
    printed = capsys.readouterr().out
    assert "model.onnx" in printed and "model.int8.onnx" in printed and "fp32" in printed and "int8" in printed
    side = json.loads((out / "model.json").read_text())
    assert side["format"] == "recog-onnx-1" and side["precision"] == "fp32" and "state_dict" not in side
    assert side["symbols"] == torch.load(model, weights_only=True)["symbols"] and side["check"]["max_abs_diff"] < 1e-4

    ref = Transcriber(model, precision="fp32")
    exs = [Example(p.stem, ref.features(p), [], "") for p in inputs(tmp_path, kind)]
    lengths = [int(e.feats.shape[0]) for e in exs]
    assert len(set(lengths)) == 3  # a padded batch: every sequence but the longest has padding
    want = ref.log_probs(exs)
    for onnx_file, tol in (("model.onnx", 1e-4), ("model.int8.onnx", None)):
        tr = Transcriber(out / onnx_file, engine="onnx")
        got = tr.log_probs(exs)  # one batch of 3
        alone = [tr.log_probs([e])[0] for e in exs]  # unpadded, one at a time
        for w, g, a in zip(want, got, alone):
            assert g.dtype == torch.float32 and g.shape == w.shape
            if tol:
                assert (g - w).abs().max() < tol
                assert torch.allclose(g, a, atol=1e-5)  # padding changes nothing
            else:  # int8 (activation scales are per batch): posteriors within 0.05 of fp32's, batched or
                # not, and at least 95% of frames keep their best symbol
                assert (a.exp() - w.exp()).abs().max() < 0.05
                assert (g.exp() - w.exp()).abs().max() < 0.05
                assert (g.argmax(1) == w.argmax(1)).float().mean() >= 0.95


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_transcribe_and_decode_with_the_onnx_engine_print_the_torch_text(tmp_path, kind, capsys):
    pytest.importorskip("onnxruntime")
    model = image_model(tmp_path) if kind == "image" else speech_model(tmp_path)
    out = export(model, tmp_path / "exported" / "m.onnx")
    assert (tmp_path / "exported" / "m.json").is_file()
    folder = inputs(tmp_path, kind)[0].parent
    capsys.readouterr()
    assert main(["transcribe", "--model", str(model), "--precision", "fp32", str(folder)]) == 0
    torch_text = capsys.readouterr().out
    assert main(["transcribe", "--engine", "onnx", "--model", str(out), str(folder)]) == 0
    assert capsys.readouterr().out == torch_text and len(torch_text.splitlines()) == 3
    manifest = tmp_path / "data" / "manifest.jsonl"
    manifest.parent.mkdir()
    manifest.write_text("".join(json.dumps({"id": p.stem, "path": str(p)}) + "\n" for p in sorted(folder.iterdir())))
    assert main(["decode", "--engine", "onnx", "--model", str(out), "--data", str(manifest)]) == 0
    assert capsys.readouterr().out == torch_text
    if kind == "image":  # the Python API: recog.load(engine="onnx")
        r = recog.load(out, engine="onnx").transcribe(sorted(folder.iterdir())[0])
        assert r.text == recog.load(model, precision="fp32").transcribe(sorted(folder.iterdir())[0]).text


@pytest.mark.parametrize("name,overrides", [
    ("gru, left padding with value 5", AUDIO + ["model.cell=gru", "data.padding_direction=left", "data.padding_value=5"]),
    ("unidirectional, run in chunks", AUDIO + ["model.bidirectional=false", "data.sequence_length=7"]),
    ("label, mean pooling", TINY + ["model.output=label", "model.pool=mean"]),
])
def test_other_cells_padding_and_outputs_export_exactly(tmp_path, name, overrides, capsys):
    pytest.importorskip("onnxruntime")
    model = _save(tmp_path / "m.pt", overrides)
    out = export(model, tmp_path / "onnx")
    kind = "image" if "image" in json.loads((out / "model.json").read_text())["config"]["features"]["modality"] else "audio"
    ref, tr = Transcriber(model, precision="fp32"), Transcriber(out, engine="onnx")
    exs = [Example(p.stem, ref.features(p), [], "") for p in inputs(tmp_path, kind)]
    a, la = ref.outputs(exs)
    b, lb = tr.outputs(exs)
    assert torch.equal(la, lb)
    if a.dim() == 3:
        a, b = (torch.cat([x[i, : la[i]] for i in range(3)]) for x in (a, b))
    assert torch.equal(a.isinf(), b.isinf()) and (a - b)[~a.isinf()].abs().max() < 1e-4  # a label model's blank: -inf


def test_export_refuses_what_it_cannot_trace_and_engines_name_the_right_file(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    bichunk = _save(tmp_path / "bichunk.pt", AUDIO + ["data.sequence_length=7"])
    assert main(["export", "--model", str(bichunk), "--out", str(tmp_path / "x")]) == 2
    assert "bidirectional model run in chunks" in capsys.readouterr().err
    peep = _save(tmp_path / "peep.pt", AUDIO + ["model.cell=peephole_lstm"])
    assert main(["export", "--model", str(peep), "--out", str(tmp_path / "x")]) == 2
    assert "peephole_lstm" in capsys.readouterr().err
    model = image_model(tmp_path)
    out = export(model, tmp_path / "onnx")
    png = inputs(tmp_path, "image")[0]
    capsys.readouterr()
    for argv, says in (
        (["--engine", "onnx", "--model", str(model)], "a PyTorch model; run it with --engine torch"),
        (["--model", str(out / "model.onnx")], "an exported ONNX model (run it with --engine onnx)"),
        (["--model", str(out)], "it holds an exported ONNX model: use --engine onnx"),
        (["--engine", "onnx", "--precision", "bf16", "--model", str(out)], "--precision bf16 is for the torch engine"),
    ):
        assert main(["transcribe", *argv, str(png)]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1
    (out / "model.json").unlink()
    assert main(["transcribe", "--engine", "onnx", "--model", str(out), str(png)]) == 2
    assert "model.json is missing" in capsys.readouterr().err


def test_missing_onnxruntime_or_onnx_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    png = tmp_path / "line.png"
    render_line("a cat").save(png)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    assert main(["transcribe", "--engine", "onnx", "--model", str(tmp_path), str(png)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs onnxruntime, which is not installed" in err and "recog[onnx]" in err
    with pytest.raises(recog.RecogError, match="needs onnxruntime"):
        recog.load(tmp_path, engine="onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", "--model", str(image_model(tmp_path)), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs onnx, which is not installed" in err
