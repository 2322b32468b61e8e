"""data_prep.timit and recog.phones on a tiny corpus written in TIMIT's exact layout (NIST SPHERE)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep.timit import main, prepare_timit, read_phn, read_speaker_list
from recog.features.audio import load_audio
from recog.manifest import read_manifest, read_text
from recog.phones import (PHONES_39, PHONES_48, PHONES_61, SILENCES, data_path, fold, fold_text,
                          load_phone_map)
from recog.tokens import SymbolTable

SR = 16000
SENT = "She had your dark suit in greasy wash water all year."
# an SI utterance whose phones exercise the folds: q deletion, ix, ax-h, zh, closures, epi, pau, h#
PHN_61 = ("h# q ix ax-h zh bcl b epi pau ux hv axr el em en eng nx ao ax dx tcl t kcl k "
          "gcl g dcl d pcl p h#")
# by hand from the map: h#->sil, q deleted, ix->ix, ax-h->ax, bcl->vcl, pau->sil, ux->uw,
# hv->hh, axr->er, em->m, eng->ng, nx->n, tcl/kcl/pcl->cl, gcl/dcl->vcl; epi, el, en, ao, zh stay
PHN_48 = ("sil ix ax zh vcl b epi sil uw hh er el m en ng n ao ax dx cl t cl k "
          "vcl g vcl d cl p sil")
# ... and on to 39: ix->ih, ax->ah, zh->sh, vcl/cl/epi->sil, el->l, en->n, ao->aa
PHN_39 = ("sil ih ah sh sil b sil sil uw hh er l m n ng n aa ah dx sil t sil k "
          "sil g sil d sil p sil")
SA1_61 = "h# sh ix hv eh dcl jh ih dcl d ah kcl k s ux q en gcl g r ix s ix w ao sh epi w ao dx axr ao l y ih axr h#"
SX_61 = "h# dh ix s ah n pau w aa z h#"

DEV_SPK = "faks0"   # in the 50-speaker dev list (TEST/DR1 in real TIMIT)
CORE_SPK = "mdab0"  # in the 24-speaker core test list (TEST/DR1)
OTHER_SPK = "mabc0"  # a TEST speaker in neither list


def _write_utt(spk_dir: Path, utt: str, phones: str, upper: bool = True, sentence: str = SENT) -> None:
    """<utt>.WAV (NIST SPHERE) + .PHN + .WRD + .TXT, sample-exact, 400 samples per phone."""
    spk_dir.mkdir(parents=True, exist_ok=True)
    name = (lambda s: s.upper()) if upper else (lambda s: s.lower())
    ps = phones.split()
    n = 400 * len(ps)
    t = np.arange(n) / SR
    wav = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = spk_dir / name(f"{utt}.wav")
    sf.write(path, wav, SR, format="NIST", subtype="PCM_16")
    assert path.read_bytes().startswith(b"NIST_1A")
    (spk_dir / name(f"{utt}.phn")).write_text(
        "".join(f"{400 * i} {400 * (i + 1)} {p}\n" for i, p in enumerate(ps)))
    words = sentence.rstrip(".").lower().split()
    step = n // len(words)
    (spk_dir / name(f"{utt}.wrd")).write_text(
        "".join(f"{step * i} {step * (i + 1)} {w}\n" for i, w in enumerate(words)))
    (spk_dir / name(f"{utt}.txt")).write_text(f"0 {n} {sentence}\n")


@pytest.fixture
def timit(tmp_path: Path) -> Path:
    root = tmp_path / "timit" / "TIMIT"
    tr = root / "TRAIN"
    _write_utt(tr / "DR1" / "FCJF0", "SA1", SA1_61)
    _write_utt(tr / "DR1" / "FCJF0", "SI648", PHN_61)
    _write_utt(tr / "DR1" / "FCJF0", "SX37", SX_61)
    _write_utt(tr / "DR2" / "MAEB0", "SA2", SA1_61)
    _write_utt(tr / "DR2" / "MAEB0", "SX450", SX_61)
    # lower-case variant: folder and file names
    _write_utt(tr / "DR3" / "mbjv0", "si1247", SX_61, upper=False)
    _write_utt(tr / "DR3" / "mbjv0", "sa1", SA1_61, upper=False)
    te = root / "TEST"
    _write_utt(te / "DR1" / DEV_SPK.upper(), "SI1573", SX_61)
    _write_utt(te / "DR1" / DEV_SPK.upper(), "SX43", SX_61)
    _write_utt(te / "DR1" / DEV_SPK.upper(), "SA1", SA1_61)
    _write_utt(te / "DR1" / CORE_SPK.upper(), "SI1039", SX_61)
    _write_utt(te / "DR1" / CORE_SPK.upper(), "SX139", SX_61)
    _write_utt(te / "DR1" / CORE_SPK.upper(), "SA2", SA1_61)
    _write_utt(te / "DR2" / OTHER_SPK.upper(), "SI1000", SX_61)
    # bad data: audio without .PHN, .PHN with an unreadable audio file, a phone TIMIT lacks
    _write_utt(tr / "DR1" / "FCJF0", "SX127", SX_61)
    (tr / "DR1" / "FCJF0" / "SX127.PHN").unlink()
    _write_utt(tr / "DR2" / "MAEB0", "SI1411", SX_61)
    (tr / "DR2" / "MAEB0" / "SI1411.WAV").write_bytes(b"this is not audio" * 10)
    _write_utt(tr / "DR2" / "MAEB0", "SX90", "h# zz h#")
    return tmp_path / "timit"


def test_packaged_lists_and_map():
    dev, core = read_speaker_list(data_path("timit_dev_spk.list")), read_speaker_list(
        data_path("timit_core_test_spk.list"))
    assert len(dev) == 50 and len(core) == 24 and not set(dev) & set(core)
    assert DEV_SPK in dev and CORE_SPK in core and OTHER_SPK not in dev + core
    assert (len(PHONES_61), len(PHONES_48), len(PHONES_39)) == (61, 48, 39)
    assert {"h#", "pau", "epi", "q"} <= set(PHONES_61)
    assert {"h#", "pau", "epi", "bcl", "tcl", "vcl", "cl", "sil"} <= SILENCES


def test_folding_by_hand():
    m = load_phone_map()
    assert fold(PHN_61.split(), 48) == PHN_48.split()
    assert fold(PHN_61.split(), 39) == PHN_39.split()
    assert fold_text(PHN_48, 39) == PHN_39  # 48 -> 39 gives the same answer
    assert fold_text(PHN_61, 61) == PHN_61 and "q" not in fold_text(PHN_61, 60).split()
    assert m.to48("q") is None and m.to39("q") is None
    assert m.to48("h#") == "sil" and m.to48("epi") == "epi" and m.to39("epi") == "sil"
    assert m.to39("zh") == "sh" and m.to39("ax-h") == "ah" and m.to39("ix") == "ih"
    with pytest.raises(ValueError, match="zz"):
        fold(["aa", "zz"], 39)


def test_prepare_timit(timit: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    res = prepare_timit(timit, out)
    err = capsys.readouterr().err
    spk = {name: {u.speaker for u in utts} for name, utts in res.items()}
    assert spk == {"train": {"fcjf0", "maeb0", "mbjv0"}, "dev": {DEV_SPK}, "test": {CORE_SPK}}
    ids = {name: sorted(u.id for u in utts) for name, utts in res.items()}
    assert ids == {"train": ["fcjf0_si648", "fcjf0_sx37", "maeb0_sx450", "mbjv0_si1247"],
                   "dev": [f"{DEV_SPK}_si1573", f"{DEV_SPK}_sx43"],
                   "test": [f"{CORE_SPK}_si1039", f"{CORE_SPK}_sx139"]}
    # bad files are named in warnings and skipped
    assert "SX127" in err and "SI1411.WAV" in err and "SX90.PHN" in err and "zz" in err

    train = read_manifest(out / "train")
    u = next(x for x in train if x.id == "fcjf0_si648")
    assert u.text == PHN_61 and u.speaker == "fcjf0"
    assert u.path.endswith("TRAIN/DR1/FCJF0/SI648.WAV")
    assert u.extra["phn"].endswith("SI648.PHN") and u.extra["sentence"] == SENT
    assert u.extra["dialect"] == "dr1"
    assert read_phn(u.extra["phn"])[:2] == [(0, 400, "h#"), (400, 800, "q")]
    lc = next(x for x in train if x.id == "mbjv0_si1247")
    assert lc.path.endswith("mbjv0/si1247.wav") and lc.extra["phn"].endswith("si1247.phn")
    assert read_text(out / "train" / "text.39")["fcjf0_si648"] == PHN_39
    assert read_text(out / "train" / "text")["fcjf0_si648"] == PHN_61
    table = SymbolTable.read(out / "tokens.txt")
    assert table.unit == "phone" and "q" in table.index and "h#" in table.index

    wav = load_audio(u.path, SR)
    assert wav.shape[0] == 400 * len(PHN_61.split()) and float(wav.abs().max()) > 0.1


def test_fold_48_and_cli(timit: Path, tmp_path: Path):
    out = tmp_path / "out48"
    assert main(["--corpus", str(timit), "--out", str(out), "--phones", "48"]) == 0
    text = read_text(out / "train" / "text")
    assert text["fcjf0_si648"] == PHN_48
    assert read_text(out / "train" / "text.39")["fcjf0_si648"] == PHN_39
    syms = set(SymbolTable.read(out / "tokens.txt").symbols)
    assert "q" not in syms and "h#" not in syms and "sil" in syms
    rec = json.loads((out / "dev" / "manifest.jsonl").read_text().splitlines()[0])
    assert rec["speaker"] == DEV_SPK and rec["phn"].endswith(".PHN")
    assert main(["--corpus", str(tmp_path / "nowhere"), "--out", str(out)]) == 2


def test_lowercase_tree_and_list_override(tmp_path: Path):
    root = tmp_path / "lc"
    _write_utt(root / "train" / "dr1" / "fcjf0", "si648", PHN_61, upper=False)
    _write_utt(root / "test" / "dr2" / OTHER_SPK, "sx1", SX_61, upper=False)
    _write_utt(root / "test" / "dr1" / CORE_SPK, "sx139", SX_61, upper=False)
    dev = tmp_path / "dev.list"
    dev.write_text(f"# my dev speakers\n{OTHER_SPK.upper()}\n")
    core = tmp_path / "core.list"
    core.write_text("mdab0\n")
    res = prepare_timit(root, tmp_path / "o", phones=39, dev_spk=dev, core_spk=core)
    assert [u.id for u in res["dev"]] == [f"{OTHER_SPK}_sx1"]
    assert [u.id for u in res["test"]] == [f"{CORE_SPK}_sx139"]
    assert res["train"][0].text == PHN_39
