"""``recog plot``: the four figures from tiny untrained models and hand-written files, the LSTM
states recomputed for the activation plot, and the errors (no matplotlib, a bad suffix)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import TINY, make_speech_model, render_line, write_noise_wav
from recog.checkpoint import atomic_save, model_dict
from recog.cli import main
from recog.config import Config
from recog.metrics import score
from recog.models import build_model
from recog.models.inspect import layer_states, lstm_states
from recog.models.rnn import PeepholeLSTM
from recog.plots import INSTALL
from recog.plots.confusion import confusion_counts
from recog.plots.curves import legend_names
from recog.plots.posteriorgram import choose_rows
from recog.tokens import SymbolTable

# the header and row format of recog/train.py's metrics.csv
HEADER = "epoch,step,train_loss,valid_er,valid_wer,lr,epoch_s,frames_per_s,lines_per_s\n"


def write_metrics(exp: Path, rows: list[tuple]) -> Path:
    exp.mkdir(parents=True)
    (exp / "metrics.csv").write_text(HEADER + "".join(
        f"{e},{s},{loss:.4f},{er:.3f},{'' if wer is None else f'{wer:.3f}'},{4.5e-4:.3e},313.7,18037,63.60\n"
        for e, s, loss, er, wer in rows))
    return exp


@pytest.fixture
def image_model(tmp_path) -> Path:
    cfg = Config.load(None, TINY)
    torch.manual_seed(0)
    symbols = SymbolTable.from_texts(["the cat sat on a mat"])
    path = tmp_path / "image_model.pt"
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), path)
    return path


@pytest.fixture
def line(tmp_path) -> Path:
    render_line("the cat sat").save(tmp_path / "line.png")
    return tmp_path / "line.png"


@pytest.fixture
def wav(tmp_path) -> Path:
    write_noise_wav(tmp_path / "noise.wav", 1.0)
    return tmp_path / "noise.wav"


def check_figure(path: Path) -> None:
    """A PNG with something drawn on it (many colours, not flat), or an SVG document."""
    assert path.is_file() and path.stat().st_size > 0
    if path.suffix == ".svg":
        assert ET.parse(path).getroot().tag.endswith("svg")
        return
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        px = np.asarray(im.convert("RGB"))
    assert px.std() > 20
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 50


# ---- LSTM states (no matplotlib needed) ----------------------------------------------------------


def test_recomputed_lstm_states_equal_nn_lstm():
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 7, batch_first=True)
    x = torch.randn(1, 23, 5)
    with torch.no_grad():
        h, (h_n, c_n) = lstm(x)
    st = lstm_states(lstm, x[0])
    assert (st["h"] - h[0]).abs().max() < 1e-5
    assert (st["c"][-1] - c_n[0, 0]).abs().max() < 1e-5
    for g in "ifo":
        assert ((st[g] >= 0) & (st[g] <= 1)).all()
    assert st["g"].abs().max() <= 1
    # h = o * tanh(c), step by step
    assert (st["h"] - st["o"] * torch.tanh(st["c"])).abs().max() < 1e-6


def test_recomputed_peephole_states_equal_its_forward():
    torch.manual_seed(1)
    cell = PeepholeLSTM(4, 6)
    x = torch.randn(1, 17, 4)
    with torch.no_grad():
        h, (_, c_n) = cell(x)
    st = lstm_states(cell, x[0])
    assert (st["h"] - h[0]).abs().max() < 1e-5
    assert (st["c"][-1] - c_n[0, 0]).abs().max() < 1e-5


def test_layer_states_of_a_bilstm_model_match_what_the_model_computed(tmp_path):
    from recog.checkpoint import load_model

    model = load_model(make_speech_model(tmp_path / "m.pt")).model
    feats = torch.randn(40, model.frontend.output_size // 2)
    st = layer_states(model, feats, 0)
    assert st["h"].shape == (20, 32) and st["c"].shape == st["i"].shape == (20, 32)
    assert (st["h_recomputed"] - st["h"]).abs().max() < 1e-5  # both directions
    with pytest.raises(ValueError, match="1 encoder layers"):
        layer_states(model, feats, 1)


def test_layer_states_of_a_model_run_in_chunks():
    # a model that runs long inputs in chunks (model.chunk, from data.sequence_length) calls each
    # cell once per chunk: unidirectional with the state carried over, bidirectional afresh
    for bi in ("true", "false"):
        model = build_model(Config.load(None, TINY + ["model.layers=2", f"model.bidirectional={bi}"]), 5).eval()
        model.chunk = 4
        st = layer_states(model, torch.rand(30, 32), 1)
        assert st["h"].shape[0] == 15
        assert (st["h_recomputed"] - st["h"]).abs().max() < 1e-5


def test_a_gru_layer_has_its_hidden_state_only():
    cfg = Config.load(None, TINY + ["model.cell=gru"])
    model = build_model(cfg, 5).eval()
    st = layer_states(model, torch.rand(30, 32), 0)
    assert set(st) == {"h"} and st["h"].shape == (15, 96)


# ---- helpers -------------------------------------------------------------------------------------


def test_confusion_counts_agree_with_score():
    refs = {"a": "the cat sat", "b": "on a mat", "c": "red sun", "d": "it"}
    hyps = {"a": "the bat sat", "b": "on mat", "c": "red sun hat"}  # d: missing, all deletions
    for unit in ("char", "word"):
        counts, rep = confusion_counts(refs, hyps, unit), score(refs, hyps, unit)
        assert sum(c for (r, h), c in counts.items() if r and h and r != h) == rep.sub
        assert sum(c for (r, h), c in counts.items() if h is None) == rep.dels
        assert sum(c for (r, h), c in counts.items() if r is None) == rep.ins
        assert sum(c for (r, _), c in counts.items() if r is not None) == rep.ref_len


def test_posteriorgram_rows_keep_the_greedy_symbols():
    post = np.full((4, 5), 0.01)
    post[:, 0] = 0.9
    post[1, 3] = 0.5
    post[2, 4] = 0.04  # below the threshold, but emitted by the decoder
    assert choose_rows(post, [4], top=10, threshold=0.05) == [0, 3, 4]
    assert choose_rows(post, [], top=10, threshold=0.05) == [0, 3]


def test_legend_names_tell_experiments_apart(tmp_path):
    a = write_metrics(tmp_path / "so" / "exp" / "base", [])
    b = write_metrics(tmp_path / "ep" / "exp" / "base", [])
    c = write_metrics(tmp_path / "ep" / "exp" / "ep5", [])
    assert legend_names([a, b / "metrics.csv", c]) == ["so/exp/base", "ep/exp/base", "ep/exp/ep5"]


# ---- the figures, through the command line -------------------------------------------------------


def test_curves(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    a = write_metrics(tmp_path / "hk" / "base", [(1, 100, 50.1, 40.0, 80.0), (2, 200, 30.2, 25.5, 60.1),
                                                 (3, 300, 20.0, 26.0, 61.0)])
    b = write_metrics(tmp_path / "ep" / "base", [(1, 142, 52.7, 56.2, None), (2, 284, 40.0, 45.0, None)])
    for out, extra in ((tmp_path / "curves.png", []), (tmp_path / "curves.svg", ["--x", "step", "--log-loss"])):
        assert main(["plot", "curves", str(a), str(b / "metrics.csv"), "--out", str(out), *extra]) == 0
        check_figure(out)
    assert capsys.readouterr().out.split() == [str(tmp_path / "curves.png"), str(tmp_path / "curves.svg")]
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    assert main(["plot", "curves", str(tmp_path / "other.csv"), "--out", str(tmp_path / "x.png")]) == 2
    assert "not a recog metrics.csv (no column epoch, train_loss, valid_er)" in capsys.readouterr().err


def test_posteriorgram_of_speech_with_its_alignment_and_of_a_line(tmp_path, wav, line, image_model):
    pytest.importorskip("matplotlib")
    speech = make_speech_model(tmp_path / "speech.pt")
    out = tmp_path / "figs" / "post.svg"  # the folder is made
    assert main(["plot", "posteriorgram", "--model", str(speech), str(wav), "--ref", "aa b k aa",
                 "--out", str(out)]) == 0
    check_figure(out)
    assert main(["plot", "posteriorgram", "--model", str(speech), str(wav), "--out", str(tmp_path / "p.png")]) == 0
    check_figure(tmp_path / "p.png")
    assert main(["plot", "posteriorgram", "--model", str(image_model), str(line), "--ref", "the cat",
                 "--top", "3", "--out", str(tmp_path / "line.png")]) == 0
    check_figure(tmp_path / "line.png")


def test_posteriorgram_errors(tmp_path, wav, line, image_model, capsys):
    pytest.importorskip("matplotlib")
    speech = make_speech_model(tmp_path / "speech.pt")
    assert main(["plot", "posteriorgram", "--model", str(speech), str(wav), "--ref", "aa zz",
                 "--out", str(tmp_path / "p.png")]) == 2
    assert "symbols not in the table: zz" in capsys.readouterr().err
    assert main(["plot", "posteriorgram", "--model", str(speech), str(line), "--out", str(tmp_path / "p.png")]) == 2
    assert "an image file, but the model reads audio" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_activations_of_a_bilstm(tmp_path, wav, line, image_model, capsys):
    pytest.importorskip("matplotlib")
    speech = make_speech_model(tmp_path / "speech.pt")
    assert main(["plot", "activations", "--model", str(speech), str(wav), "--units", "0,5,16-18",
                 "--out", str(tmp_path / "a.svg")]) == 0
    check_figure(tmp_path / "a.svg")
    assert main(["plot", "activations", "--model", str(image_model), str(line), "--out", str(tmp_path / "a.png")]) == 0
    check_figure(tmp_path / "a.png")
    assert main(["plot", "activations", "--model", str(speech), str(wav), "--units", "0,32",
                 "--out", str(tmp_path / "b.png")]) == 2
    assert "--units 32: layer 0 has units 0-31 (forward 0-15, backward 16-31)" in capsys.readouterr().err
    assert main(["plot", "activations", "--model", str(speech), str(wav), "--layer", "3",
                 "--out", str(tmp_path / "b.png")]) == 2
    assert "--layer 3: the model has 1 encoder layers" in capsys.readouterr().err


def test_activations_of_a_gru_show_the_hidden_state(tmp_path, line):
    pytest.importorskip("matplotlib")
    cfg = Config.load(None, TINY + ["model.cell=gru"])
    symbols = SymbolTable.from_texts(["the cat sat"])
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), tmp_path / "gru.pt")
    assert main(["plot", "activations", "--model", str(tmp_path / "gru.pt"), str(line),
                 "--out", str(tmp_path / "g.png")]) == 0
    check_figure(tmp_path / "g.png")


def test_confusion(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "ref").write_text("u1 the cat sat on a mat\nu2 a red sun\nu3 it is a hat\n")
    (tmp_path / "hyp").write_text("u1 the bat sat in a mat\nu2 a rod sun\nu3 it is hat\n")
    for unit, out in (("char", "c.png"), ("word", "w.svg")):
        assert main(["plot", "confusion", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--unit", unit,
                     "--out", str(tmp_path / out)]) == 0
        check_figure(tmp_path / out)
    (tmp_path / "same").write_text("u1 the cat sat on a mat\n")
    assert main(["plot", "confusion", str(tmp_path / "same"), str(tmp_path / "same"),
                 "--out", str(tmp_path / "n.png")]) == 2
    assert "no errors" in capsys.readouterr().err


# ---- errors before any work ----------------------------------------------------------------------


def test_without_matplotlib_one_line_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    exp = write_metrics(tmp_path / "exp", [(1, 10, 5.0, 50.0, None)])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(["plot", "curves", str(exp), "--out", str(tmp_path / "c.png")]) == 2
    assert capsys.readouterr().err == INSTALL + "\n"
    assert INSTALL == "recog plot needs matplotlib: pip install -e '.[plot]'"
    assert not (tmp_path / "c.png").exists()


def test_an_unknown_suffix_is_an_error(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    exp = write_metrics(tmp_path / "exp", [(1, 10, 5.0, 50.0, None)])
    for name in ("c.jpg", "c"):
        assert main(["plot", "curves", str(exp), "--out", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("recog plot: error: ") and "name a .png or .svg file" in err
    assert main(["plot", "curves", str(exp), "--out", str(tmp_path / "C.PNG")]) == 0
    check_figure(tmp_path / "C.PNG")
