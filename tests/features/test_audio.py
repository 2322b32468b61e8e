"""Audio -> Kaldi-style fbank frames: frame counts, resampling, formats, energy, errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from recog.config import AudioFeatures, FeatureConfig
from recog.features import FeatureError, extract, feature_dim
from recog.features.audio import audio_features, load_audio

N_FRAMES_1S = 1 + (16000 - 400) // 160  # 25 ms windows every 10 ms, Kaldi's snip_edges


def _sine(sr: int, seconds: float = 1.0, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def sine16k(tmp_path_factory):
    p = tmp_path_factory.mktemp("audio") / "sine16k.wav"
    sf.write(p, _sine(16000), 16000, subtype="PCM_16")
    return p


def test_default_fbank_shape(sine16k):
    cfg = AudioFeatures()
    f = audio_features(sine16k, cfg)
    assert N_FRAMES_1S == 98
    assert f.shape == (98, 123)
    assert f.shape[1] == feature_dim(FeatureConfig(modality="audio")) == (40 + 1) * 3
    assert f.dtype == np.float32
    assert np.isfinite(f).all()
    # most energy in the mel bins around 440 Hz, not at the top of the band
    static = f[10:-10, :40].mean(0)
    assert static.argmax() < 15
    assert static[:15].max() > static[30:].max() + 5.0
    # a steady tone: the energy's Δ and ΔΔ are ~0 away from the edges
    assert np.abs(f[10:-10, [81, 122]]).max() < 0.01


def _hand_deltas(c: np.ndarray) -> np.ndarray:
    """Δ with a 5-frame window: sum_n n (c[t+n] - c[t-n]) / (2 * (1 + 4)), edges repeated."""
    p = np.concatenate([c[:1], c[:1], c, c[-1:], c[-1:]])
    T = len(c)
    return (1 * (p[3 : T + 3] - p[1 : T + 1]) + 2 * (p[4 : T + 4] - p[0:T])) / 10.0


def test_deltas_known_answer(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "noise.wav"
    sf.write(p, (0.1 * rng.standard_normal(4000)).astype(np.float32), 16000, subtype="FLOAT")
    f = audio_features(p, AudioFeatures())
    assert f.shape == (1 + (4000 - 400) // 160, 123)
    static, d1, d2 = f[:, :41], f[:, 41:82], f[:, 82:]
    np.testing.assert_allclose(d1, _hand_deltas(static), atol=1e-4)
    np.testing.assert_allclose(d2, _hand_deltas(d1), atol=1e-4)


def test_extract_dispatches_to_audio(sine16k):
    cfg = FeatureConfig(modality="audio")
    np.testing.assert_array_equal(extract(sine16k, cfg), audio_features(sine16k, cfg.audio))


def test_energy_is_last_static_column(sine16k):
    cfg = AudioFeatures(deltas=0)
    f = audio_features(sine16k, cfg)
    assert f.shape == (98, 41)
    x, _ = sf.read(sine16k, dtype="float32")
    x = x.astype(np.float64) * 32768.0
    for t in (0, 37, 97):
        frame = x[t * 160 : t * 160 + 400]
        frame = frame - frame.mean()  # Kaldi removes the DC offset, energy is taken before the window
        assert f[t, -1] == pytest.approx(np.log(np.sum(frame**2)), abs=1e-3)
    # with Δ and ΔΔ appended the energy stays the last *static* column
    full = audio_features(sine16k, AudioFeatures())
    np.testing.assert_allclose(full[:, :41], f, atol=1e-5)


def test_energy_rises_with_amplitude(tmp_path):
    quiet, loud = tmp_path / "quiet.wav", tmp_path / "loud.wav"
    sf.write(quiet, _sine(16000, amp=0.1), 16000, subtype="FLOAT")
    sf.write(loud, _sine(16000, amp=0.5), 16000, subtype="FLOAT")
    fq = audio_features(quiet, AudioFeatures(deltas=0))
    fl = audio_features(loud, AudioFeatures(deltas=0))
    # 5 times the amplitude: 25 times the energy
    np.testing.assert_allclose(fl[:, -1] - fq[:, -1], np.log(25.0), atol=1e-3)


def test_without_energy(sine16k):
    f = audio_features(sine16k, AudioFeatures(energy=False, deltas=1))
    assert f.shape == (98, 80)
    with_e = audio_features(sine16k, AudioFeatures(deltas=0))
    np.testing.assert_allclose(f[:, :40], with_e[:, :40], atol=1e-4)


def test_mfcc_shape_matches_feature_dim(sine16k):
    # Kaldi's MFCC energy takes the place of C0, so 13 cepstra with energy are 13 columns
    for energy in (True, False):
        for deltas in (0, 2):
            cfg = FeatureConfig(modality="audio", audio=AudioFeatures(kind="mfcc", energy=energy, deltas=deltas))
            f = audio_features(sine16k, cfg.audio)
            assert f.shape == (98, feature_dim(cfg)) == (98, 13 * (1 + deltas))
    with_e = audio_features(sine16k, AudioFeatures(kind="mfcc", deltas=0))
    fbank = audio_features(sine16k, AudioFeatures(deltas=0))
    np.testing.assert_allclose(with_e[:, 0], fbank[:, -1], atol=1e-3)  # the same log energy


def test_feature_dim_matches_model_input_for_mfcc(sine16k):
    import torch

    from recog.config import Config
    from recog.models import CTCModel

    cfg = Config.load(None, ["features.modality=audio", "features.audio.kind=mfcc", "model.frontend=stack",
                             "model.hidden=4", "model.layers=1"])
    f = torch.from_numpy(audio_features(sine16k, cfg.features.audio)).unsqueeze(0)
    model = CTCModel(cfg, 3).eval()
    with torch.no_grad():
        y, lens = model(f, torch.tensor([f.shape[1]]))
    assert y.shape == (1, 98, 3) and lens.tolist() == [98]


def test_8k_is_resampled(tmp_path, sine16k):
    p = tmp_path / "sine8k.wav"
    sf.write(p, _sine(8000), 8000, subtype="PCM_16")
    wav = load_audio(p, 16000)
    assert wav.shape == (16000,)
    f = audio_features(p, AudioFeatures())
    assert f.shape == (98, 123)
    # the tone is below 4 kHz, so the low mel bins agree with the native 16 kHz recording
    ref = audio_features(sine16k, AudioFeatures())
    peak = int(ref[10:-10, :40].mean(0).argmax())
    assert abs(int(f[10:-10, :40].mean(0).argmax()) - peak) <= 1


def test_stereo_22k_is_mixed_and_resampled(tmp_path):
    p = tmp_path / "stereo.wav"
    s = _sine(22050)
    sf.write(p, np.stack([s, 0.5 * s], axis=1), 22050, subtype="PCM_16")
    wav = load_audio(p, 16000)
    assert wav.ndim == 1 and wav.shape[0] == 16000
    assert float(wav.abs().max()) == pytest.approx(0.75 * 0.5, abs=0.02)  # the channels' mean
    f = audio_features(p, AudioFeatures())
    assert f.shape == (98, 123)


def test_nist_sphere_loads(tmp_path, sine16k):
    p = tmp_path / "sine.sph"
    sf.write(p, _sine(16000), 16000, format="NIST", subtype="PCM_16")
    assert p.read_bytes()[:7] == b"NIST_1A"
    f = audio_features(p, AudioFeatures())
    assert f.shape == (98, 123)
    # the same 16-bit samples as the WAV file, so the same features
    np.testing.assert_allclose(f, audio_features(sine16k, AudioFeatures()), atol=1e-4)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(FeatureError) as e:
        audio_features(p, AudioFeatures())
    assert str(p) in str(e.value) and "empty" in str(e.value)


def test_garbage_file(tmp_path):
    p = tmp_path / "garbage.wav"
    p.write_bytes(b"RIFF but not really a wave file" * 10)
    with pytest.raises(FeatureError) as e:
        audio_features(p, AudioFeatures())
    assert str(p) in str(e.value)


def test_too_short(tmp_path):
    p = tmp_path / "short.wav"
    sf.write(p, _sine(16000, seconds=0.01), 16000)
    with pytest.raises(FeatureError) as e:
        audio_features(p, AudioFeatures())
    assert str(p) in str(e.value) and "shorter than one frame" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(FeatureError, match="no such file"):
        audio_features(tmp_path / "nope.wav", AudioFeatures())
