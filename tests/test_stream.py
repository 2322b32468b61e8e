"""Streaming: Model.predict_and_update_state / reset_state (recog.api, recog.stream) and
``recog transcribe --stream`` (recog.transcribe_stream), with tiny speech models built here."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import recog
from recog.checkpoint import atomic_save, model_dict
from recog.cli import main
from recog.config import Config
from recog.features.audio import audio_features, waveform_features
from recog.features.cmvn import CMVN, RunningCMVN
from recog.models import build_model
from recog.tokens import SymbolTable

ROOT = Path(__file__).resolve().parents[1]


def speech_model(path: Path, *over: str, cmvn: CMVN | None | str = "noise") -> Path:
    """A tiny untrained phone model as ``conftest.make_speech_model`` builds it (fbank + energy + Δ + ΔΔ,
    2 frames stacked with step 2, 16 units), with ``over``rides.  By default it normalises with
    global CMVN statistics of uniform noise, so that its greedy output on the test signals is a
    string of phones that changes as the input goes on (unnormalised log-mel values saturate it)."""
    cfg = Config.load(None, ["features.modality=audio", "model.frontend=stack", "model.stack=2", "model.subsample=2",
                             "model.hidden=16", "model.layers=2", "model.dropout=0"]
                      + (["features.cmvn=global"] if cmvn == "noise" else []) + list(over))
    if cmvn == "noise":
        x = torch.from_numpy(np.random.default_rng(9).uniform(-0.4, 0.4, 16000).astype(np.float32))
        cmvn = CMVN.estimate([waveform_features(x, cfg.features.audio)])
    symbols = SymbolTable.from_texts(["aa b k iy s t"], unit="phone")
    torch.manual_seed(0)
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, cmvn), path)
    return path


def noise(path: Path, seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-0.4, 0.4, int(seconds * rate)).astype(np.float32)
    sf.write(str(path), x, rate, subtype="PCM_16")
    return sf.read(str(path), dtype="float32")[0]


def stream(m, x, sizes, **kw) -> np.ndarray:
    """``x`` through ``m.predict_and_update_state`` in pieces of ``sizes`` (cycled), then the end."""
    outs, a, k = [], 0, 0
    while a < len(x):
        n = sizes[k % len(sizes)]
        outs.append(m.predict_and_update_state(x[a : a + n], **kw))
        a, k = a + n, k + 1
    return np.concatenate(outs + [m.predict_and_update_state(None, final=True, **kw)])


# ---- the Python API -----------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "peephole_lstm"])
def test_a_unidirectional_model_streams_samples_and_frames_exactly(tmp_path, cell):
    wav = noise(tmp_path / "a.wav", 0.37)
    m = recog.load(speech_model(tmp_path / "m.pt", f"model.cell={cell}", "model.bidirectional=false"),
                   precision="fp32")
    whole = m.log_probs(tmp_path / "a.wav")
    for sizes in ([1], [160, 1000], [777], [100000]):
        assert np.abs(stream(m, wav, sizes) - whole).max() <= 1e-5, sizes
    frames = audio_features(tmp_path / "a.wav", m._tr.cfg.features.audio)
    for sizes in ([1], [3, 5], [100]):
        assert np.abs(stream(m, frames, sizes) - whole).max() <= 1e-5, sizes
    ints = (wav * 32768).round().astype(np.int16)  # 16-bit samples as they come from a device
    assert np.abs(stream(m, ints, [512]) - whole).max() <= 1e-5


def test_none_global_and_running_cmvn_stream_exactly_and_utterance_cmvn_streams_running(tmp_path):
    noise(tmp_path / "a.wav", 0.5)
    cfg_audio = Config.load(None, ["features.modality=audio"]).features.audio
    feats = audio_features(tmp_path / "a.wav", cfg_audio)
    stats = CMVN.estimate([feats])
    g = recog.load(speech_model(tmp_path / "g.pt", "model.bidirectional=false", "features.cmvn=global", cmvn=stats),
                   precision="fp32")
    assert np.abs(stream(g, feats, [7]) - g.log_probs(tmp_path / "a.wav")).max() <= 1e-5
    n = recog.load(speech_model(tmp_path / "n.pt", "model.bidirectional=false", "features.cmvn=none", cmvn=None),
                   precision="fp32")
    assert n._tr.recogniser.cmvn is None
    assert np.abs(stream(n, feats, [7]) - n.log_probs(tmp_path / "a.wav")).max() <= 1e-5
    u = recog.load(speech_model(tmp_path / "u.pt", "model.bidirectional=false", "features.cmvn=utterance", cmvn=None),
                   precision="fp32")
    got = stream(u, feats, [7])
    # the stream is the model on the running-statistics normalisation of the frames
    u._tr.recogniser.cmvn = RunningCMVN()
    assert np.abs(got - u._tr.log_probs([_example(u._tr.recogniser.cmvn(feats))])[0].numpy()).max() <= 1e-5
    u._tr.recogniser.cmvn = None
    # a model trained with the running statistics (features.cmvn: running) streams exactly
    r = recog.load(speech_model(tmp_path / "r.pt", "model.bidirectional=false", "features.cmvn=running", cmvn=None),
                   precision="fp32")
    assert np.abs(stream(r, feats, [7]) - r.log_probs(tmp_path / "a.wav")).max() <= 1e-5
    assert np.abs(got - r.log_probs(tmp_path / "a.wav")).max() <= 1e-5  # the same weights and normalisation


def _example(f):
    from recog.data import Example

    return Example("x", torch.from_numpy(f), [], "")


def test_an_lc_blstm_streams_its_own_outputs_and_a_plain_blstm_needs_a_window(tmp_path):
    wav = noise(tmp_path / "a.wav", 0.6)
    lc = recog.load(speech_model(tmp_path / "lc.pt", "model.chunk=5", "model.right_context=3"), precision="fp32")
    whole = lc.log_probs(tmp_path / "a.wav")
    assert np.abs(stream(lc, wav, [1000]) - whole).max() <= 1e-5
    blstm = recog.load(speech_model(tmp_path / "bi.pt"), precision="fp32")
    with pytest.raises(recog.RecogError, match="chunk size"):
        blstm.predict_and_update_state(wav[:1000])
    blstm.reset_state(chunk=1000)  # one chunk longer than the input: the BLSTM itself
    assert np.abs(stream(blstm, wav, [1000]) - blstm.log_probs(tmp_path / "a.wav")).max() <= 1e-5
    # final=True ended that stream; the window stays for the next one
    assert np.abs(stream(blstm, wav, [4000]) - blstm.log_probs(tmp_path / "a.wav")).max() <= 1e-5


def test_other_rates_are_resampled_as_the_stream_goes(tmp_path):
    wav = noise(tmp_path / "a.wav", 0.5, rate=22050)
    m = recog.load(speech_model(tmp_path / "m.pt", "model.bidirectional=false"), precision="fp32")
    whole = m.log_probs(wav, sample_rate=22050)
    assert np.abs(stream(m, wav, [441, 1000], sample_rate=22050) - whole).max() <= 1e-4


def test_what_cannot_stream_is_a_recog_error(tmp_path):
    m = recog.load(speech_model(tmp_path / "m.pt", "model.bidirectional=false"))
    m.predict_and_update_state(np.zeros(800, np.float32))
    with pytest.raises(recog.RecogError, match="new stream"):
        m.predict_and_update_state(np.zeros((3, 123), np.float32))  # frames into a stream of samples
    m.reset_state()
    with pytest.raises(recog.RecogError, match="shorter than one frame"):
        m.predict_and_update_state(np.zeros(100, np.float32), final=True)
    with pytest.raises(recog.RecogError, match=r"\(frames, 123\)"):
        m.predict_and_update_state(np.zeros((3, 5), np.float32))
    with pytest.raises(recog.RecogError, match="stack front end"):
        recog.load(ROOT / "pretrained" / "hooker").reset_state()


# ---- recog transcribe --stream --------------------------------------------------------------------


def _text(capsys_out: str) -> str:
    """The transcript of a single ``<id> <text>`` line."""
    line = [ln for ln in capsys_out.splitlines() if ln.strip()][-1]
    return line.split(maxsplit=1)[1] if " " in line else ""


def test_a_pipe_fed_slowly_shows_partials_before_its_end_and_the_final_transcript(tmp_path, capsys):
    model = speech_model(tmp_path / "m.pt", "model.bidirectional=false")
    noise(tmp_path / "a.wav", 2.0)
    assert main(["transcribe", "--model", str(model), "--precision", "fp32", str(tmp_path / "a.wav")]) == 0
    expected = _text(capsys.readouterr().out)
    assert expected
    data = (tmp_path / "a.wav").read_bytes()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-m", "recog.cli", "transcribe", "--model", str(model), "--stream", "-",
                          "--chunk-ms", "100", "--precision", "fp32"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        half = 44 + 16000  # the header and half a second
        for a in range(0, half, 4000):  # in pieces, with pauses
            p.stdin.write(data[a : min(a + 4000, half)])
            p.stdin.flush()
            time.sleep(0.05)
        err = _wait_for(p.stderr, b"partial: ", timeout=120)
        assert b"partial: " in err, err.decode(errors="replace")
        p.stdin.write(data[half:])
        p.stdin.close()
        out, rest = p.stdout.read(), p.stderr.read()
        p.wait(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 0, (err + rest).decode(errors="replace")
    assert out.decode().strip().split(maxsplit=1) == ["stdin", expected]
    assert b"stream: 1 input(s)" in rest


def _wait_for(pipe, what: bytes, timeout: float) -> bytes:
    """Bytes read from ``pipe`` until ``what`` turns up (or the time is over)."""
    got, end = b"", time.monotonic() + timeout
    while what not in got and time.monotonic() < end:
        ready, _, _ = select.select([pipe], [], [], 1.0)
        if ready:
            chunk = os.read(pipe.fileno(), 4096)
            if not chunk:
                break
            got += chunk
    return got


def test_json_partials_with_times_then_the_usual_final_line(tmp_path, capsys):
    model = speech_model(tmp_path / "m.pt", "model.bidirectional=false")
    noise(tmp_path / "a.wav", 1.0)
    assert main(["transcribe", "--model", str(model), "--precision", "fp32", str(tmp_path / "a.wav")]) == 0
    expected = _text(capsys.readouterr().out)
    assert main(["transcribe", "--model", str(model), "--precision", "fp32", "--stream", "--format", "json",
                 str(tmp_path / "a.wav")]) == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    partials, final = lines[:-1], lines[-1]
    assert partials and all(r["id"] == "a" and "partial" in r for r in partials)
    assert [r["audio_s"] for r in partials] == sorted(r["audio_s"] for r in partials)
    assert all(0 <= r["decoded_s"] <= r["audio_s"] for r in partials)
    assert final["id"] == "a" and final["text"] == expected and final["symbols"]


@pytest.mark.parametrize("rate", [16000, 8000])
def test_raw_pcm_on_standard_input_at_a_given_rate(tmp_path, capsys, monkeypatch, rate):
    model = speech_model(tmp_path / "m.pt", "model.bidirectional=false")
    wav = noise(tmp_path / "a.wav", 1.0, rate=rate)
    assert main(["transcribe", "--model", str(model), "--precision", "fp32", str(tmp_path / "a.wav")]) == 0
    expected = _text(capsys.readouterr().out)
    raw = (wav * 32768).round().astype("<i2").tobytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(raw))))
    assert main(["transcribe", "--model", str(model), "--precision", "fp32", "--stream", "-", "--rate",
                 str(rate)]) == 0
    assert capsys.readouterr().out.strip().split(maxsplit=1) == ["stdin", expected]


def test_a_plain_blstm_streams_latency_controlled_with_a_warning(tmp_path, capsys):
    plain = speech_model(tmp_path / "bi.pt")
    lc = speech_model(tmp_path / "lc.pt", "model.chunk=10", "model.right_context=5")
    noise(tmp_path / "a.wav", 1.0)
    assert main(["transcribe", "--model", str(plain), "--stream", str(tmp_path / "a.wav")]) == 0
    err = capsys.readouterr().err
    assert "trained on whole utterances" in err and "chunks of 400 ms, 200 ms right context" in err
    assert main(["transcribe", "--model", str(lc), "--stream", str(tmp_path / "a.wav"), "--precision", "fp32"]) == 0
    streamed = capsys.readouterr()
    assert "warning" not in streamed.err and "pieces of 200 ms" in streamed.err  # 10 frames of 20 ms
    assert main(["transcribe", "--model", str(lc), str(tmp_path / "a.wav"), "--precision", "fp32"]) == 0
    assert _text(capsys.readouterr().out) == _text(streamed.out)


def test_stream_options_that_cannot_apply_are_errors(tmp_path, capsys):
    uni = speech_model(tmp_path / "m.pt", "model.bidirectional=false")
    noise(tmp_path / "a.wav", 0.5)
    for args, problem in ((["--rate", "8000", str(tmp_path / "a.wav")], "--rate is the rate of raw PCM"),
                          (["--right-context-ms", "100", str(tmp_path / "a.wav")], "--right-context-ms is for "
                           "bidirectional"),
                          (["-", "-"], "read once")):
        assert main(["transcribe", "--model", str(uni), "--stream", *args]) == 2
        assert problem in capsys.readouterr().err
