"""recog prep mix: corpora merged with weights, labels mapped into one table, settings kept."""

from __future__ import annotations

import json

from data_prep.mix import copies, main
from recog.manifest import Utterance, read_manifest, write_manifest
from recog.tokens import SymbolTable


def _corpus(d, n, texts, settings):
    write_manifest(d / "manifest.jsonl", [Utterance(f"u{i}", f"/a/{i}.wav", texts[i % len(texts)], "s",
                                                    feats=f"/f/{i}.npy", num_frames=10) for i in range(n)])
    (d / "features.json").write_text(json.dumps(settings))


def test_weights_prefixes_relabelling_and_settings(tmp_path, capsys):
    SymbolTable(["a", "b", "t"], "phone").write(tmp_path / "tokens.txt")
    _corpus(tmp_path / "x", 4, ["a b", "sil a dx"], {"audio": 1})
    _corpus(tmp_path / "y", 10, ["b", "zh"], {"audio": 1})
    assert main(["--in", f"x={tmp_path / 'x'}:2", "--in", f"y={tmp_path / 'y'}:0.4", "--tokens",
                 str(tmp_path / "tokens.txt"), "--drop", "sil", "--replace", "dx=t", "--out", str(tmp_path / "m")]) == 0
    utts = {u.id: u for u in read_manifest(tmp_path / "m")}
    assert utts["x-u1"].text == "a t" and utts["x-r2-u1"].text == "a t" and utts["x-u0"].extra["corpus"] == "x"
    # y: 5 of 10 usable ("zh" is not in the table), 40% of them = 2 records
    assert len([u for u in utts if u.startswith("y-")]) == 2 and len(utts) == 10
    assert "y-u1" not in utts and f"{tmp_path / 'y'}: u1: symbols not in the table: zh; left out" in capsys.readouterr().err
    summary = json.loads((tmp_path / "m" / "mix.json").read_text())
    assert summary["y"] == {"dir": str(tmp_path / "y"), "records": 10, "usable": 5, "weight": 0.4, "in_mix": 2}
    assert json.loads((tmp_path / "m" / "features.json").read_text()) == {"audio": 1}
    assert (tmp_path / "m" / "text").read_text().startswith("x-r2-u0 a b\n")


def test_other_feature_settings_are_refused(tmp_path, capsys):
    SymbolTable(["a"], "phone").write(tmp_path / "tokens.txt")
    _corpus(tmp_path / "x", 2, ["a"], {"audio": 1})
    _corpus(tmp_path / "y", 2, ["a"], {"audio": 2})
    assert main(["--in", f"x={tmp_path / 'x'}", "--in", f"y={tmp_path / 'y'}", "--tokens",
                 str(tmp_path / "tokens.txt"), "--out", str(tmp_path / "m")]) == 2
    assert "other feature settings" in capsys.readouterr().err


def test_fractional_copies_are_seeded():
    utts = [Utterance(str(i), "p") for i in range(10)]
    a, b = copies(utts, 1.5, seed=3), copies(utts, 1.5, seed=3)
    assert a == b and len(a) == 15 and sum(c == 2 for c, _ in a) == 5
