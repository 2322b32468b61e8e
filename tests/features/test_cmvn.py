"""Global CMVN statistics: exact estimates, normalisation, and a weights_only round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.features.cmvn import CMVN


def test_estimate_known_answer():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([[5.0, 6.0]], dtype=np.float32)
    c = CMVN.estimate([a, b])
    np.testing.assert_allclose(c.mean, [3.0, 4.0], rtol=1e-6)
    # population variance of (1, 3, 5) is 8/3 in both columns
    np.testing.assert_allclose(c.std, [np.sqrt(8 / 3)] * 2, rtol=1e-6)
    assert c.mean.dtype == np.float32 and c.std.dtype == np.float32


def test_estimate_matches_numpy_over_uneven_chunks():
    rng = np.random.default_rng(0)
    chunks = [rng.normal(3.0, 2.0, (n, 5)).astype(np.float32) for n in (7, 1, 30)]
    allf = np.concatenate(chunks)
    c = CMVN.estimate(iter(chunks))  # a generator is fine
    np.testing.assert_allclose(c.mean, allf.mean(0), rtol=1e-5)
    np.testing.assert_allclose(c.std, allf.std(0), rtol=1e-5)


def test_apply_gives_zero_mean_unit_variance():
    rng = np.random.default_rng(1)
    chunks = [rng.normal([1.0, -4.0, 10.0], [0.5, 3.0, 7.0], (n, 3)).astype(np.float32) for n in (50, 80)]
    c = CMVN.estimate(chunks)
    out = np.concatenate([c(f) for f in chunks])
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1.0, atol=1e-5)


def test_constant_column_does_not_divide_by_zero():
    c = CMVN.estimate([np.array([[2.0, 1.0], [2.0, 3.0]], dtype=np.float32)])
    assert c.std[0] == pytest.approx(1e-5)
    out = c(np.array([[2.0, 2.0]], dtype=np.float32))
    assert np.isfinite(out).all() and out[0, 0] == 0.0 and out[0, 1] == 0.0


def test_empty_raises():
    with pytest.raises(ValueError, match="no frames"):
        CMVN.estimate([])


def test_identity():
    c = CMVN.identity(4)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_array_equal(c(x), x)


def test_state_round_trip(tmp_path):
    c = CMVN(np.array([1.5, -2.0, 0.25]), np.array([0.5, 2.0, 3.0]))
    p = tmp_path / "cmvn.pt"
    torch.save({"cmvn": c.state()}, p)
    d = torch.load(p, weights_only=True)
    back = CMVN.from_state(d["cmvn"])
    np.testing.assert_array_equal(back.mean, c.mean)
    np.testing.assert_array_equal(back.std, c.std)
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(back(x), c(x))
    # state() holds copies: changing them does not touch the original
    s = c.state()
    s["mean"][0] = 100.0
    assert c.mean[0] == 1.5


# ---- features.cmvn: speaker --------------------------------------------------------------------
def _speaker_records(tmp_path):
    """Two speakers, three utterances each, each speaker offset and scaled differently per dim."""
    from recog.manifest import Utterance

    rng = np.random.default_rng(0)
    utts, feats = [], {}
    for spk, (off, scale) in {"ann": (5.0, 2.0), "bob": (-3.0, 0.5)}.items():
        for k in range(3):
            f = (off + scale * rng.standard_normal((20 + 7 * k, 4))).astype(np.float32)
            p = tmp_path / f"{spk}{k}.npy"
            np.save(p, f)
            utts.append(Utterance(id=f"{spk}{k}", path="x.wav", speaker=spk, feats=str(p), num_frames=len(f)))
            feats[f"{spk}{k}"] = f
    return utts, feats


def test_speaker_cmvn_normalises_each_speaker_over_all_its_frames(tmp_path):
    from recog.features.cmvn import SpeakerCMVN, UtteranceCMVN, normaliser

    utts, feats = _speaker_records(tmp_path)
    norm = normaliser("speaker", None)
    assert isinstance(norm, SpeakerCMVN) and norm.state() is None
    norm.fit(utts, lambda u: np.load(u.feats))
    for spk in ("ann", "bob"):
        out = np.concatenate([norm(feats[u.id], spk) for u in utts if u.speaker == spk])
        np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-4)
        np.testing.assert_allclose(out.std(0), 1.0, atol=1e-4)
        # one utterance alone is not at zero mean: the statistics are the speaker's, not its own
        one = norm(feats[f"{spk}0"], spk)
        assert np.abs(one.mean(0)).max() > 1e-3
    # a speaker it was not fitted on, or none: normalised alone, as per utterance
    x = feats["ann1"]
    np.testing.assert_allclose(norm(x, "zed"), UtteranceCMVN()(x), atol=1e-6)
    np.testing.assert_allclose(norm(x), UtteranceCMVN()(x), atol=1e-6)


def test_decoding_a_manifest_fits_its_speakers(tmp_path):
    """Transcriber.transcribe_manifest computes the manifest's speakers' statistics first."""
    from recog.features.cmvn import SpeakerCMVN
    from recog.infer import Transcriber

    utts, feats = _speaker_records(tmp_path)
    tr = Transcriber.__new__(Transcriber)  # only the normaliser matters here

    class R:
        cmvn = SpeakerCMVN()

    tr.recogniser = R()
    tr.transcribe_items = lambda items, on_error=None: ([], [])
    tr.transcribe_manifest(utts)
    assert sorted(R.cmvn.stats) == ["ann", "bob"]
    got = tr.manifest_features(utts[4]).numpy()
    bob = np.concatenate([feats[u.id] for u in utts if u.speaker == "bob"])
    np.testing.assert_allclose(got, (feats["bob1"] - bob.mean(0)) / bob.std(0), atol=1e-4)


def test_running_cmvn_with_a_prior_starts_from_the_global_statistics():
    """features.cmvn_prior: N: the global statistics count as N frames before the first; a stream
    cut anywhere gives the whole input's outputs; the prior is what the model keeps."""
    from recog.config import Config, ConfigError
    from recog.features.cmvn import CMVN, normaliser, stream_normaliser

    g = CMVN(np.array([1.0, 2.0]), np.array([2.0, 0.5]))
    x = (np.random.default_rng(0).normal(size=(50, 2)) * 3 + 4).astype(np.float32)
    norm = normaliser("running", g.state(), 200)
    out = norm(x)
    n0, x0 = 200, float(x[0, 0])
    mean = (n0 * 1.0 + x0) / (n0 + 1)
    var = (n0 * (2.0**2 + 1.0**2) + x0**2) / (n0 + 1) - mean**2
    assert out[0, 0] == pytest.approx((x0 - mean) / np.sqrt(var), rel=1e-5)
    s = stream_normaliser(norm)
    np.testing.assert_allclose(np.concatenate([s(x[:17]), s(x[17:])]), out, atol=1e-6)
    assert norm.state() is not None and normaliser("running", None, 0).state() is None
    # without the prior frame 0 is normalised by itself alone (to 0)
    assert np.abs(normaliser("running", None)(x)[0]).max() == 0.0
    with pytest.raises(ConfigError, match="cmvn_prior"):
        Config.load(None, ["features.cmvn=utterance", "features.cmvn_prior=10"])
