"""Inference precision: --precision fp32|bf16|auto and recog.load(precision=): what auto picks, that
the switch is honoured, and that bf16 reads what fp32 reads where the model is sure."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import TINY, render_line

import recog
import recog.infer
import recog.precision as precision
from recog.checkpoint import atomic_save, model_dict
from recog.cli import main
from recog.config import Config
from recog.data import Example
from recog.infer import Transcriber
from recog.models import build_model
from recog.tokens import SymbolTable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model(tmp_path):
    """The tiny image model of tests/test_newcomer.py, its output layer scaled up so that most frames
    have a clear best symbol (large margins, as a trained model has)."""
    cfg = Config.load(None, TINY)
    torch.manual_seed(0)
    net = build_model(cfg, len(symbols := SymbolTable.from_texts(["the cat sat on a mat"])))
    with torch.no_grad():
        net.output.weight.mul_(40.0)
    atomic_save(model_dict(net, cfg, symbols, None), tmp_path / "model.pt")
    return tmp_path / "model.pt"


def test_cpu_detection_reads_torch_probes_then_cpuinfo(monkeypatch):
    for avx512_bf16, amx, want in ((True, False, True), (False, True, True), (False, False, False)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v, raising=False)
        assert precision.cpu_has_bf16() is want
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    for flags, want in (({"fpu", "avx512f", "avx512_bf16"}, True), ({"amx_bf16", "amx_tile"}, True),
                        ({"fpu", "avx2", "avx512f"}, False), (set(), False)):
        monkeypatch.setattr(precision, "cpuinfo_flags", lambda f=flags: f)
        assert precision.cpu_has_bf16() is want


def test_auto_picks_what_the_device_supports(monkeypatch):
    for has, want in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(precision, "cpu_has_bf16", lambda h=has: h)
        assert precision.resolve_precision("auto", "cpu") == want
        assert precision.resolve_precision("fp32", "cpu") == "fp32"
        assert precision.resolve_precision("bf16", "cpu") == "bf16"  # honoured even where emulated
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for has, want in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, h=has, **k: h)
        assert precision.resolve_precision("auto", "cuda:0") == want
    with pytest.raises(ValueError, match="use fp32, bf16 or auto"):
        precision.resolve_precision("fp16")


def test_the_switch_is_honoured_and_log_probs_stay_float32(tmp_path, model, monkeypatch, capsys):
    render_line("the cat sat").save(tmp_path / "a.png")
    seen = []
    real = recog.infer.autocast
    monkeypatch.setattr(recog.infer, "autocast", lambda device, p: seen.append(p) or real(device, p))
    for has in (True, False):
        monkeypatch.setattr(precision, "bf16_supported", lambda device, h=has: h)
        for flag, want in (([], "bf16" if has else "fp32"), (["--precision", "fp32"], "fp32"),
                           (["--precision", "bf16"], "bf16"), (["--precision", "auto"], "bf16" if has else "fp32")):
            seen.clear()
            assert main(["transcribe", "--model", str(model), *flag, str(tmp_path / "a.png")]) == 0
            assert seen == [want], (has, flag)
        seen.clear()
        recog.load(model).transcribe(tmp_path / "a.png")  # recog.load's default is auto too
        recog.load(model, precision="fp32").transcribe(tmp_path / "a.png")
        assert seen == ["bf16" if has else "fp32", "fp32"]
    capsys.readouterr()
    with pytest.raises(recog.RecogError, match="precision 'fp16'"):
        recog.load(model, precision="fp16")
    with pytest.raises(SystemExit):  # argparse: a choice of fp32, bf16, auto
        main(["transcribe", "--model", str(model), "--precision", "fp16", str(tmp_path / "a.png")])

    # the network really runs in bf16 (the encoder's output), the log-probs come back in float32
    dtypes = []
    for p in ("bf16", "fp32"):
        tr = Transcriber(model, precision=p)
        hook = tr.recogniser.model.encoder.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
        lp = tr.log_probs([Example("a", tr.features(tmp_path / "a.png"), [], "")])[0]
        hook.remove()
        assert lp.dtype == torch.float32
    assert dtypes == [torch.bfloat16, torch.float32]


def test_bf16_picks_the_fp32_symbol_wherever_the_margin_is_large(tmp_path, model):
    fp32, bf16 = Transcriber(model, precision="fp32"), Transcriber(model, precision="bf16")
    exs = []
    for i, text in enumerate(["the cat sat on a mat", "a red sun", "it is a hat", "dog"]):
        render_line(text, seed=i).save(tmp_path / f"{i}.png")
        exs.append(Example(str(i), fp32.features(tmp_path / f"{i}.png"), [], ""))
    la, lb = torch.cat(fp32.log_probs(exs)), torch.cat(bf16.log_probs(exs))
    assert (la - lb).abs().max() < 0.05  # bf16's rounding moves these log-probs by a few hundredths at most
    top2 = la.topk(2, dim=1).values
    sure = (top2[:, 0] - top2[:, 1]) > 0.1  # the best symbol leads by more than 0.1 nat
    assert sure.float().mean() > 0.5
    assert torch.equal(la.argmax(1)[sure], lb.argmax(1)[sure])
    assert (la.argmax(1) == lb.argmax(1)).float().mean() > 0.98


def test_bf16_and_fp32_greedy_transcripts_agree_with_a_trained_model():
    """A trained model's margins are large: the shipped Hooker model reads its sample lines alike."""
    paths = sorted((ROOT / "pretrained" / "samples" / "hooker").glob("*.jpg"))
    texts = {}
    for p in ("fp32", "bf16"):
        tr = Transcriber(ROOT / "pretrained" / "hooker", precision=p)
        results, errors = tr.transcribe_files(paths)
        assert not errors
        texts[p] = [(uid, tr.recogniser.symbols.decode(h.tokens)) for uid, h, *_ in results]
    assert texts["fp32"] == texts["bf16"] and all(t for _, t in texts["fp32"])
