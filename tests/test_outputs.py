"""Output types beside CTC: manifest targets, losses, each type learning a tiny synthetic task
through ``train`` (with MATLAB's batching options), and what ``recog decode / transcribe / score``
print for them."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_noise_wav
from recog.cli import main
from recog.config import Config
from recog.data import Batch, Example, collate
from recog.losses import frame_loss, label_loss, regression_loss
from recog.manifest import ManifestError, read_manifest, read_text
from recog.targets import TargetReader, output_symbols, usable

FEATS = ["features.modality=audio", "features.audio.kind=mfcc", "features.audio.num_ceps=2",
         "features.audio.deltas=0", "model.frontend=none"]
TINY = FEATS + ["model.hidden=16", "model.layers=1", "model.dropout=0", "train.batch_size=8", "train.lr=0.01",
                "train.epochs=8", "train.log_every=0", "train.threads=1", "train.patience=100"]


def _record(kind: str, x: np.ndarray, rng, folder: Path, uid: str) -> dict:
    """x (T, 2) noise; the task of ``kind`` written into it and the record."""
    T = len(x)
    if kind == "label":  # which half of the sequence holds a bump
        half = int(rng.integers(0, 2))
        start = int(rng.integers(0, T // 2 - 1)) if half == 0 else int(rng.integers((T + 1) // 2, T - 1))
        x[start : start + 2, 0] += 3.0
        return {"label": ["first", "second"][half]}
    if kind == "frame":  # the sign of each frame
        return {"frame_labels": " ".join("pos" if v > 0 else "neg" for v in x[:, 0])}
    if kind == "regression":  # the mean of the first channel (its offset varies between sequences)
        x[:, 0] += rng.normal(0, 1)
        return {"target": [float(x[:, 0].mean())]}
    np.save(folder / f"{uid}.y.npy", np.stack([x[:, 0] + x[:, 1], x[:, 0] - x[:, 1]], 1))
    return {"frame_targets": f"{uid}.y.npy"}  # relative: resolved against the manifest's folder


def make_corpus(folder: Path, kind: str, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    lines = []
    for i in range(n):
        uid = f"{kind[:3]}{seed}{i:03d}"
        x = rng.normal(0, 0.5, (int(rng.integers(8, 21)), 2)).astype(np.float32)
        rec = {"id": uid, **_record(kind, x, rng, folder, uid)}
        np.save(folder / f"{uid}.npy", x)
        rec.update(path=f"{uid}.npy", feats=f"{uid}.npy", num_frames=len(x))
        lines.append(json.dumps(rec) + "\n")
    (folder / "manifest.jsonl").write_text("".join(lines))
    return folder


# ---- manifest and targets -----------------------------------------------------------------------


def test_manifest_targets_are_read_checked_and_carried(tmp_path):
    d = make_corpus(tmp_path / "fr", "frame_regression", 2, 0)
    u = read_manifest(d)[0]
    assert u.frame_targets == str(d / f"{u.id}.y.npy") and Path(u.frame_targets).exists()
    rec = {"id": "a", "path": "a.png", "label": "dog", "frame_labels": "s s d", "target": 0.5}
    (tmp_path / "m.jsonl").write_text(json.dumps(rec) + "\n")
    u = read_manifest(tmp_path / "m.jsonl")[0]
    assert (u.label, u.frame_labels, u.target) == ("dog", ["s", "s", "d"], [0.5])
    assert json.loads(u.to_json())["label"] == "dog"
    for bad, msg in ((dict(label="big dog"), "'label' must be one class name"), (dict(target=[1, "x"]), "'target'"),
                     (dict(target=[]), "'target'"), (dict(frame_labels=["a"]), "'frame_labels' must be a string")):
        (tmp_path / "b.jsonl").write_text(json.dumps({"id": "a", "path": "a", **bad}) + "\n")
        with pytest.raises(ManifestError, match=msg):
            read_manifest(tmp_path / "b.jsonl")


def test_unusable_records_are_reported_with_the_reason(tmp_path):
    d = make_corpus(tmp_path / "f", "frame", 3, 0)
    utts = read_manifest(d)
    m = Config.load(None, ["model.output=frame"]).model
    symbols = output_symbols(m, utts)
    assert symbols.symbols == ["<blk>", "neg", "pos"]
    utts[1].extra["frame_labels"] += " pos"
    utts[2].extra["frame_labels"] = utts[2].extra["frame_labels"].replace("neg", "zero")
    logged = []
    keep = usable(utts, TargetReader(m, symbols), None, logged.append)
    assert [u.id for u in keep] == [utts[0].id]
    text = "\n".join(logged)
    assert f"{utts[1].num_frames + 1} frame labels for {utts[1].num_frames} frames" in text
    assert "classes not in the table: zero" in text
    reg = Config.load(None, ["model.output=regression"]).model
    r = make_corpus(tmp_path / "r", "regression", 2, 0)
    ok = read_manifest(r)
    ok[1].extra["target"] = [1.0, 2.0]
    logged.clear()
    assert len(usable(ok, TargetReader(reg, output_symbols(reg, ok), 1), None, logged.append)) == 1
    assert "2 target values, the model has 1" in logged[-1]


# ---- losses against hand computations -----------------------------------------------------------


def _batch(targets: list[torch.Tensor], lengths: list[int]) -> Batch:
    return collate([Example(str(i), torch.zeros(n, 1), [], "", t) for i, (t, n) in enumerate(zip(targets, lengths))])


def test_losses_are_summed_over_utterances_of_per_utterance_means():
    logp = torch.log_softmax(torch.randn(2, 3, 4), -1)
    b = _batch([torch.tensor([1, 2, 3]), torch.tensor([2])], [3, 1])
    want = -(logp[0, [0, 1, 2], [1, 2, 3]].mean() + logp[1, 0, 2])
    got, bad = frame_loss(logp, b.lengths, b, "cpu")
    assert torch.isclose(got, want) and bad == 0
    seq = _batch([torch.tensor(3), torch.tensor(1)], [2, 2])
    assert torch.isclose(label_loss(logp[:, 0], seq.lengths, seq, "cpu")[0], -(logp[0, 0, 3] + logp[1, 0, 1]))
    y = torch.tensor([[[1.0], [2.0], [9.0]], [[0.0], [5.0], [5.0]]])
    fr = _batch([torch.tensor([[0.0], [0.0], [0.0]]), torch.tensor([[1.0]])], [3, 1])
    assert torch.isclose(regression_loss(y, fr.lengths, fr, "cpu")[0], torch.tensor((1 + 4 + 81) / 3 + 1.0))
    nan = _batch([torch.tensor([float("nan")]), torch.tensor([1.0])], [1, 1])
    loss, bad = regression_loss(torch.zeros(2, 1), nan.lengths, nan, "cpu")
    assert bad == 1 and loss.item() == 1.0  # a non-finite utterance is zeroed, never propagated


# ---- (c) every output type learns a tiny task ---------------------------------------------------


def _train(tmp_path: Path, kind: str, *over: str) -> tuple[Path, list[dict]]:
    from recog.train import train

    data = "frame_regression" if "model.regression=frame" in over else kind
    tr, va = make_corpus(tmp_path / "train", data, 64, 0), make_corpus(tmp_path / "valid", data, 32, 1)
    cfg = Config.load(None, TINY + [f"model.output={kind}", *over])
    train(cfg, tr, va, tmp_path / "exp")
    with open(tmp_path / "exp" / "metrics.csv") as f:
        return tmp_path / "exp", list(csv.DictReader(f))


def _best(rows: list[dict], column: str) -> float:
    """The best epoch's validation score (the one best.pt holds)."""
    return min(float(r[column]) for r in rows)


def _target_std(folder: Path, key: str) -> float:
    utts = read_manifest(folder)
    vals = [u.target for u in utts] if key == "target" else [np.load(u.frame_targets).ravel() for u in utts]
    return float(np.std(np.concatenate([np.ravel(v) for v in vals])))


def test_label_model_learns_where_the_bump_is(tmp_path):
    # unidirectional, MATLAB's "last" output: left padding with a large value must not matter
    exp, rows = _train(tmp_path, "label", "model.bidirectional=false", "data.padding_direction=left",
                       "data.padding_value=50")
    assert _best(rows, "valid_er") <= 5.0, rows  # chance: 50
    from recog.checkpoint import load_model

    assert load_model(exp / "best.pt").symbols.symbols == ["<blk>", "first", "second"]  # from the data


def test_frame_model_learns_the_sign_in_chunks_with_the_state_carried(tmp_path):
    _, rows = _train(tmp_path, "frame", "model.bidirectional=false", "data.sequence_length=4", "model.cell=gru")
    assert _best(rows, "valid_er") <= 7.0, rows  # chance: 50


def test_regression_model_learns_the_mean(tmp_path):
    exp, rows = _train(tmp_path, "regression", "model.pool=mean", "data.sort_by_length=false")
    assert list(rows[0])[3] == "valid_rmse"
    assert _best(rows, "valid_rmse") <= 0.2 * _target_std(tmp_path / "valid", "target"), rows  # chance: 1 std
    assert (exp / "best.pt").exists()


def test_frame_regression_learns_sums_from_batches_cut_to_the_shortest(tmp_path):
    _, rows = _train(tmp_path, "regression", "model.regression=frame", "data.sequence_length=shortest",
                     "model.cell=peephole_lstm")
    assert _best(rows, "valid_rmse") <= 0.25 * _target_std(tmp_path / "valid", "frame_targets"), rows


# ---- (d) what decode, transcribe and score print ------------------------------------------------


def test_decode_and_score_a_trained_label_model(tmp_path, capsys):
    exp, _ = _train(tmp_path, "label", "train.epochs=4")
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    assert main(["decode", "--model", str(exp / "best.pt"), "--data", str(tmp_path / "valid"), "--out", str(hyp)]) == 0
    hyps = read_text(hyp)
    utts = read_manifest(tmp_path / "valid")
    assert set(hyps) == {u.id for u in utts} and set(hyps.values()) <= {"first", "second"}
    ref.write_text("".join(f"{u.id} {u.label}\n" for u in utts))
    capsys.readouterr()
    assert main(["score", str(ref), str(hyp), "--unit", "label"]) == 0
    out = capsys.readouterr().out
    correct = sum(hyps[u.id] == u.label for u in utts)
    assert out.startswith(f"%ACC {100 * correct / len(utts):.2f} [ {correct} / {len(utts)} ]")
    assert "confusion matrix (rows: reference, columns: hypothesis):" in out
    row = next(line for line in out.splitlines() if line.startswith("first "))
    n_first = sum(u.label == "first" for u in utts)
    assert sum(int(v) for v in row.split()[1:3]) == n_first
    assert main(["decode", "--model", str(exp / "best.pt"), "--data", str(tmp_path / "valid"), "--beam", "5"]) == 2
    assert "apply to CTC models" in capsys.readouterr().err


def test_score_regression_prints_rmse_and_mae(tmp_path, capsys):
    (tmp_path / "ref").write_text("a 1 2\nb 3\n")
    (tmp_path / "hyp").write_text("a 1 2.5\nb 2\n")
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--unit", "regression"]) == 0
    want_rmse, want_mae = math.sqrt((0.25 + 1) / 3), 1.5 / 3
    assert capsys.readouterr().out.strip() == f"RMSE {want_rmse:.6g} MAE {want_mae:.6g} over 2 utterances (3 values)"
    (tmp_path / "hyp").write_text("a 1\nb 2\n")
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--unit", "regression"]) == 2
    assert "a: 1 values in the hypothesis, 2 in the reference" in capsys.readouterr().err


def _speech_model(path: Path, output: str, classes: list[str], *over: str) -> Path:
    """An untrained model reading 40 fbank + energy + deltas frames (what recog transcribe computes)."""
    from recog.checkpoint import atomic_save, model_dict
    from recog.models import build_model
    from recog.tokens import SymbolTable

    cfg = Config.load(None, ["features.modality=audio", "model.frontend=none", "model.hidden=8", "model.layers=1",
                             f"model.output={output}", *over])
    symbols = SymbolTable(["<blk>"] + classes, "word")
    torch.manual_seed(0)
    n = 3 if output == "regression" else len(symbols)
    atomic_save(model_dict(build_model(cfg, n), cfg, symbols, None), path)
    return path


@pytest.mark.parametrize("output,over", [("label", []), ("frame", []), ("regression", []),
                                         ("regression", ["model.regression=frame"])],
                         ids=["label", "frame", "regression", "frame-regression"])
def test_transcribe_prints_labels_frame_labels_or_numbers(tmp_path, capsys, output, over):
    from recog.features import extract

    model = _speech_model(tmp_path / "m.pt", output, ["yes", "no"], *over, "data.padding_direction=left")
    for i, sec in enumerate((0.3, 0.5)):
        write_noise_wav(tmp_path / "in" / f"clip{i}.wav", sec, seed=i)
    assert main(["transcribe", "--model", str(model), str(tmp_path / "in")]) == 0
    lines = capsys.readouterr().out.splitlines()
    cfg = Config.load(None, ["features.modality=audio"]).features
    frames = [extract(tmp_path / "in" / f"clip{i}.wav", cfg).shape[0] for i in range(2)]
    for line, n in zip(lines, frames):
        uid, *vals = line.split()
        if output == "label":
            assert len(vals) == 1 and vals[0] in ("yes", "no")
        elif output == "frame":
            assert len(vals) == n and set(vals) <= {"yes", "no"}
        else:
            assert len(vals) == (3 * n if over else 3) and all(math.isfinite(float(v)) for v in vals)
    assert [line.split()[0] for line in lines] == ["clip0", "clip1"]
    (tmp_path / "ref").write_text("".join(line + "\n" for line in lines))  # scoring its own output: no errors
    assert main(["transcribe", "--model", str(model), str(tmp_path / "in"), "--ref", str(tmp_path / "ref")]) == 0
    err = capsys.readouterr().err
    assert ("RMSE 0 MAE 0" in err) if output == "regression" else ("%ACC 100.00" in err)
