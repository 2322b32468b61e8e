"""data_prep.lines on a tiny kraken/Calamari-style corpus written in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from data_prep.lines import line_id, main, prepare_lines
from recog.manifest import read_manifest, read_text
from recog.tokens import SPACE, SymbolTable


def _img(path: Path, fmt: str | None = None) -> None:
    Image.new("L", (24, 8), 255).save(path, fmt)


def _gt(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    lines = root / "lines"
    lines.mkdir(parents=True)
    _img(lines / "l01.png"); _gt(lines / "l01.gt.txt", "the  quick\tbrown fox \n")
    _img(lines / "l02.JPG", "JPEG"); _gt(lines / "l02.gt.txt", "jumps over\n")
    _img(lines / "l03.jpeg", "JPEG"); _gt(lines / "l03.gt.txt", "the lazy dog")
    _img(lines / "l04.png"); _gt(lines / "l04.gt.txt", "   \n")           # empty gt
    _img(lines / "l05.png")                                               # image without gt
    _gt(lines / "l06.gt.txt", "no image here")                            # gt without image
    _img(root / "l07.tif", "TIFF"); _gt(root / "l07.gt.txt", "top level")  # image in corpus/
    (root / "train.lst").write_text(
        "# training lines\nl01\n\nlines/l02.JPG\nl04\nl05\nl06\nl07.gt.txt\n", encoding="utf-8")
    (root / "valid.lst").write_text("l03\nmissing99\n", encoding="utf-8")
    (root / "test.lst").write_text("l07\n", encoding="utf-8")
    return root


def test_line_id():
    assert line_id("a/b/x1.PNG") == "x1"
    assert line_id("x1.gt.txt") == "x1"
    assert line_id("0001.bin.png") == "0001"
    assert line_id("x1") == "x1"


def test_prepare_lines_default_lists(corpus: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    res = prepare_lines(corpus, out)
    err = capsys.readouterr().err

    assert [u.id for u in res["train"]] == ["l01", "l02", "l07"]
    assert [u.id for u in res["valid"]] == ["l03"]
    assert [u.id for u in res["test"]] == ["l07"]
    texts = {u.id: u.text for u in res["train"]}
    assert texts == {"l01": "the quick brown fox", "l02": "jumps over", "l07": "top level"}
    assert all(u.speaker is None for u in res["train"])

    # bad data is named in a warning and skipped
    assert "l04.gt.txt" in err and "empty" in err
    assert "l05.png" in err
    assert "l06.gt.txt" in err
    assert "missing99" in err
    assert "warning" in err

    for split, ids in (("train", ["l01", "l02", "l07"]), ("valid", ["l03"]), ("test", ["l07"])):
        utts = read_manifest(out / split / "manifest.jsonl", check_files=True)
        assert [u.id for u in utts] == ids
        assert all(Path(u.path).is_absolute() for u in utts)
        text = read_text(out / split / "text")
        assert list(text) == sorted(ids)
    assert read_text(out / "train" / "text")["l01"] == "the quick brown fox"
    raw = (out / "train" / "manifest.jsonl").read_text(encoding="utf-8")
    assert str((corpus / "lines" / "l01.png").absolute()) in raw

    table = SymbolTable.read(out / "tokens.txt")
    assert SPACE in table.symbols
    assert table.encode("the quick brown fox")


def test_lists_in_parent_and_dev_and_cli(corpus: Path, tmp_path: Path, capsys):
    # corpus = the lines/ folder; lists one level up; dev.lst instead of valid.lst
    (corpus / "valid.lst").rename(corpus / "dev.lst")
    out = tmp_path / "out2"
    assert main(["--corpus", str(corpus / "lines"), "--out", str(out)]) == 0
    assert [u.id for u in read_manifest(out / "valid")] == ["l03"]
    # l07 lives in corpus/, which is not searched when corpus is lines/
    assert [u.id for u in read_manifest(out / "train")] == ["l01", "l02"]
    assert "l07" in capsys.readouterr().err


def test_explicit_lists(corpus: Path, tmp_path: Path, capsys):
    lst = tmp_path / "mine.lst"
    lst.write_text("l03\nl01.png\n", encoding="utf-8")
    res = prepare_lines(corpus, tmp_path / "out3", {"train": lst})
    assert list(res) == ["train"]
    assert [u.id for u in res["train"]] == ["l03", "l01"]
    assert main(["--corpus", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "nowhere" in capsys.readouterr().err
    # on the command line, a list given replaces its own default; valid.lst and test.lst still apply
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "out4"), "--train", str(lst)]) == 0
    assert [u.id for u in read_manifest(tmp_path / "out4" / "train")] == ["l03", "l01"]
    assert [u.id for u in read_manifest(tmp_path / "out4" / "valid")] == ["l03"]
    assert [u.id for u in read_manifest(tmp_path / "out4" / "test")] == ["l07"]
