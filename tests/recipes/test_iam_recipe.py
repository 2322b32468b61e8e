"""The IAM recipe end to end (stages 1-6) on a generated corpus in the IAM layout."""

from __future__ import annotations

from pathlib import Path

from conftest import make_iam_corpus, run_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_iam_recipe_runs_all_stages(tmp_path):
    corpus = make_iam_corpus(tmp_path / "iam")
    work = tmp_path / "work"
    r = run_recipe("iam", corpus, work)
    assert r.returncode == 0, r.stdout + r.stderr
    for s, n in (("train", 12), ("valid", 3), ("test", 3)):
        assert len((work / "data" / s / "text").read_text().splitlines()) == n
    exp = work / "exp" / "debug"
    for s in ("valid", "test"):
        for unit, name in (("char", "%CER"), ("word", "%WER")):
            assert name in (exp / f"decode_{s}/score_{unit}.txt").read_text()
    hyp_ids = [l.split(" ", 1)[0] for l in (exp / "decode_test/hyp.txt").read_text().splitlines()]
    assert hyp_ids == [f"c03-003-{i:02d}" for i in range(3)]
    assert (exp / "package/model.pt").exists()


def test_aachen_lists_are_the_published_split():
    import re

    root = ROOT / "recipes/iam/conf/aachen"
    ids = {s: (root / f"{s}.txt").read_text().splitlines() for s in ("train", "valid", "test")}
    assert {s: len(v) for s, v in ids.items()} == {"train": 6161, "valid": 966, "test": 2915}
    for v in ids.values():
        assert len(set(v)) == len(v)
        assert all(re.fullmatch(r"[a-z]\d\d-\d\d\d[a-z]?-\d\d", i) for i in v)
    # writer-independent: no form (page) is in two sets
    forms = {s: {i.rsplit("-", 1)[0] for i in v} for s, v in ids.items()}
    assert not (forms["train"] & forms["valid"]) and not (forms["train"] & forms["test"])
    assert not (forms["valid"] & forms["test"])
