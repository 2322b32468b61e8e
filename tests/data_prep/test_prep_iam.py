"""data_prep.iam on a tiny corpus in the exact IAM layout, written in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from data_prep.iam import decode_transcription, main, prepare_iam
from recog.manifest import read_manifest, read_text
from recog.tokens import SPACE, SymbolTable

LINES_TXT = """\
#--- lines.txt ---------------------------------------------------------------#
#
# iam database line information
#
# format: a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
#
#     a01-000u-00  -> line id for form a01-000u
#     ok              -> result of word segmentation
#                            ok: line is correctly segmented
#                            er: segmentation of line has one or more errors
#
#     154             -> graylevel to binarize line
#     19              -> number of components for this line
#     408 746 1663 91 -> bounding box around this line in x,y,w,h format
#
#     A|MOVE|to|stop|Mr.|Gaitskell|from -> transcription for this line. word tokens are separated
#                                          by the character |
#
a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from
a01-000u-01 err 156 19 395 932 1850 105 nominating|any|more|Labour|life|Peers
a01-000u-02 ok 157 16 408 1106 1986 105 is|to|be|made|at|a|meeting|of|Labour
a01-003-00 ok 170 18 379 709 1826 107 &quot;|It|is|.|&quot;
a01-003-01 ok 170 18 379 709 1826 107 this|line|has|no|image
a01-003-02 ok 170 oops 379 709 1826 107 malformed|numbers
a01-003-03 ok 170
b02-010-00 ok 180 10 300 700 1500 100 Second|writer|here
"""

FORMS_TXT = """\
#--- forms.txt ---
# format: a01-000u 000 2 prt 7 5 52 36
a01-000u 000 2 prt 7 5 52 36
a01-003 000 2 prt 7 5 52 36
b02-010 042 3 prt 8 6 60 40
"""


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (24, 8), 255).save(path)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "iam"
    (root / "ascii").mkdir(parents=True)
    (root / "ascii" / "lines.txt").write_text(LINES_TXT, encoding="utf-8")
    (root / "ascii" / "forms.txt").write_text(FORMS_TXT, encoding="utf-8")
    for lid in ("a01-000u-00", "a01-000u-01", "a01-000u-02", "a01-003-00", "b02-010-00"):
        a, b, _ = lid.split("-")
        _png(root / "lines" / a / f"{a}-{b}" / f"{lid}.png")
    # a01-003-01 has no image
    (root / "trainset.txt").write_text("a01-000u\n", encoding="utf-8")           # form ids
    (root / "validationset1.txt").write_text("# val\na01-003-00\n\na01-003-01\n", encoding="utf-8")
    (root / "testset.txt").write_text("b02-010-00\n", encoding="utf-8")          # line ids
    return root


def _splits(root: Path) -> dict[str, Path]:
    return {"train": root / "trainset.txt", "valid": root / "validationset1.txt",
            "test": root / "testset.txt"}


def test_decode_transcription():
    assert decode_transcription("A|MOVE|to|stop|Mr.") == "A MOVE to stop Mr."
    assert decode_transcription("&quot;|It|is|.|&quot;") == '" It is . "'


def test_prepare_iam(corpus: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    res = prepare_iam(corpus, out, _splits(corpus))
    err = capsys.readouterr().err

    assert [u.id for u in res["train"]] == ["a01-000u-00", "a01-000u-01", "a01-000u-02"]  # err kept
    assert [u.id for u in res["valid"]] == ["a01-003-00"]
    assert [u.id for u in res["test"]] == ["b02-010-00"]
    t = {u.id: u.text for u in res["train"]}
    assert t["a01-000u-00"] == "A MOVE to stop Mr. Gaitskell from"
    assert res["valid"][0].text == '" It is . "'
    assert {u.speaker for u in res["train"]} == {"000"}
    assert res["test"][0].speaker == "042"

    # missing image and malformed lines are named and skipped
    assert "a01-003-01.png" in err
    rows = LINES_TXT.splitlines()
    bad = [i for i, r in enumerate(rows, 1) if r.startswith(("a01-003-02", "a01-003-03"))]
    for n in bad:
        assert f"lines.txt:{n}:" in err

    for split in ("train", "valid", "test"):
        utts = read_manifest(out / split, check_files=True)
        assert [u.id for u in utts] == [u.id for u in res[split]]
        assert all(Path(u.path).is_absolute() for u in utts)
        assert read_text(out / split / "text") == {u.id: u.text for u in res[split]}
        assert list(read_text(out / split / "text")) == sorted(u.id for u in res[split])
    assert read_manifest(out / "test")[0].speaker == "042"

    table = SymbolTable.read(out / "tokens.txt")
    assert SPACE in table.symbols
    assert "|" not in table.symbols


def test_exclude_err_and_no_forms(corpus: Path, tmp_path: Path, capsys):
    (corpus / "ascii" / "forms.txt").unlink()
    res = prepare_iam(corpus, tmp_path / "o", _splits(corpus), include_err=False)
    assert [u.id for u in res["train"]] == ["a01-000u-00", "a01-000u-02"]
    assert res["train"][0].speaker == "a01-000u"
    assert res["test"][0].speaker == "b02-010"


def test_cli(corpus: Path, tmp_path: Path, capsys):
    out = tmp_path / "cli"
    s = _splits(corpus)
    rc = main(["--corpus", str(corpus), "--out", str(out), "--train", str(s["train"]),
               "--valid", str(s["valid"]), "--test", str(s["test"]), "--exclude-err",
               "--split", f"valid2={s['test']}"])
    assert rc == 0
    assert [u.id for u in read_manifest(out / "train")] == ["a01-000u-00", "a01-000u-02"]
    assert [u.id for u in read_manifest(out / "valid2")] == ["b02-010-00"]
    assert (out / "tokens.txt").is_file()
