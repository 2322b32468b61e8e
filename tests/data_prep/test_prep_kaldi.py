"""recog prep kaldi: Kaldi data dirs (wav.scp, segments, text, utt2spk/spk2utt, spk2gender, spk2age)
with a lexicon, read into manifests with TIMIT-39 phones, and written back as Kaldi dirs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import KALDI_LEXICON as LEXICON
from conftest import make_kaldi_corpus as _corpus
from conftest import write_noise_wav as _wav
from data_prep.kaldi import main, prepare_kaldi, split_speakers
from recog.manifest import Utterance, read_manifest, read_text
from recog.tokens import SymbolTable

def test_words_become_folded_phones_with_speakers_gender_and_age(tmp_path):
    root = _corpus(tmp_path / "so")
    out = tmp_path / "data"
    splits = prepare_kaldi({"train": root / "train", "test": root / "test"}, out, lexicon=root / "resource/lexicon.txt")
    train = {u.id: u for u in read_manifest(out / "train")}
    u = train["00010000"]
    # CALL: first pronunciation K AO1 L; AO folds to aa (Lee & Hon); stress dropped
    assert u.text == "w iy k aa l ih t b eh r"
    assert u.speaker == "0001" and u.extra["gender"] == "m" and u.extra["age"] == 6
    assert u.extra["words"] == "WE CALL IT BEAR"
    assert u.path == str((root / "WAVE/SPEAKER0001/00010000.WAV").absolute())
    assert read_text(out / "train" / "text")["00010001"] == "z ih r ow"
    assert len(splits["train"]) == 8 and len(splits["test"]) == 2
    # the table holds every phone the map can give, so English corpora share it
    table = SymbolTable.read(out / "tokens.txt")
    assert table.unit == "phone" and len(table) == 38 and "zh" not in table.index and "sh" in table.index
    assert (out / "test" / "spk2age").read_text() == "0009 25\n"
    assert (out / "train" / "utt2spk").read_text().splitlines()[0] == "00010000 0001"


def test_word_prons_choose_the_pronunciation_per_utterance(tmp_path):
    root = _corpus(tmp_path / "so")
    prons = tmp_path / "text-phone"
    prons.write_text("00010000.1\tK_B AA1_I L_E\n00010000.3\tB_B EH1_I R_E\nbadkey AA\n")
    prepare_kaldi({"train": root / "train"}, tmp_path / "data", lexicon=root / "resource/lexicon.txt",
                  word_prons=prons)
    # word 1 (CALL) from the file, words 0 and 2 from the lexicon; position tags dropped
    assert read_text(tmp_path / "data/train/text")["00010000"] == "w iy k aa l ih t b eh r"


def test_segments_are_cut_from_their_recordings(tmp_path, capsys):
    d = tmp_path / "kaldi"
    d.mkdir()
    rec = _wav(tmp_path / "audio" / "rec1.wav", 2.0, seed=3)
    (d / "wav.scp").write_text(f"rec1 {tmp_path / 'audio' / 'rec1.wav'}\nrec2 sox x.wav -t wav - |\n")
    (d / "segments").write_text("a rec1 0.25 0.75\nb rec1 1.5 -1\nc rec2 0 1\nd rec1 1.9 2.5\ne rec1 x 1\n")
    (d / "text").write_text("a WE\nb IT\nc WE\nd WE\ne WE\n")
    (d / "spk2utt").write_text("s1 a b c d e\n")
    lex = tmp_path / "lex.txt"
    lex.write_text(LEXICON)
    out = tmp_path / "data"
    prepare_kaldi({"train": d}, out, lexicon=lex)
    utts = {u.id: u for u in read_manifest(out / "train")}
    assert sorted(utts) == ["a", "b"]
    a, _ = sf.read(utts["a"].path, dtype="float32")
    np.testing.assert_array_equal(a, rec[4000:12000])
    b, _ = sf.read(utts["b"].path, dtype="float32")
    np.testing.assert_array_equal(b, rec[24000:])
    msg = capsys.readouterr().err
    assert f"{d / 'wav.scp'}:2: rec2 is a command" in msg
    assert f"{d / 'segments'}:4: 1.9-2.5 s is not inside rec1.wav" in msg
    assert f"{d / 'segments'}:5: times x 1 are not numbers" in msg


def test_bad_lines_and_unknown_words_are_reported_by_file_and_line(tmp_path, capsys):
    root = _corpus(tmp_path / "so")
    with open(root / "train" / "text", "a") as f:
        f.write("00040009 HELLO WE\n00040008\n")
    with open(root / "train" / "utt2spk", "a") as f:
        f.write("00040009 0004\n00040008 0004 extra\n")
    prepare_kaldi({"train": root / "train"}, tmp_path / "data", lexicon=root / "resource/lexicon.txt")
    err = capsys.readouterr().err
    assert f"{root / 'train' / 'text'}:9: 00040009: word 'HELLO' not in the lexicon; skipped" in err
    assert f"{root / 'train' / 'utt2spk'}:10: expected 2 fields, got 3; skipped" in err
    assert len(read_manifest(tmp_path / "data" / "train")) == 8


def test_valid_speakers_are_whole_speakers_spread_over_strata():
    utts = [Utterance(f"{s}-{i}", "x", "a", s, extra={"gender": g, "age": a})
            for s, g, a in [("c1", "m", 6), ("c2", "f", 7), ("a1", "m", 30), ("a2", "f", 31), ("a3", "f", 40),
                            ("c3", "m", 8)] for i in range(3)]
    kept, moved = split_speakers(utts, 4, seed=1)
    ks, ms = {u.speaker for u in kept}, {u.speaker for u in moved}
    assert not ks & ms and len(ms) == 4 and len(moved) == 12
    strata = {(u.extra["gender"], u.extra["age"] <= 12) for u in moved}
    assert len(strata) == 4  # one speaker of each (gender, child) stratum first
    assert split_speakers(utts, 4, seed=1)[1] == moved


def test_kaldi_out_round_trips(tmp_path):
    root = _corpus(tmp_path / "so")
    out, kout = tmp_path / "data", tmp_path / "kaldi"
    assert main(["--dir", f"train={root / 'train'}", "--dir", f"test={root / 'test'}", "--lexicon",
                 str(root / "resource/lexicon.txt"), "--valid-from", "train", "--valid-speakers", "1",
                 "--out", str(out), "--kaldi-out", str(kout)]) == 0
    assert (kout / "valid" / "spk2utt").read_text().count("\n") == 1
    # the written dirs read back (phones as the text: --unit phone, no lexicon) to the same labels
    again = tmp_path / "again"
    assert main(["--dir", f"train={kout / 'train'}", "--dir", f"valid={kout / 'valid'}", "--unit", "phone",
                 "--out", str(again)]) == 0
    for s in ("train", "valid"):
        a, b = ({u.id: (u.text, u.speaker, u.path, u.extra.get("gender"), u.extra.get("age"))
                 for u in read_manifest(d / s)} for d in (out, again))
        assert a == b and a
    assert json.loads((again / "train" / "manifest.jsonl").read_text().splitlines()[0])["speaker"]


def test_cli_errors(tmp_path, capsys):
    assert main(["--dir", f"train={tmp_path / 'nope'}", "--out", str(tmp_path / "o")]) == 2
    assert "nope: data dir not found" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    assert main(["--dir", f"train={tmp_path / 'd'}", "--out", str(tmp_path / "o")]) == 2
    assert "not a Kaldi data dir (wav.scp missing)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--dir", "train", "--out", str(tmp_path / "o")])
