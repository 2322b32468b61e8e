"""The Python API (recog.load, Model.transcribe / log_probs, RecogError), and the README's Python
section run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import make_speech_model, render_line

import recog
from recog.cli import main

ROOT = Path(__file__).resolve().parents[1]
HOOKER = ROOT / "pretrained" / "hooker"


def test_image_inputs_in_every_form_agree_with_the_cli(tmp_path, capsys):
    img = render_line("the cat sat", height=48)
    img.save(tmp_path / "line.png")
    m = recog.load(HOOKER)
    r = m.transcribe(tmp_path / "line.png")
    assert main(["transcribe", "--model", str(HOOKER), str(tmp_path / "line.png")]) == 0
    assert capsys.readouterr().out.strip() == f"line {r.text}".strip()
    for same in (img, np.asarray(img), np.asarray(img) / 255.0, torch.from_numpy(np.asarray(img).copy())):
        assert m.transcribe(same).text == r.text
    assert [x.text for x in m.transcribe([img, str(tmp_path / "line.png")])] == [r.text, r.text]
    # per-symbol values line up, positions increase and lie on the image
    assert len(r.tokens) == len(r.symbols) == len(r.confidences) == len(r.positions) > 0
    starts = [p[0] for p in r.positions]
    assert starts == sorted(starts) and all(0 <= a <= b <= img.width for a, b in r.positions)
    assert all(0 < c <= 1 for c in r.confidences)
    lp = m.log_probs(img)
    assert lp.ndim == 2 and lp.shape[1] == len(m.symbols)
    assert np.allclose(np.exp(lp).sum(axis=1), 1, atol=1e-3)


def test_audio_samples_are_resampled_to_the_model_rate(tmp_path):
    path = make_speech_model(tmp_path / "speech.pt")
    rng = np.random.default_rng(0)
    wav = (rng.standard_normal(16000) * 0.1).astype(np.float32)
    sf.write(tmp_path / "a.wav", wav, 16000)
    # fp32: the file holds 16-bit samples, and bf16 rounding can magnify that difference past 1e-5
    m = recog.load(path, precision="fp32")
    from_file = m.log_probs(tmp_path / "a.wav")
    assert np.allclose(m.log_probs(wav, sample_rate=16000), from_file, atol=1e-5)
    # the same signal at 8 kHz goes through resampling and gives as many frames
    import torchaudio

    wav8 = torchaudio.functional.resample(torch.from_numpy(wav), 16000, 8000).numpy()
    assert m.log_probs(wav8, sample_rate=8000).shape == from_file.shape
    r = m.transcribe(wav, sample_rate=16000)
    assert all(b > a >= 0 for a, b in r.positions)  # seconds


@pytest.mark.parametrize("call, problem", [
    (lambda m, t: m.transcribe(np.zeros(100, np.float32)), "give sample_rate="),
    (lambda m, t: m.transcribe(t / "missing.wav"), "missing.wav: no such file"),
    (lambda m, t: m.transcribe(np.zeros((2, 3, 4)), sample_rate=16000), "1-D"),
])
def test_problems_are_recog_errors_that_say_what(tmp_path, call, problem):
    m = recog.load(make_speech_model(tmp_path / "speech.pt"))
    with pytest.raises(recog.RecogError, match=re.escape(problem)):
        call(m, tmp_path)


def test_loading_a_non_model_or_an_image_array_of_the_wrong_shape(tmp_path):
    (tmp_path / "x.arpa").write_text("\\data\\\n")
    with pytest.raises(recog.RecogError, match="x.arpa"):
        recog.load(tmp_path / "x.arpa")
    with pytest.raises(recog.RecogError, match="2-D grey array"):
        recog.load(HOOKER).transcribe(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(recog.RecogError, match="device 'tpu'"):
        recog.load(HOOKER, device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_refused_and_auto_falls_back():
    with pytest.raises(recog.RecogError, match="no CUDA device here"):
        recog.load(HOOKER, device="cuda")
    assert recog.load(HOOKER, device="auto")._tr.device.type == "cpu"


def test_the_readme_python_section_runs_as_written():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = text.split("## Python", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "missing.wav: no such file" in r.stdout


def test_import_recog_does_not_import_torch():
    r = subprocess.run([sys.executable, "-c", "import sys, recog; print(recog.__version__, 'torch' in sys.modules)"],
                       capture_output=True, text=True)
    assert r.stdout.split() == [recog.__version__, "False"]
