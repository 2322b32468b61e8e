"""JSONL manifests and Kaldi text files: round trips and errors that name file and line."""

from __future__ import annotations

import json
import os

import pytest

from recog.manifest import ManifestError, Utterance, read_manifest, read_text, write_manifest, write_text


def test_manifest_round_trip_with_extras(tmp_path):
    utts = [
        Utterance("u1", str(tmp_path / "a.png"), "the cat", "spk1", str(tmp_path / "f" / "u1.npy"), 120,
                  {"writer": "w01", "score": 0.5}),
        Utterance("u2", str(tmp_path / "b.png"), "", None, None, None),
        Utterance("u3", str(tmp_path / "c.png"), "naïve – “quoted”"),
    ]
    p = tmp_path / "m.jsonl"
    write_manifest(p, utts)
    back = read_manifest(p)
    assert back == utts
    assert back[0].extra == {"writer": "w01", "score": 0.5}
    assert back[1].text == "" and back[1].speaker is None and back[1].num_frames is None
    # non-ASCII kept as is, not escaped
    assert "naïve" in p.read_text(encoding="utf-8")
    # None fields are not written
    assert "speaker" not in json.loads(p.read_text().splitlines()[1])


def test_directory_path_means_manifest_jsonl(tmp_path):
    d = tmp_path / "data" / "train"
    write_manifest(d, [Utterance("x", "/abs/x.wav", "a")])
    assert (d / "manifest.jsonl").exists()
    assert read_manifest(d)[0].id == "x"


def test_relative_paths_resolve_against_manifest_dir(tmp_path, monkeypatch):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "manifest.jsonl").write_text(
        json.dumps({"id": "a", "path": "lines/a.png", "feats": "../feats/a.npy", "text": "x"}) + "\n"
        + json.dumps({"id": "b", "path": "/abs/b.png"}) + "\n"
    )
    monkeypatch.chdir(tmp_path)  # a different working directory must not matter
    back = read_manifest("sub/manifest.jsonl")
    assert back[0].path == str((d / "lines" / "a.png").resolve())
    assert back[0].feats == str((tmp_path / "feats" / "a.npy").resolve())
    assert os.path.isabs(back[0].path)
    assert back[1].path == "/abs/b.png"
    assert back[1].text is None


def test_duplicate_id_names_file_and_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"id": "a", "path": "x"}\n\n{"id": "b", "path": "y"}\n{"id": "a", "path": "z"}\n')
    with pytest.raises(ManifestError) as e:
        read_manifest(p)
    assert f"{p}:4" in str(e.value)
    assert "duplicate" in str(e.value) and "'a'" in str(e.value)


def test_duplicate_id_on_write(tmp_path):
    with pytest.raises(ManifestError, match="duplicate id 'a'"):
        write_manifest(tmp_path / "m.jsonl", [Utterance("a", "x"), Utterance("a", "y")])


def test_bad_json_names_file_and_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"id": "a", "path": "x"}\n{"id": "b", "path": \n')
    with pytest.raises(ManifestError) as e:
        read_manifest(p)
    assert f"{p}:2" in str(e.value)
    assert "JSON" in str(e.value)


def test_missing_required_field(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"id": "a"}\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:1: .*'path'"):
        read_manifest(p)


def test_missing_manifest_and_check_files(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(tmp_path / "nope.jsonl")
    p = tmp_path / "m.jsonl"
    p.write_text('{"id": "a", "path": "missing.png"}\n')
    assert len(read_manifest(p)) == 1
    with pytest.raises(ManifestError, match=r"m.jsonl:1: file .*missing.png does not exist"):
        read_manifest(p, check_files=True)


def test_kaldi_text_round_trip(tmp_path):
    items = [("utt1", "the cat sat"), ("utt2", ""), ("utt3", "k ae t"), ("utt4", "naïve")]
    p = tmp_path / "sub" / "text"
    write_text(p, items)
    assert p.read_text(encoding="utf-8").splitlines()[1] == "utt2"
    back = read_text(p)
    assert back == dict(items)
    assert list(back) == [k for k, _ in items]


def test_kaldi_text_tolerates_extra_spaces_and_blank_lines(tmp_path):
    p = tmp_path / "text"
    p.write_text("a   hello world  \n\nb\n")
    assert read_text(p) == {"a": "hello world", "b": ""}


def test_kaldi_text_duplicate(tmp_path):
    p = tmp_path / "text"
    p.write_text("a x\nb y\na z\n")
    with pytest.raises(ManifestError, match=r"text:3: duplicate id 'a'"):
        read_text(p)
