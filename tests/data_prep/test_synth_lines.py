"""data_prep.synth_lines / data_prep.fonts: tiny synthetic corpora in the IAM layout.

The layout tests use Pillow's built-in font and the built-in text, so they run everywhere; the
handwriting-font tests are skipped when no Debian handwriting font package is installed.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_prep import fonts as F
from data_prep import line_render as LR
from data_prep import line_text as LT
from data_prep import synth_lines as S
from data_prep.iam import prepare_iam, read_forms_txt, read_lines_txt
from data_prep.common import Reporter

RATIOS = (0.5, 0.25, 0.25)


def _gen(out: Path, seed: int = 3, n: int = 12, **kw) -> S.SynthResult:
    kw.setdefault("train_fonts", [F.BUILTIN])
    kw.setdefault("test_fonts", [F.BUILTIN])
    kw.setdefault("text", "builtin")
    return S.generate(out, n_lines=n, seed=seed, jobs=kw.pop("jobs", 1), ratios=RATIOS, progress=False, **kw)


def _splits(out: Path) -> dict[str, Path]:
    return {name: out / "splits" / f"{name}.txt" for name in S.SPLITS}


def _images(out: Path) -> dict[str, bytes]:
    return {Path(p).name: Path(p).read_bytes() for p in sorted(glob.glob(str(out / "lines/*/*/*.png")))}


def _installed_families() -> list[str]:
    fams = []
    for pkg in F.DEFAULT_PACKAGES:
        if F.package_installed(pkg):
            fams += [fam for fam in F.CATALOGUE[pkg] if fam not in fams]
    return fams


@pytest.fixture(scope="module")
def builtin_corpus(tmp_path_factory) -> tuple[Path, S.SynthResult]:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    return out, _gen(out)


def _check_layout(out: Path, res: S.SynthResult, tmp: Path) -> None:
    ids = [i for name in S.SPLITS for i in res.splits[name]]
    assert len(ids) == len(set(ids)) == len(res.texts)
    for lid in ids:
        form = "-".join(lid.split("-")[:2])
        prefix = lid.split("-")[0]
        assert len(prefix) == 3 and prefix[0].isalpha() and prefix[1:].isdigit()
        assert (out / "lines" / prefix / form / f"{lid}.png").is_file()
    got = prepare_iam(out, tmp / "prepared", _splits(out))
    for name in S.SPLITS:
        assert sorted(u.id for u in got[name]) == res.splits[name]
        for u in got[name]:
            assert u.text == res.texts[u.id]
            assert u.speaker == res.writer_of[u.id] and res.writers[u.speaker].split == name
    # every line parsed, none skipped as malformed
    rep = Reporter("test")
    assert len(read_lines_txt(out / "ascii" / "lines.txt", rep)) == len(ids) and not rep.counts


def test_layout_parses_back(builtin_corpus, tmp_path):
    out, res = builtin_corpus
    assert [len(res.splits[n]) for n in S.SPLITS] == [6, 3, 3]
    _check_layout(out, res, tmp_path)


def test_lines_txt_fields(builtin_corpus):
    out, res = builtin_corpus
    text = (out / "ascii" / "lines.txt").read_text()
    assert text.startswith("#--- lines.txt")
    rows = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert len(rows) == 12 and rows == sorted(rows)
    for row in rows:
        parts = row.split(" ")
        assert len(parts) == 9, row
        lid, status, *nums, words = parts
        assert status == "ok"
        grey, comps, x, y, w, h = (int(v) for v in nums)
        assert 0 < grey < 255 and comps >= 1 and x > 0 and y > 0
        img = Image.open(glob.glob(str(out / "lines" / "*" / "*" / f"{lid}.png"))[0])
        assert img.mode == "L" and img.size == (w, h)
        assert 40 <= h <= 200
        assert " " not in words and 3 <= len(words.split("|")) <= 12
        assert words.replace("|", " ").replace("&quot;", '"').replace("&amp;", "&") == res.texts[lid]


def test_forms_txt(builtin_corpus):
    out, res = builtin_corpus
    forms = read_forms_txt(out / "ascii" / "forms.txt", Reporter("test"))
    line_forms = {"-".join(i.split("-")[:2]) for i in res.texts}
    assert set(forms) == line_forms
    assert set(forms.values()) <= set(res.writers)
    for row in (out / "ascii" / "forms.txt").read_text().splitlines():
        if not row.startswith("#"):
            parts = row.split()
            assert len(parts) == 8 and parts[3] == "all" and all(p.isdigit() for p in parts[4:])


def test_deterministic(builtin_corpus, tmp_path):
    out, _ = builtin_corpus
    again = tmp_path / "again"
    _gen(again)
    assert (again / "ascii" / "lines.txt").read_bytes() == (out / "ascii" / "lines.txt").read_bytes()
    assert (again / "ascii" / "forms.txt").read_bytes() == (out / "ascii" / "forms.txt").read_bytes()
    assert _images(again) == _images(out)
    other = tmp_path / "other"
    _gen(other, seed=4)
    assert (other / "ascii" / "lines.txt").read_bytes() != (out / "ascii" / "lines.txt").read_bytes()


def test_cli(tmp_path):
    out = tmp_path / "cli"
    rc = S.main(["--out", str(out), "--lines", "6", "--jobs", "1", "--train-fonts", F.BUILTIN,
                 "--test-fonts", F.BUILTIN, "--text", "builtin", "--ratios", "0.5,0.25,0.25", "--no-progress"])
    assert rc == 0
    assert sum(len((out / "splits" / f"{n}.txt").read_text().split()) for n in S.SPLITS) == 6
    assert S.main(["--out", str(out), "--lines", "6", "--train-fonts", "no-such-family",
                   "--test-fonts", F.BUILTIN, "--text", "builtin", "--no-progress"]) == 2


def test_encode_words_round_trip():
    from data_prep.iam import decode_transcription
    for text in ['He said "no & yes" (twice).', "&quot; literally & &amp;", "a b c"]:
        assert decode_transcription(S.encode_words(text)) == text


def test_wrap_and_text_stream_respect_limits():
    rng = np.random.default_rng(0)
    _, passages = LT.load_passages("builtin")
    words = " ".join(passages).split()
    for line in LT.wrap(words, rng, 50):
        assert LT.MIN_WORDS <= len(line.split()) <= LT.MAX_WORDS and len(line) <= LT.HARD_MAX_CHARS
    stream = LT.TextStream(passages, rng, "t", Reporter("test"))
    no_e = frozenset(S.IAM_CHARSET - {"e"})
    with pytest.raises(RuntimeError):  # every passage has an 'e'
        stream.lines(2, no_e, False, 50, rng)
    lines = stream.lines(5, S.IAM_CHARSET, True, 50, rng)
    assert len(lines) == 5 and all(ln == ln.upper() for ln in lines)


def test_normalise_passage():
    assert LT.normalise_passage("\u201cCaf\u00e9\u201d \u2014 it\u2019s\n\t``here''\u2026") == \
        "\"Cafe\" - it's \"here\"..."


def test_coverage_rejects_missing_chars():
    assert F.coverage(F.BUILTIN, "abcXYZ019,.;!?\"'() ") == set()
    assert F.coverage(F.BUILTIN, "a\u221e\u6f22") == {"\u221e", "\u6f22"}  # infinity, a CJK char
    p = F.probe(F.BUILTIN)
    assert not p.upper_only and not p.missing & set(S.IAM_CHARSET)


def test_missing_packages_named():
    with pytest.raises(F.FontError) as e:
        F.ensure_fonts(["fonts-no-such-package-x1"], install=False)
    assert "apt-get install -y fonts-no-such-package-x1" in str(e.value)


def test_only_covered_chars_are_drawn():
    """A writer whose font lacks characters only gets text without them."""
    fam = [f for f in F.faces([p for p in F.DEFAULT_PACKAGES if F.package_installed(p)])]
    if not fam:
        pytest.skip("no handwriting font package installed")
    face = fam[0]
    cs = frozenset(S.IAM_CHARSET - {"e", "E"})
    _, passages = LT.load_passages("builtin")
    passages = passages + ["Big black dogs run at night past a thin tall tram, all quick."] * 20
    specs = S.plan(8, 0, {"train": [face], "valid": [face], "test": [face]}, passages, charset=cs)
    assert specs and not any(set(s.text) - cs for s in specs)


# --- real handwriting fonts ----------------------------------------------------------------

def _face(family: str) -> F.FontFace:
    """The first installed face of a catalogued family."""
    pkg = next(pkg for pkg, fams in F.CATALOGUE.items() if family in fams)
    return next(f for f in F.faces([pkg]) if f.family == family)


@pytest.fixture(scope="module")
def families():
    fams = _installed_families()
    if len(fams) < 3:
        pytest.skip("needs 3 handwriting font families (e.g. apt-get install fonts-dkg-handwriting "
                    "fonts-breip fonts-kristi)")
    return fams[:2], fams[2:3]


def test_handwriting_fonts(families, tmp_path):
    train, test = families
    out = tmp_path / "hw"
    res = _gen(out, train_fonts=train, test_fonts=test, text="builtin")
    _check_layout(out, res, tmp_path)
    # test writers use no font (family) a training writer uses
    fams = {name: {w.face.family for w in res.writers.values() if w.split == name} for name in S.SPLITS}
    assert fams["train"] <= set(train) and fams["test"] <= set(test) and not fams["train"] & fams["test"]
    assert not set(res.fonts["train"]) & set(res.fonts["test"])
    tsv = [r.split("\t") for r in (out / "writers.tsv").read_text().splitlines()[1:]]
    assert {r[2] for r in tsv if r[1] == "test"}.isdisjoint({r[2] for r in tsv if r[1] == "train"})
    # every line only uses characters its font covers
    for lid, text in res.texts.items():
        assert not F.coverage(res.writers[res.writer_of[lid]].face.path, text)
    # same seed with 2 worker processes: identical output
    two = tmp_path / "hw2"
    _gen(two, train_fonts=train, test_fonts=test, text="builtin", jobs=2)
    assert (two / "ascii" / "lines.txt").read_bytes() == (out / "ascii" / "lines.txt").read_bytes()
    assert _images(two) == _images(out)


def test_test_fonts_must_differ_from_training(families):
    train, _ = families
    with pytest.raises(F.FontError, match="share families"):
        S.choose_fonts(train=train, test=train[:1])


def test_handwriting_coverage(families):
    train, _ = families
    face = _face(train[0])
    assert F.coverage(face.path, "\u6f22\u221e") == {"\u6f22", "\u221e"}
    assert not F.coverage(face.path, "abcdefghijklmnopqrstuvwxyz0123456789")
    assert not F.probe(face.path).upper_only


def test_capitals_only_detected():
    if not F.package_installed("fonts-humor-sans"):
        pytest.skip("fonts-humor-sans not installed")
    (face,) = F.faces(["fonts-humor-sans"], include_upper_only=True)
    assert face.upper_only and not F.faces(["fonts-humor-sans"])


class _MaskFont:
    """Stands in for a FreeType font: getmask returns a fixed ink mask (255 = ink)."""

    def __init__(self, rows):
        self.mask = Image.fromarray(np.array(rows, dtype=np.uint8) * 255)

    def getmask(self, text):
        return self.mask


def test_counter_is_the_median_gap_between_ink():
    # gaps 3 and 2 on the first row, 1 on the second; the 9-px run is a word space (> half of
    # an x-height of 10 px) and is left out -> median of (3, 2, 1) = 2 px at size 100
    font = _MaskFont([[1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                      [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    assert F._counter(font, xheight_px=10) == 0.02


def test_outline_never_closes_the_counters(families):
    """Each writer's extra outline is at most half its font's median counter at its size; some
    sizes allow less than the 2 px that a fifth of the writers draw, so the cap is exercised."""
    rng = np.random.default_rng(0)
    capped = 0
    for fam in families[0] + families[1]:
        face = _face(fam)
        pr = F.probe(face.path)
        assert 0.02 <= pr.counter <= 0.3
        for _ in range(40):
            st = LR.sample_style(rng, face)
            assert 2 * st.stroke <= pr.counter * st.size
            capped += pr.counter * st.size < 4
    assert capped > 0
