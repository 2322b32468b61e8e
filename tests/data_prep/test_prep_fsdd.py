"""data_prep.fsdd: speaker-held-out splits and lexicon transcripts on a tiny fixture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep.fsdd import LEXICON, main, parse_name, prepare_fsdd
from recog.manifest import read_manifest, read_text
from recog.phones import PHONES_39
from recog.tokens import SymbolTable

SPEAKERS = ("george", "jackson", "theo")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "fsdd" / "flac"
    d.mkdir(parents=True)
    wav = (0.3 * np.sin(np.arange(2000) / 3)).astype(np.float32)
    for spk in SPEAKERS:
        for digit in (0, 4, 7):
            for idx in (0, 1):
                sf.write(d / f"{digit}_{spk}_{idx}.flac", wav, 8000, format="FLAC")
    sf.write(d / "9_theo_2.wav", wav, 8000)  # .wav is read too
    (d / "notes_x.flac").write_bytes(b"")  # not a digit recording
    (d / "3_george_5.flac").write_bytes(b"bad")  # unreadable
    return tmp_path / "fsdd"


def test_lexicon_is_timit39():
    assert set(LEXICON) == set(range(10))
    for pron in LEXICON.values():
        assert set(pron.split()) <= set(PHONES_39)
    assert LEXICON[4] == "f aa r" and LEXICON[0] == "z ih r ow" and LEXICON[7] == "s eh v ah n"
    assert parse_name("7_jackson_32") == (7, "jackson", 32) and parse_name("x_y") is None


def test_default_splits(corpus: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    res = prepare_fsdd(corpus, out)
    err = capsys.readouterr().err
    assert {u.speaker for u in res["test"]} == {"theo"}
    assert {u.speaker for u in res["valid"]} == {"jackson"}
    assert {u.speaker for u in res["train"]} == {"george"}
    assert len(res["test"]) == 7 and len(res["train"]) == 6
    assert "notes_x.flac" in err and "3_george_5.flac" in err
    test = {u.id: u for u in read_manifest(out / "test")}
    assert test["9_theo_2"].text == "n ay n" and test["9_theo_2"].extra["digit"] == 9
    assert test["4_theo_1"].text == "f aa r" and test["4_theo_1"].extra["digit"] == 4
    assert read_text(out / "train" / "text")["0_george_0"] == "z ih r ow"
    assert SymbolTable.read(out / "tokens.txt").unit == "phone"


def test_named_speakers(corpus: Path, tmp_path: Path):
    out = tmp_path / "o"
    assert main(["--corpus", str(corpus), "--out", str(out), "--test-speakers", "george,jackson",
                 "--valid-speakers", ""]) == 0
    assert {u.speaker for u in read_manifest(out / "test")} == {"george", "jackson"}
    assert {u.speaker for u in read_manifest(out / "train")} == {"theo"}
    assert not (out / "valid").exists()
    assert main(["--corpus", str(corpus), "--out", str(out), "--test-speakers", "nobody"]) == 2


def test_digit_labels(corpus: Path, tmp_path: Path):
    """--target digit: the digit's word is the transcript (a label), tokens.txt the words seen."""
    out = tmp_path / "labels"
    assert main(["--corpus", str(corpus), "--out", str(out), "--target", "digit"]) == 0
    assert read_text(out / "test" / "text")["9_theo_2"] == "nine"
    assert read_text(out / "train" / "text")["4_george_1"] == "four"
    assert {u.id: u for u in read_manifest(out / "test")}["9_theo_2"].extra["label"] == "nine"
    table = SymbolTable.read(out / "tokens.txt")
    assert set(table.symbols) >= {"zero", "four", "seven"} and "f" not in table.symbols
    with pytest.raises(ValueError, match="target"):
        prepare_fsdd(corpus, tmp_path / "x", target="letters")
