"""data_prep.synth_timit (with its timit_phones, timit_segments, sentences, synth_timit_plan) and
data_prep.espeak: a tiny synthetic TIMIT (8 utterances, 4 speakers).

The tests that synthesize need espeak-ng (``apt-get install espeak-ng``) and are skipped without
it; the plan, the phone map and the segment arithmetic are tested without it."""

from __future__ import annotations

import ctypes
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep import espeak
from data_prep import sentences
from data_prep import synth_timit as st
from data_prep import synth_timit_plan as plan
from data_prep import timit_phones as tp
from data_prep import timit_segments as seg

HAVE_ESPEAK = espeak.available()
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")
N_SPK, N_UTT = 4, 2


def _build(out: Path, jobs: int) -> dict:
    return st.build_corpus(out, seed=7, jobs=jobs, speakers=N_SPK, utts_per_speaker=N_UTT,
                           text="builtin", progress=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    if not HAVE_ESPEAK:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = tmp_path_factory.mktemp("synth") / "corpus"
    _build(out, jobs=2)
    return out


def _utts(root: Path) -> list[Path]:
    """The utterance stems (path without extension) of a corpus."""
    return sorted(p.with_suffix("") for p in root.glob("*/DR*/*/*.WAV"))


def _phn(stem: Path) -> list[tuple[int, int, str]]:
    rows = [ln.split() for ln in stem.with_suffix(".PHN").read_text().splitlines() if ln.strip()]
    return [(int(a), int(b), c) for a, b, c in rows]


# --- without espeak-ng -------------------------------------------------------------------------

def test_event_struct_layout():
    # offsets of espeak_EVENT in speak_lib.h on x86_64 (checked there with offsetof)
    E = espeak.EspeakEvent
    offs = {name: getattr(E, name).offset for name, _ in E._fields_}
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert offs == {"type": 0, "unique_identifier": 4, "text_position": 8, "length": 12,
                        "audio_position": 16, "sample": 20, "user_data": 24, "id": 32}
        assert ctypes.sizeof(E) == 40


def test_phone_map_targets_timit61():
    assert len(tp.TIMIT61) == 61
    for table in (tp.PHONE_MAP, tp.RHOTIC_MAP):
        for name, phones in table.items():
            assert phones and set(phones) <= tp.TIMIT61, name
    assert tp.map_phoneme("_:") == ("pau",) and tp.map_phoneme("_") == ("pau",)
    assert tp.map_phoneme("aI") == ("ay",) and tp.map_phoneme("tS") == ("tcl", "ch")
    assert tp.map_phoneme("b") == ("bcl", "b") and tp.map_phoneme("t#") == ("dx",)
    assert tp.map_phoneme("A@", "en-us") == ("aa", "r") and tp.map_phoneme("A@", "en") == ("aa",)
    assert tp.map_phoneme("3", "en-us") == ("axr",) and tp.map_phoneme("3", "en-gb-x-rp") == ("ax",)
    stats = Counter()
    assert tp.map_phoneme("e:#", "en-us", stats) == ("ey",)  # nearest: longest known prefix
    assert stats["unknown espeak phoneme 'e:#'"] == 1


def test_normalize_sentence():
    assert sentences.normalize_sentence("the cat sat on the mat") == "The cat sat on the mat."
    assert (sentences.normalize_sentence("well-known facts -- and more; really!")
            == "Well known facts, and more, really!")
    assert sentences.normalize_sentence("too short here") is None
    assert sentences.normalize_sentence("He paid 20 dollars for the old lamp") is None  # digits
    assert sentences.normalize_sentence('She said "no" to the whole plan') is None  # quotes
    assert sentences.normalize_sentence("The NASA team launched a rocket today") is None  # acronym
    assert sentences.normalize_sentence(" ".join(["word"] * 16)) is None


def test_plan_splits_disjoint_and_deterministic():
    _, sents = sentences.load_sentences("builtin")
    plans, _ = plan.plan_speakers(480, 3, sents, 8)
    again, _ = plan.plan_speakers(100, 3, sents, 8)
    assert [p.id for p in plans[:100]] == [p.id for p in again]  # prefix-stable
    assert [p.utts for p in plans[:100]] == [p.utts for p in again]
    ids = [p.id for p in plans]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[FM][A-Z]{3}\d", i) for i in ids)
    variants = {s: {p.variant for p in plans if p.split == s} for s in plan.SPLITS}
    assert not variants["train"] & variants["dev"] and not variants["train"] & variants["test"]
    assert not variants["dev"] & variants["test"]
    counts = Counter(p.split for p in plans)
    assert counts == {"train": 384, "dev": 48, "test": 48}
    assert {p.dialect for p in plans if p.split == "test"} == set(range(1, 9))
    assert 0.25 < sum(p.sex == "F" for p in plans) / len(plans) < 0.35
    # sentences: different within a speaker, disjoint between splits
    for p in plans:
        assert len({u.text for u in p.utts}) == len(p.utts)
    texts = {s: {u.text for p in plans if p.split == s for u in p.utts} for s in plan.SPLITS}
    assert not texts["train"] & texts["dev"] and not texts["train"] & texts["test"]
    assert not texts["dev"] & texts["test"]
    assert [p.id for p in plan.plan_speakers(20, 4, sents, 8)[0]] != ids[:20]  # the seed matters


def test_segment_conversion_tiles_exactly():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n22 = int(rng.integers(2000, 90000))
        cuts = np.unique(rng.integers(1, n22, size=int(rng.integers(1, 60))))
        bounds = [0, *cuts.tolist(), n22]
        segs = [(a, b, "ax" if i % 3 else "pau", None) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
        n16 = int(np.ceil(n22 * 16000 / 22050))
        out = seg.convert_segments(segs, n16)
        seg.check_tiling([(s, e, p) for s, e, p, _ in out], n16)
    assert seg.to_16k(441) == 320 and seg.to_16k(22050) == 16000


def test_missing_espeak_message(monkeypatch, tmp_path, capsys):
    def missing():
        raise espeak.EspeakNotFound("espeak-ng library not found: " + espeak.INSTALL_HINT)

    monkeypatch.setattr(espeak, "engine", missing)
    assert st.main(["--out", str(tmp_path / "c"), "--speakers", "1", "--quiet"]) == 2
    assert "install it with: apt-get install espeak-ng" in capsys.readouterr().err


# --- with espeak-ng ----------------------------------------------------------------------------

@needs_espeak
def test_espeak_events():
    samples, phonemes = espeak.synthesize("The quick brown fox.", voice="en-us", rate=175)
    assert samples.dtype == np.int16 and len(samples) > 0.5 * espeak.SAMPLE_RATE
    names = [p for p, _ in phonemes]
    assert names[:2] == ["D", "@2"] and "aU" in names
    starts = [s for _, s in phonemes]
    assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] <= len(samples)
    syn = espeak.synthesize_events("The quick brown fox.", voice="en-us")
    assert [w.text_position for w in syn.words] == [0, 4, 10, 16]
    assert [w.phoneme_index for w in syn.words][0] == 0
    with pytest.raises(espeak.EspeakError, match="unknown voice"):
        espeak.synthesize("Hello.", voice="no-such-voice")


@needs_espeak
def test_corpus_layout(corpus: Path):
    utts = _utts(corpus)
    assert len(utts) == N_SPK * N_UTT
    speakers = {u.parent.name for u in utts}
    assert len(speakers) == N_SPK
    for stem in utts:
        assert re.fullmatch(r"(TRAIN|TEST)/DR[1-8]/[FM][A-Z]{3}\d/S[IX]\d+",
                            stem.relative_to(corpus).as_posix())
        for ext in (".PHN", ".WRD", ".TXT"):
            assert stem.with_suffix(ext).is_file()
    dev = (corpus / "dev_spk.list").read_text().split("\n")
    core = (corpus / "core_test_spk.list").read_text().split("\n")
    dev = [s for s in dev if s and not s.startswith("#")]
    core = [s for s in core if s and not s.startswith("#")]
    test_spk = {u.parent.name.lower() for u in utts if u.parts[-4] == "TEST"}
    assert dev and core and set(dev) | set(core) == test_spk and not set(dev) & set(core)


@needs_espeak
def test_audio_is_sphere_16k(corpus: Path):
    for stem in _utts(corpus):
        wav = stem.with_suffix(".WAV")
        assert wav.read_bytes()[:7] == b"NIST_1A"
        info = sf.info(str(wav))
        assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
        assert info.format == "NIST" and info.frames > 16000 * 0.5
        x, _ = sf.read(str(wav), dtype="int16")
        assert 1000 < np.abs(x.astype(np.int32)).max() <= 32767 and np.count_nonzero(x == 0) < len(x) // 10


@needs_espeak
def test_phones_tile_the_audio_exactly(corpus: Path):
    for stem in _utts(corpus):
        n = sf.info(str(stem.with_suffix(".WAV"))).frames
        phn = _phn(stem)
        assert phn[0][0] == 0 and phn[-1][1] == n
        for (s, e, _), (s2, _, _) in zip(phn, phn[1:]):
            assert s < e == s2
        assert phn[-1][0] < phn[-1][1]
        phones = [p for _, _, p in phn]
        assert set(phones) <= tp.TIMIT61
        assert phones[0] == "h#" and phones[-1] == "h#" and "h#" not in phones[1:-1]
        assert any(p in tp.CLOSURES for p in phones)
        # every closure is followed by its release
        for a, b in zip(phones, phones[1:]):
            if a in tp.CLOSURES:
                assert b in {"bcl": "b", "dcl": "d jh", "gcl": "g", "pcl": "p", "tcl": "t ch",
                             "kcl": "k"}[a].split()


@needs_espeak
def test_text_and_words(corpus: Path):
    builtin = set(sentences.BUILTIN_SENTENCES)
    for stem in _utts(corpus):
        n = sf.info(str(stem.with_suffix(".WAV"))).frames
        start, end, sentence = stem.with_suffix(".TXT").read_text().strip().split(" ", 2)
        assert (int(start), int(end)) == (0, n) and sentence in builtin
        words = [ln.split() for ln in stem.with_suffix(".WRD").read_text().splitlines()]
        assert [w for _, _, w in words] == [w.lower() for w in re.findall(r"[A-Za-z']+", sentence)]
        bounds = {s for s, _, _ in _phn(stem)} | {n}
        for s, e, _ in words:
            assert 0 <= int(s) < int(e) <= n and int(s) in bounds and int(e) in bounds


@needs_espeak
def test_train_and_test_voices_disjoint(corpus: Path):
    rows = [ln.split("\t") for ln in (corpus / "speakers.tsv").read_text().splitlines()]
    head, rows = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(head)}
    assert len(rows) == N_SPK
    part_variants = {}
    for r in rows:
        part_variants.setdefault(r[col["part"]], set()).add(r[col["variant"]])
        assert plan.VARIANTS[r[col["variant"]]][2] == r[col["split"]]
        assert (corpus / r[col["part"]] / r[col["dialect"]] / r[col["id"]]).is_dir()
    assert part_variants["TRAIN"] and part_variants["TEST"]
    assert not part_variants["TRAIN"] & part_variants["TEST"]


@needs_espeak
def test_deterministic_whatever_the_jobs(corpus: Path, tmp_path: Path):
    again = tmp_path / "again"
    _build(again, jobs=1)
    a, b = _utts(corpus), _utts(again)
    assert [p.relative_to(corpus) for p in a] == [p.relative_to(again) for p in b]
    for x, y in zip(a, b):
        for ext in (".WAV", ".PHN", ".WRD", ".TXT"):
            assert x.with_suffix(ext).read_bytes() == y.with_suffix(ext).read_bytes(), f"{x}{ext}"
    with pytest.raises(FileExistsError):
        _build(again, jobs=1)


@needs_espeak
def test_parses_back_through_data_prep_timit(corpus: Path, tmp_path: Path):
    timit = pytest.importorskip("data_prep.timit")
    res = timit.prepare_timit(corpus, tmp_path / "prep", phones=61, dev_spk=corpus / "dev_spk.list",
                              core_spk=corpus / "core_test_spk.list")
    n = {name: len(u) for name, u in res.items()}
    assert sum(n.values()) == N_SPK * N_UTT and n["train"] and n["dev"] and n["test"]
    for utts in res.values():
        for u in utts:
            phones = u.text.split()
            assert phones == [p for _, _, p in _phn(Path(u.extra["phn"]).with_suffix(""))]
            assert u.extra["sentence"] in sentences.BUILTIN_SENTENCES
