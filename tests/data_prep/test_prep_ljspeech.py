"""data_prep.ljspeech on 12 tiny clips with MFA-style TextGrids."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep.ljspeech import assign_splits, main, map_phone, prepare_ljspeech, read_arpabet_map
from recog.manifest import read_manifest, read_text
from recog.tokens import SymbolTable

SR = 22050
# (text, xmin, xmax) of the phones tier of every clip: leading silence, a word, a short pause,
# another word, trailing empty interval
PHONES = [("", 0.0, 0.05), ("DH", 0.05, 0.1), ("AH0", 0.1, 0.15), ("sp", 0.15, 0.2),
          ("K", 0.2, 0.26), ("AO1", 0.26, 0.33), ("ZH", 0.33, 0.4), ("sil", 0.4, 0.45), ("", 0.45, 0.5)]
EXPECTED = "dh ah k aa sh"
MAP = "# test map\nAH0\tah\nDH\tdh\nK\tk\nAO\taa\nZH\tsh\nsil\tsil\nsp\tsil\n\tsil\nspn\t<del>\n"


def _textgrid(intervals: list[tuple[str, float, float]]) -> str:
    xmax = intervals[-1][2]
    rows = "".join(
        f"\t\t\tintervals [{k}]:\n\t\t\t\txmin = {a}\n\t\t\t\txmax = {b}\n\t\t\t\ttext = \"{t}\"\n"
        for k, (t, a, b) in enumerate(intervals, 1))
    return (f'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0.0\nxmax = {xmax}\n'
            f"tiers? <exists>\nsize = 2\nitem []:\n"
            f'\titem [1]:\n\t\tclass = "IntervalTier"\n\t\tname = "words"\n\t\txmin = 0.0\n'
            f'\t\txmax = {xmax}\n\t\tintervals: size = 1\n\t\t\tintervals [1]:\n\t\t\t\txmin = 0.0\n'
            f'\t\t\t\txmax = {xmax}\n\t\t\t\ttext = "the cause"\n'
            f'\titem [2]:\n\t\tclass = "IntervalTier"\n\t\tname = "phones"\n\t\txmin = 0.0\n'
            f"\t\txmax = {xmax}\n\t\tintervals: size = {len(intervals)}\n{rows}")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "lj"
    (root / "flac").mkdir(parents=True)
    (root / "TextGrid").mkdir()
    t = np.arange(int(0.5 * SR)) / SR
    wav = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    for i in range(1, 13):
        uid = f"LJ001-{i:04d}"
        sf.write(root / "flac" / f"{uid}.flac", wav, SR, format="FLAC")
        (root / "TextGrid" / f"{uid}.TextGrid").write_text(_textgrid(PHONES))
    (root / "map.txt").write_text(MAP)
    (root / "metadata_subset.csv").write_text("LJ001-0001|The cause.|the cause\n")
    return root


def test_map_and_splits():
    table = read_arpabet_map()  # the packaged map
    assert table[""] == "sil" and table["spn"] == "<del>" and table["ZH"] == "sh"
    assert map_phone("AO1", table) == "aa" and map_phone("ER0", table) == "er"
    assert map_phone("XX1", table) is None
    ids = [f"c{i:03d}" for i in range(100)]
    sp = assign_splits(list(reversed(ids)))
    assert sum(v == "test" for v in sp.values()) == 10 and sp["c009"] == "test"
    assert sum(v == "valid" for v in sp.values()) == 4  # every 20th of the 90 left


def test_prepare_ljspeech(corpus: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    res = prepare_ljspeech(corpus, out, map_path=corpus / "map.txt")
    ids = {k: {u.id for u in v} for k, v in res.items()}
    assert ids["test"] == {"LJ001-0010"} and ids["valid"] == set()
    assert len(ids["train"]) == 11
    assert not (ids["train"] & ids["test"])
    utts = read_manifest(out / "train")
    u = utts[0]
    assert u.id == "LJ001-0001" and u.text == EXPECTED and u.speaker == "lj"
    assert u.extra["sentence"] == "the cause"
    assert u.extra["segments"] == [[0.05, 0.1, "dh"], [0.1, 0.15, "ah"], [0.2, 0.26, "k"],
                                   [0.26, 0.33, "aa"], [0.33, 0.4, "sh"]]
    assert "sil" not in SymbolTable.read(out / "tokens.txt").symbols
    assert read_text(out / "test" / "text") == {"LJ001-0010": EXPECTED}


def test_bad_clips_and_spn(corpus: Path, tmp_path: Path, capsys):
    tg = corpus / "TextGrid"
    (tg / "LJ001-0002.TextGrid").write_text(_textgrid(PHONES[:3] + [("spn", 0.15, 0.5)]))
    (tg / "LJ001-0003.TextGrid").write_text(_textgrid(PHONES[:3] + [("QQ1", 0.15, 0.5)]))
    (tg / "LJ001-0004.TextGrid").unlink()
    (tg / "LJ001-0005.TextGrid").write_text("garbage")
    (corpus / "flac" / "LJ001-0006.flac").write_bytes(b"")
    res = prepare_ljspeech(corpus, tmp_path / "o", map_path=corpus / "map.txt")
    err = capsys.readouterr().err
    kept = {u.id for v in res.values() for u in v}
    assert kept == {f"LJ001-{i:04d}" for i in (1, 7, 8, 9, 10, 11, 12)}
    assert "LJ001-0003.TextGrid" in err and "QQ1" in err and "LJ001-0004" in err
    assert "LJ001-0005.TextGrid" in err and "LJ001-0006.flac" in err and "spn" in err
    assert res["test"][0].id == "LJ001-0010"  # splits do not move when clips are skipped
    # --keep-spn keeps the clip without labelling the spn stretch
    shutil.rmtree(tmp_path / "o")
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "o"), "--map",
                 str(corpus / "map.txt"), "--keep-spn"]) == 0
    spn = {u.id: u for u in read_manifest(tmp_path / "o" / "train")}["LJ001-0002"]
    assert spn.text == "dh ah"
    assert main(["--corpus", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
