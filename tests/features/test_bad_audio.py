"""A corpus of awkward and broken audio the tests write themselves: `recog transcribe` and
`recog features` read every good file (odd rates, depths, channel counts, MP3 and Ogg included)
and name every bad one, without stopping."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speech_model
from recog.cli import main
from recog.manifest import Utterance, read_manifest, write_manifest

# lying_header: its header promises 1 s, the file holds 62.5 ms; libsndfile reads what is there
GOOD = ["pcm8", "pcm24", "six_channels", "rate192k", "rate4k", "mp3", "ogg", "flac", "lying_header"]
BAD = {"truncated_flac": "cannot decode audio (Error : flac decoder lost sync.)", "nan": "samples are NaN or infinite",
       "inf": "samples are NaN or infinite", "one_sample": "shorter than one frame", "zero_seconds": "no samples"}


def _speech_like(sr, seconds=0.8, channels=1, seed=0):
    t = np.arange(int(sr * seconds)) / sr
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    x = x + 0.01 * np.random.default_rng(seed).normal(size=t.shape)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32) if channels > 1 else x.astype(np.float32)


def write_bad_audio_corpus(d):
    d.mkdir(parents=True, exist_ok=True)
    sf.write(d / "pcm8.wav", _speech_like(16000), 16000, subtype="PCM_U8")
    sf.write(d / "pcm24.wav", _speech_like(16000), 16000, subtype="PCM_24")
    sf.write(d / "six_channels.wav", _speech_like(16000, channels=6), 16000)
    sf.write(d / "rate192k.wav", _speech_like(192000), 192000)
    sf.write(d / "rate4k.wav", _speech_like(4000), 4000)
    sf.write(d / "mp3.mp3", _speech_like(16000), 16000, format="MP3")
    sf.write(d / "ogg.ogg", _speech_like(16000), 16000, format="OGG", subtype="VORBIS")
    sf.write(d / "flac.flac", _speech_like(16000), 16000)
    sf.write(d / "full.flac", _speech_like(16000, seconds=2), 16000)
    data = (d / "full.flac").read_bytes()
    (d / "truncated_flac.flac").write_bytes(data[: len(data) // 3])
    (d / "full.flac").unlink()
    sf.write(d / "lying_header.wav", _speech_like(16000, seconds=1), 16000, subtype="PCM_16")
    raw = bytearray((d / "lying_header.wav").read_bytes())
    (d / "lying_header.wav").write_bytes(bytes(raw[: 44 + 2000]))  # the header still promises 1 s
    nan = _speech_like(16000)
    nan[100:200] = np.nan
    sf.write(d / "nan.wav", nan, 16000, subtype="FLOAT")
    inf = _speech_like(16000)
    inf[5] = np.inf
    sf.write(d / "inf.wav", inf, 16000, subtype="FLOAT")
    sf.write(d / "one_sample.wav", np.zeros(1, np.float32), 16000)
    sf.write(d / "zero_seconds.wav", np.zeros(0, np.float32), 16000)
    return d


@pytest.fixture
def speech_model(tmp_path):
    return make_speech_model(tmp_path / "m.pt")


def test_transcribe_reads_the_good_files_and_names_each_bad_one(tmp_path, speech_model, capsys):
    d = write_bad_audio_corpus(tmp_path / "audio")
    rc = main(["transcribe", "--model", str(speech_model), str(d)])
    out = capsys.readouterr()
    ids = {line.split(" ")[0] for line in out.out.splitlines()}
    assert ids == set(GOOD) and rc == 1
    for name, why in BAD.items():
        line = next((e for e in out.err.splitlines() if f"{name}." in e), "")
        assert line.startswith("error: ") and why in line, (name, out.err)
    assert f"{len(BAD)} input(s) could not be transcribed" in out.err


def test_features_over_a_corpus_skip_and_name_the_bad_files(tmp_path, capsys):
    d = write_bad_audio_corpus(tmp_path / "audio")
    utts = [Utterance(p.stem, str(p), "aa b") for p in sorted(d.iterdir())]
    write_manifest(tmp_path / "data" / "manifest.jsonl", utts)
    rc = main(["features", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "feats"),
               "features.modality=audio"])
    err = capsys.readouterr().err
    got = {u.id for u in read_manifest(tmp_path / "feats")}
    assert rc == 0 and got == set(GOOD)
    for name, why in BAD.items():
        assert any(f"{name}." in e and why in e for e in err.splitlines()), (name, err)
