"""MNIST's IDX files -> digit PNGs and label manifests (data_prep.mnist), on IDX files written here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import make_mnist_corpus, mnist_digits, write_idx
from data_prep.mnist import main, prepare_mnist, read_idx
from recog.manifest import read_manifest, read_text


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_read_back_gzipped_or_not(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", a, gz), 3), a)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l", a[0, 0], gz), 1), a[0, 0])


def test_bad_idx_files_are_errors_naming_the_file(tmp_path):
    a = np.zeros((2, 3, 3), np.uint8)
    p = write_idx(tmp_path / "imgs", a)
    with pytest.raises(ValueError, match=r"imgs: IDX magic number 00000803: expected unsigned bytes \(08\) in 1"):
        read_idx(p, 1)  # an image file where labels were expected
    (tmp_path / "f").write_bytes(b"\x00\x00\x0d\x03" + p.read_bytes()[4:])  # float elements
    with pytest.raises(ValueError, match="f: IDX magic number 00000d03"):
        read_idx(tmp_path / "f", 3)
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(ValueError, match="png: not an IDX file"):
        read_idx(tmp_path / "png", 3)
    (tmp_path / "short").write_bytes(p.read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"short: the header says 2x3x3 = 18 bytes of data, the file holds 13"):
        read_idx(tmp_path / "short", 3)
    (tmp_path / "gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="gz: a broken gzip file"):
        read_idx(tmp_path / "gz", 3)


def test_prep_writes_pngs_of_the_bytes_manifests_and_a_seeded_valid_split(tmp_path):
    corpus = make_mnist_corpus(tmp_path / "mnist", n_train=30, n_test=6)
    splits = prepare_mnist(corpus, tmp_path / "data", valid=8, seed=3)
    assert {k: len(v) for k, v in splits.items()} == {"train": 22, "valid": 8, "test": 6}
    images, labels = mnist_digits(30, 0)
    utts = {u.id: u for name in ("train", "valid") for u in read_manifest(tmp_path / "data" / name)}
    assert sorted(utts) == [f"train_{k:05d}" for k in range(30)]  # valid carved from train, disjoint
    u = utts["train_00007"]
    assert u.label == u.text == str(labels[7])
    np.testing.assert_array_equal(np.asarray(Image.open(u.path)), images[7])  # the IDX bytes, unchanged
    text = read_text(tmp_path / "data" / "test" / "text")
    assert text == {f"test_{k:05d}": str(d) for k, d in enumerate(mnist_digits(6, 1)[1])}
    valid_ids = [u.id for u in read_manifest(tmp_path / "data" / "valid")]
    again = prepare_mnist(corpus, tmp_path / "data2", valid=8, seed=3)
    assert [u.id for u in again["valid"]] == valid_ids  # seeded
    assert [u.id for u in prepare_mnist(corpus, tmp_path / "data3", valid=8, seed=4)["valid"]] != valid_ids
    tokens = [line.split()[0] for line in (tmp_path / "data" / "tokens.txt").read_text().splitlines()[1:]]
    assert tokens == ["<blk>"] + [str(d) for d in range(10)]  # all ten classes, though train lacks a 4
    rec = json.loads((tmp_path / "data" / "test" / "manifest.jsonl").read_text().splitlines()[0])
    assert rec["label"] == rec["text"] and rec["path"].endswith("images/test_00000.png")


def test_missing_or_disagreeing_files_are_one_line_errors(tmp_path, capsys):
    assert main(["--corpus", str(tmp_path / "nothing"), "--out", str(tmp_path / "d")]) == 2
    assert "corpus directory not found" in capsys.readouterr().err
    corpus = make_mnist_corpus(tmp_path / "m", n_train=5, n_test=3, gz=False)
    (corpus / "t10k-labels-idx1-ubyte").unlink()
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "d"), "--valid", "1"]) == 2
    assert "t10k-labels-idx1-ubyte: not found" in capsys.readouterr().err
    write_idx(corpus / "t10k-labels-idx1-ubyte", np.array([1, 2], np.uint8))
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "d"), "--valid", "1"]) == 2
    assert "holds 3 images but" in capsys.readouterr().err
    write_idx(corpus / "t10k-labels-idx1-ubyte", np.array([1, 2, 12], np.uint8))
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "d"), "--valid", "1"]) == 2
    assert "label 12 is not a digit" in capsys.readouterr().err
    write_idx(corpus / "t10k-labels-idx1-ubyte", np.array([1, 2, 3], np.uint8))
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "d"), "--valid", "5"]) == 2
    assert "--valid 5" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # nothing written before every check passed
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "d"), "--valid", "1"]) == 0
