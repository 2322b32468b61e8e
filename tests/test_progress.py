"""Progress bars of transcribe, decode, align and filter: on stderr only, for more than 20 inputs,
off with --no-progress; standard output is the same with the bar shown."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import TINY, make_speech_model, render_line, write_noise_wav

import recog.progress
from recog.checkpoint import atomic_save, model_dict
from recog.cli import main
from recog.config import Config
from recog.models import build_model
from recog.tokens import SymbolTable


@pytest.fixture
def image_model(tmp_path):
    cfg = Config.load(None, TINY)
    torch.manual_seed(0)
    symbols = SymbolTable.from_texts(["the cat sat on a mat"])
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), tmp_path / "model.pt")
    return tmp_path / "model.pt"


def run(argv, capsys, force: bool, monkeypatch) -> tuple[str, str]:
    monkeypatch.setattr(recog.progress, "FORCE", force)
    assert main(argv) in (0, 1)
    out = capsys.readouterr()
    return out.out, out.err


def bar_shown(err: str, n: int) -> bool:
    return f"/{n} [" in err or f"{n}/{n}" in err


def test_transcribe_and_decode_bars_go_to_stderr_and_leave_stdout_alone(tmp_path, image_model, capsys, monkeypatch):
    n = 23
    d = tmp_path / "lines"
    d.mkdir()
    render_line("a cat").save(d / "l00.png")
    for i in range(1, n):
        (d / f"l{i:02d}.png").write_bytes((d / "l00.png").read_bytes())
    (d / "l05.png").write_bytes(b"not an image")  # an error message while the bar is shown
    argv = ["transcribe", "--model", str(image_model), str(d)]
    plain, plain_err = run(argv, capsys, False, monkeypatch)  # stderr is no terminal here: no bar
    assert not bar_shown(plain_err, n) and len(plain.splitlines()) == n - 1
    out, err = run(argv, capsys, True, monkeypatch)
    assert out == plain and bar_shown(err, n) and "l05.png" in err
    out, err = run(argv + ["--no-progress"], capsys, True, monkeypatch)
    assert out == plain and not bar_shown(err, n)
    out, err = run(argv[:-1] + [str(d / "l00.png"), str(d / "l01.png")], capsys, True, monkeypatch)
    assert not bar_shown(err, 2)  # a handful of inputs: no bar

    manifest = tmp_path / "data" / "manifest.jsonl"
    manifest.parent.mkdir()
    manifest.write_text("".join(json.dumps({"id": f"l{i:02d}", "path": str(d / f"l{i:02d}.png"), "text": "a cat"}) + "\n"
                                for i in range(n) if i != 5))
    argv = ["decode", "--model", str(image_model), "--data", str(manifest)]
    plain, _ = run(argv, capsys, False, monkeypatch)
    out, err = run(argv, capsys, True, monkeypatch)
    assert out == plain and bar_shown(err, n - 1)

    argv = ["filter", "--model", str(image_model), "--data", str(manifest), "--out", str(tmp_path / "f"), "--max-er", "50"]
    plain, _ = run(argv, capsys, False, monkeypatch)
    kept = (tmp_path / "f" / "manifest.jsonl").read_text()
    out, err = run(argv, capsys, True, monkeypatch)
    assert out == plain and bar_shown(err, n - 1) and (tmp_path / "f" / "manifest.jsonl").read_text() == kept


def test_align_bar_goes_to_stderr(tmp_path, capsys, monkeypatch):
    model = make_speech_model(tmp_path / "speech.pt")
    n = 21
    rows = []
    for i in range(n):
        write_noise_wav(tmp_path / "wav" / f"u{i}.wav", 0.3, seed=i)
        rows.append(json.dumps({"id": f"u{i}", "path": str(tmp_path / "wav" / f"u{i}.wav"), "text": "aa b"}))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    argv = ["align", "--model", str(model), "--data", str(tmp_path / "data"), "--out", str(tmp_path / "ali")]
    plain, plain_err = run(argv, capsys, False, monkeypatch)
    ctm = (tmp_path / "ali" / "hyp.ctm").read_text()
    out, err = run(argv, capsys, True, monkeypatch)
    assert out == plain and bar_shown(err, n) and not bar_shown(plain_err, n)
    assert (tmp_path / "ali" / "hyp.ctm").read_text() == ctm
    out, err = run(argv + ["--no-progress"], capsys, True, monkeypatch)
    assert not bar_shown(err, n)
