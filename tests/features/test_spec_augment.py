"""SpecAugment masks, waveform perturbations and per-utterance CMVN, each against a known answer."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from recog.data import compute_features, perturbed_copies
from recog.features.cmvn import UtteranceCMVN, normaliser
from recog.features.spec_augment import SpecAugment, perturb, perturbation_names
from recog.manifest import Utterance


def test_frequency_masks_hit_the_same_bins_in_every_block_and_time_masks_are_bounded():
    torch.manual_seed(0)
    f = np.ones((100, 3 * 41), dtype=np.float32)  # 41 statics, their deltas, their delta-deltas
    aug = SpecAugment(freq_masks=2, freq_width=8, time_masks=0, block=41)
    seen = 0
    for _ in range(20):
        g = aug(f)
        zero_cols = np.where((g == 0).all(0))[0]
        blocks = [set(c - 41 * k for c in zero_cols if 41 * k <= c < 41 * (k + 1)) for k in range(3)]
        assert blocks[0] == blocks[1] == blocks[2] and len(blocks[0]) <= 16
        seen += bool(blocks[0])
        assert (g != 0).any(1).all()  # no time mask asked for
    assert seen >= 15
    tm = SpecAugment(freq_masks=0, time_masks=2, time_width=40, time_ratio=0.2)
    for _ in range(20):
        rows = (tm(f) == 0).all(1)
        assert rows.sum() <= 2 * 20  # each mask at most 20% of 100 frames
    assert np.array_equal(f, np.ones_like(f))  # the input is not modified


def test_masks_follow_torch_rng_so_resumed_training_draws_the_same():
    f = np.random.default_rng(0).normal(size=(50, 20)).astype(np.float32)
    aug = SpecAugment(freq_width=5, time_width=10)
    torch.manual_seed(3)
    a = aug(f)
    torch.manual_seed(3)
    assert np.array_equal(a, aug(f)) and not np.array_equal(a, f)


def _tone(freq, sr=16000, seconds=1.0):
    t = torch.arange(int(sr * seconds)) / sr
    return torch.sin(2 * torch.pi * freq * t)


def _power_at(wav, freq, sr=16000):
    spec = torch.fft.rfft(wav).abs()
    k = int(round(freq * len(wav) / sr))
    return float(spec[k - 2 : k + 3].max())


def test_speed_perturbation_changes_duration_and_pitch():
    w = _tone(1000.0)
    fast = perturb(w, 16000, "speed1.1")
    assert abs(len(fast) - 16000 / 1.1) <= 2
    # the tone moves to 1.1 kHz
    assert _power_at(fast, 1100, 16000) > 10 * _power_at(fast, 1000, 16000)
    slow = perturb(w, 16000, "speed0.9")
    assert abs(len(slow) - 16000 / 0.9) <= 2


def test_narrowband_removes_what_lies_above_4khz():
    w = _tone(1000.0) + _tone(6000.0)
    nb = perturb(w, 16000, "narrowband")
    assert len(nb) == len(w)
    assert _power_at(nb, 6000) < 0.01 * _power_at(w, 6000)
    assert _power_at(nb, 1000) > 0.9 * _power_at(w, 1000)


def test_vtlp_moves_the_formants_not_the_tempo():
    """vtlpA warps the mel filterbank: a 1.5 kHz tone's strongest mel bin moves up for A > 1 and
    down for A < 1, the waveform and the number of frames stay as they are."""
    from recog.config import Config
    from recog.features.audio import audio_features

    cfg = Config.load(None, ["features.modality=audio"]).features.audio
    w = 0.3 * _tone(1500.0)
    assert torch.equal(perturb(w, 16000, "vtlp1.1"), w)
    peak = {}
    for p in ("", "vtlp0.9", "vtlp1.1"):
        f = audio_features(w, cfg, p)
        assert f.shape[0] == 98
        peak[p] = int(f[:, : cfg.num_mel_bins].mean(0).argmax())
    assert peak["vtlp0.9"] < peak[""] < peak["vtlp1.1"]


def test_perturbation_names_are_checked():
    assert perturbation_names("speed0.9, speed1.1,narrowband") == ["speed0.9", "speed1.1", "narrowband"]
    assert perturbation_names("vtlp0.9,vtlp1.1") == ["vtlp0.9", "vtlp1.1"]
    for bad in ("speed1.0", "speed3", "louder", "speed0.9,speed0.9", "vtlp1", "vtlp0.5"):
        with pytest.raises(ValueError):
            perturbation_names(bad)


def test_perturbed_copies_get_their_own_features(tmp_path):
    from recog.config import Config

    sf.write(str(tmp_path / "a.wav"), (0.3 * _tone(440.0, seconds=2.0)).numpy(), 16000)
    utts = perturbed_copies([Utterance("a", str(tmp_path / "a.wav"), "x", "s1")], ["speed0.9", "speed1.1"])
    assert [u.id for u in utts] == ["a", "speed0.9-a", "speed1.1-a"]
    cfg = Config.load(None, ["features.modality=audio"]).features
    got = {u.id: u.num_frames for u in compute_features(utts, cfg, tmp_path / "npy", progress=False)}
    assert abs(got["speed0.9-a"] - got["a"] / 0.9) <= 2 and abs(got["speed1.1-a"] - got["a"] / 1.1) <= 2


def test_utterance_cmvn_normalises_and_removes_a_channel_offset():
    rng = np.random.default_rng(1)
    f = rng.normal(3.0, 2.0, size=(200, 10)).astype(np.float32)
    n = UtteranceCMVN()
    g = n(f)
    np.testing.assert_allclose(g.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(g.std(0), 1, atol=1e-4)
    # a constant offset per dimension (a microphone's tilt in the log spectrum) leaves no trace
    np.testing.assert_allclose(n(f + rng.normal(size=10).astype(np.float32)), g, atol=1e-4)
    assert n.state() is None and isinstance(normaliser("utterance", None), UtteranceCMVN)
    assert normaliser("none", None) is None


def test_model_with_utterance_cmvn_round_trips(tmp_path):
    from recog.checkpoint import atomic_save, load_model, model_dict
    from recog.config import Config
    from recog.models import build_model
    from recog.tokens import SymbolTable

    cfg = Config.load(None, ["features.modality=audio", "features.cmvn=utterance", "model.frontend=stack",
                             "model.hidden=8", "model.layers=1"])
    syms = SymbolTable(["a", "b"], "phone")
    atomic_save(model_dict(build_model(cfg, len(syms)), cfg, syms, UtteranceCMVN()), tmp_path / "m.pt")
    lm = load_model(tmp_path / "m.pt")
    assert isinstance(lm.cmvn, UtteranceCMVN) and lm.cfg.features.cmvn == "utterance"
    # older models say true/false
    assert Config.load(None, ["features.cmvn=true"]).features.cmvn == "global"
    assert Config.load(None, ["features.cmvn=false"]).features.cmvn == "none"
