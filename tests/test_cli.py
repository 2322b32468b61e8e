"""The recog command line: transcribe (good and bad inputs, JSON output), score, package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TINY, make_speech_model, render_line
from recog.align import read_ctm
from recog.checkpoint import atomic_save, model_dict
from recog.cli import main
from recog.config import Config
from recog.models import build_model
from recog.tokens import SymbolTable


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    cfg = Config.load(None, TINY)
    symbols = SymbolTable.from_texts(["the cat sat on a mat"])
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), path)
    return path


def test_transcribe_reports_bad_files_and_keeps_going(tmp_path, tiny_model, capsys):
    d = tmp_path / "in"
    d.mkdir()
    render_line("the cat").save(d / "good1.png")
    render_line("a mat").convert("RGB").save(d / "good2.jpg")
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    (d / "empty.png").write_bytes(b"")
    Image.fromarray(np.random.rand(32, 80).astype(np.float32), mode="F").save(d / "float.tif")
    (d / "notes.txt").write_text("not an image, ignored in a folder")
    rc = main(["transcribe", "--model", str(tiny_model), str(d)])
    out, err = capsys.readouterr()
    ids = [line.split(" ", 1)[0] for line in out.splitlines()]
    assert ids == ["good1", "good2"]
    assert rc == 1
    assert "corrupt.png" in err and "empty.png: empty file" in err
    assert "float.tif: unsupported image mode 'F'" in err
    assert "3 input(s) could not be transcribed" in err


def test_transcribe_json_has_confidences_and_frames(tmp_path, tiny_model, capsys):
    render_line("the cat").save(tmp_path / "x.png")
    assert main(["transcribe", "--model", str(tiny_model), "--format", "json", str(tmp_path / "x.png")]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["id"] == "x"
    for s in rec["symbols"]:
        assert 0.0 <= s["confidence"] <= 1.0 and 0 <= s["start_frame"] <= s["end_frame"]
    assert "".join(" " if s["symbol"] == "<space>" else s["symbol"] for s in rec["symbols"]).strip() == rec["text"]


def test_transcribe_missing_and_wrong_kind_inputs(tmp_path, tiny_model, capsys):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    rc = main(["transcribe", "--model", str(tiny_model), str(tmp_path / "nope.png"), str(tmp_path / "a.wav")])
    err = capsys.readouterr().err
    assert rc == 2  # nothing left to transcribe
    assert "nope.png: no such file" in err and "a.wav: an audio file, but the model reads image" in err


def test_score_prints_rate_with_sdi(tmp_path, capsys):
    (tmp_path / "ref").write_text("u1 the cat sat\nu2 on a mat\n")
    (tmp_path / "hyp").write_text("u1 the bat sat\nu2 on mat\n")
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--unit", "word",
                 "--per-utt", str(tmp_path / "per_utt")]) == 0
    out = capsys.readouterr().out
    assert "%WER 33.33 [ 2 / 6, 0 ins, 1 del, 1 sub ]" in out
    assert (tmp_path / "per_utt").read_text().count("u") >= 2
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--unit", "char"]) == 0
    assert "%CER" in capsys.readouterr().out


def test_package_strips_training_state(tmp_path, tiny_model):
    ck = torch.load(tiny_model, weights_only=True)
    ck["train_state"] = {"step": 3}
    torch.save(ck, tmp_path / "best.pt")
    assert main(["package", str(tmp_path), str(tmp_path / "pkg"), "--meta", "note=x"]) == 0
    d = torch.load(tmp_path / "pkg" / "model.pt", weights_only=True)
    assert "train_state" not in d and d["meta"]["note"] == "x"


def test_bad_config_key_is_a_clear_error(tmp_path, capsys):
    rc = main(["train", "--train", "x", "--valid", "y", "--exp", str(tmp_path), "train.nope=1"])
    assert rc == 2
    assert "command line override 'train.nope=1': unknown key train.nope" in capsys.readouterr().err


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "recog.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "transcribe" in r.stdout


def test_lm_training_and_fused_nbest_decoding(tmp_path, tiny_model, capsys):
    (tmp_path / "text").write_text("u1 the cat sat\nu2 on a mat\nu3 the mat sat\n")
    assert main(["lm", "--text", str(tmp_path / "text"), "--unit", "char", "--order", "3",
                 "--out", str(tmp_path / "lm.arpa")]) == 0
    arpa = (tmp_path / "lm.arpa").read_text()
    assert arpa.lstrip().startswith("\\data\\") and "ngram 3=" in arpa and "<space>" in arpa
    render_line("the cat").save(tmp_path / "x.png")
    capsys.readouterr()
    assert main(["transcribe", "--model", str(tiny_model), "--beam", "8", "--lm", str(tmp_path / "lm.arpa"),
                 "--alpha", "0.8", "--nbest", "3", str(tmp_path / "x.png")]) == 0
    ids = [line.split(" ", 1)[0] for line in capsys.readouterr().out.splitlines()]
    assert ids == ["x-1", "x-2", "x-3"]
    # an LM without the beam search is refused with a clear message
    assert main(["transcribe", "--model", str(tiny_model), "--lm", str(tmp_path / "lm.arpa"), str(tmp_path / "x.png")]) == 2
    assert "need the beam search" in capsys.readouterr().err


def test_tune_prints_a_grid_and_the_best_pair(tmp_path, tiny_model, capsys):
    from recog.manifest import Utterance, write_manifest

    utts = []
    for i, t in enumerate(["the cat", "a mat"]):
        render_line(t).save(tmp_path / f"v{i}.png")
        utts.append(Utterance(f"v{i}", str(tmp_path / f"v{i}.png"), t))
    write_manifest(tmp_path / "dev" / "manifest.jsonl", utts)
    (tmp_path / "text").write_text("u1 the cat sat\nu2 on a mat\n")
    main(["lm", "--text", str(tmp_path / "text"), "--order", "2", "--out", str(tmp_path / "lm.arpa")])
    capsys.readouterr()
    assert main(["tune", "--model", str(tiny_model), "--data", str(tmp_path / "dev"), "--lm", str(tmp_path / "lm.arpa"),
                 "--alphas", "0,0.5", "--betas", "0,1", "--beam", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([l for l in out if l.strip() and l.split()[0].replace(".", "").isdigit()]) == 4
    assert out[-1].startswith("best: --alpha ")


def test_align_writes_ctm_phn_and_scores_boundaries(tmp_path, capsys):
    import soundfile as sf

    from recog.manifest import Utterance, write_manifest

    make_speech_model(tmp_path / "m.pt")
    t = np.arange(16000) / 16000
    sf.write(tmp_path / "u1.wav", 0.3 * np.sin(2 * np.pi * 300 * t), 16000)
    segs = [[0.1, 0.4, "aa"], [0.4, 0.7, "b"], [0.7, 0.9, "k"]]
    write_manifest(tmp_path / "d" / "manifest.jsonl",
                   [Utterance("u1", str(tmp_path / "u1.wav"), "aa b k", extra={"segments": segs})])
    assert main(["align", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d"),
                 "--out", str(tmp_path / "ali"), "--phn"]) == 0
    out = capsys.readouterr().out
    assert "boundaries within 10 ms" in out and "(4 boundaries, 1 utterances)" in out
    hyp = (tmp_path / "ali" / "hyp.ctm").read_text().split("\n")
    assert [l.split()[4] for l in hyp if l] == ["aa", "b", "k"]
    phn = (tmp_path / "ali" / "u1.PHN").read_text().split("\n")
    assert [l.split()[2] for l in phn if l] == ["aa", "b", "k"]
    # scoring the reference against itself is perfect
    assert main(["score", "--boundaries", str(tmp_path / "ali" / "ref.ctm"), str(tmp_path / "ali" / "ref.ctm")]) == 0
    assert "10 ms 100.0%" in capsys.readouterr().out
    # per-phone corrections fitted on this data move every start onto the reference here
    assert main(["align", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d"), "--out",
                 str(tmp_path / "ali2"), "--fit-offsets", str(tmp_path / "off.json")]) == 0
    assert set(json.loads((tmp_path / "off.json").read_text())) == set()  # one utterance: under min_count
    (tmp_path / "off.json").write_text('{"aa": 0.05, "b": -0.02}')
    capsys.readouterr()
    assert main(["align", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d"), "--out",
                 str(tmp_path / "ali3"), "--offsets", str(tmp_path / "off.json")]) == 0
    assert "without offsets: boundaries" in capsys.readouterr().out
    before = read_ctm(tmp_path / "ali" / "hyp.ctm")["u1"]
    after = read_ctm(tmp_path / "ali3" / "hyp.ctm")["u1"]
    assert round(after[0].start - before[0].start, 3) == 0.05
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert main(["align", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d"), "--out",
                 str(tmp_path / "ali4"), "--offsets", str(tmp_path / "bad.json")]) == 2
    assert "bad.json: not a JSON object" in capsys.readouterr().err


def test_transcribe_audio_rates_channels_sphere_and_corrupt(tmp_path, capsys):
    import soundfile as sf

    make_speech_model(tmp_path / "m.pt")
    d = tmp_path / "in"
    d.mkdir()
    t8, t44 = np.arange(8000) / 8000, np.arange(44100) / 44100
    sf.write(d / "rate8k.wav", 0.3 * np.sin(2 * np.pi * 200 * t8), 8000)
    sf.write(d / "stereo.flac", np.stack([np.sin(2 * np.pi * 300 * t44), np.sin(2 * np.pi * 500 * t44)], 1) * 0.2, 44100)
    sf.write(d / "sphere.sph", 0.3 * np.sin(2 * np.pi * 250 * t8[:4000]), 16000, format="NIST", subtype="PCM_16")
    assert (d / "sphere.sph").read_bytes().startswith(b"NIST_1A")
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    rc = main(["transcribe", "--model", str(tmp_path / "m.pt"), "--format", "json", str(d)])
    out, err = capsys.readouterr()
    recs = [json.loads(l) for l in out.splitlines()]
    assert sorted(r["id"] for r in recs) == ["rate8k", "sphere", "stereo"]
    for r in recs:  # audio models report times in seconds (20 ms per output frame here)
        assert all(abs(s["start"] - 0.02 * s["start_frame"]) < 1e-6 for s in r["symbols"])
    assert rc == 1 and "corrupt.wav: cannot decode audio" in err


def test_score_into_a_closed_pipe_stops_quietly(tmp_path):
    # `recog score REF HYP | head -1` where head has already left: a pipe with no reader
    (tmp_path / "ref").write_text("u1 the cat sat\n")
    (tmp_path / "hyp").write_text("u1 the bat sat\n")
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([sys.executable, "-m", "recog.cli", "score", str(tmp_path / "ref"),
                            str(tmp_path / "hyp")], stdout=w, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(w)
    assert p.returncode == 141, p.stderr
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


def test_score_per_speaker_gender_and_age(tmp_path, capsys):
    (tmp_path / "ref").write_text("u1 a b c d\nu2 a b\nu3 a b c d\nu4 a\n")
    (tmp_path / "hyp").write_text("u1 a b c d\nu2 a x\nu3 b c\nu4 a\n")
    d = tmp_path / "spk"
    d.mkdir()
    (d / "utt2spk").write_text("u1 s1\nu2 s1\nu3 s2\nu4 s3\n")
    (d / "spk2gender").write_text("s1 f\ns2 m\ns3 m\n")
    (d / "spk2age").write_text("s1 7\ns2 30\ns3 15\n")
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--unit", "phone", "--per-spk", str(d)]) == 0
    rows = {" ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
    # s1: 1 error in 6; s2: 2 deletions in 4; s3: none
    assert {"s2 1 4 2 50.00", "s1 2 6 1 16.67", "s3 1 1 0 0.00"} <= rows
    assert "3 speakers: mean 22.22, median 16.67, best 0.00, worst 50.00" in rows
    assert {"m 2 5 2 40.00", "f 2 6 1 16.67"} <= rows
    assert {"child (<=12) 2 6 1 16.67", "adult (18+) 1 4 2 50.00", "teen (13-17) 1 1 0 0.00"} <= rows
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--per-spk", str(tmp_path)]) == 2
    assert "utt2spk: not found" in capsys.readouterr().err


def test_align_writes_praat_textgrids_with_words_that_read_back(tmp_path, capsys):
    import soundfile as sf

    from data_prep.textgrid import read_textgrid
    from recog.manifest import Utterance, write_manifest

    make_speech_model(tmp_path / "m.pt")
    t = np.arange(16000) / 16000
    sf.write(tmp_path / "u1.wav", 0.3 * np.sin(2 * np.pi * 300 * t), 16000)
    write_manifest(tmp_path / "d" / "manifest.jsonl", [
        Utterance("u1", str(tmp_path / "u1.wav"), "aa b k", extra={"words": "AB \"K\""}),
        Utterance("u2", str(tmp_path / "u1.wav"), "aa b k", extra={"words": "BA K"})])
    (tmp_path / "lex.txt").write_text('AB AA1 B\n"K" K\nBA B AA1\n')
    assert main(["align", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d"), "--out",
                 str(tmp_path / "ali"), "--textgrid", "--lexicon", str(tmp_path / "lex.txt")]) == 0
    assert "1 utterances have no words tier" in capsys.readouterr().err
    text = (tmp_path / "ali" / "u1.TextGrid").read_text()
    assert text.startswith('File type = "ooTextFile"\nObject class = "TextGrid"\n') and '"""K"""' in text
    tg = read_textgrid(tmp_path / "ali" / "u1.TextGrid")
    assert tg.names == ["words", "phones"]
    ctm = read_ctm(tmp_path / "ali" / "hyp.ctm")["u1"]
    phones = [(i.xmin, i.xmax, i.text) for i in tg.tier("phones").intervals if i.text]
    assert phones == [(round(s.start, 4), round(s.end, 4), s.symbol) for s in ctm]
    words = [(i.xmin, i.xmax, i.text) for i in tg.tier("words").intervals if i.text]
    assert words == [(phones[0][0], phones[1][1], "AB"), (phones[2][0], phones[2][1], '"K"')]
    for tier in tg.tiers:  # intervals tile the whole file, as Praat requires
        iv = tier.intervals
        assert iv[0].xmin == 0 and iv[-1].xmax == tg.xmax
        assert all(a.xmax == b.xmin for a, b in zip(iv, iv[1:]))
    assert read_textgrid(tmp_path / "ali" / "u2.TextGrid").names == ["phones"]
