"""Training: a tiny model learns, resumption is exact, and kill -9 loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import TINY, make_line_corpus, prepare_corpus
from recog.checkpoint import load_file, load_model
from recog.config import Config
from recog.manifest import read_manifest
from recog.train import evaluate, train


def _args(work: Path) -> dict:
    return dict(train_manifest=work / "feats/train", valid_manifest=work / "feats/valid",
                tokens=work / "data/tokens.txt")


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16-autocast"])
def test_tiny_model_overfits_a_few_lines(tmp_path, amp):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=8, n_valid=2, n_test=2, seed=3)
    work = tmp_path / "work"
    cfg = prepare_corpus(corpus, work, ["train.epochs=120", "train.patience=200", "train.lr_patience=100",
                                         "train.batch_size=2", "train.lr=0.01", f"train.amp={str(amp).lower()}"])
    linear_out = set()  # dtypes the output layer produced: bf16 only under autocast
    hook = torch.nn.modules.module.register_module_forward_hook(
        lambda mod, inp, out: linear_out.add(out.dtype) if isinstance(mod, torch.nn.Linear) else None)
    try:
        best = train(cfg, exp=work / "exp", **_args(work))
    finally:
        hook.remove()
    assert (torch.bfloat16 in linear_out) == amp
    lm = load_model(work / "exp" / "last.pt")
    main, _ = evaluate(lm.model, read_manifest(work / "feats/train"), lm.cfg, lm.symbols, None, "cpu")
    assert main.error_rate < 5.0, main.format()
    assert best.exists()
    rows = (work / "exp" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 121  # header + one row per epoch
    losses = [float(r.split(",")[2]) for r in rows[1:]]
    assert losses[-1] < 0.2 * losses[0]


def test_resume_continues_exactly(tmp_path):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=10, n_valid=2, n_test=2, seed=4)
    work = tmp_path / "work"
    # dropout: the RNG state must be restored too; keep_epochs: the epoch files survive resumption
    over = ["train.epochs=3", "model.dropout=0.3", "train.keep_epochs=2"]
    cfg = prepare_corpus(corpus, work, over)
    train(cfg, exp=work / "full", **_args(work))
    # the same run, stopped after 4 steps (inside epoch 2: 3 batches per epoch) and resumed
    train(cfg, exp=work / "split", max_steps=4, **_args(work))
    ts = load_file(work / "split" / "last.pt")["train_state"]
    assert (ts["epoch"], ts["batch"], ts["step"]) == (1, 1, 4)
    train(cfg, exp=work / "split", **_args(work))
    a = load_file(work / "full" / "last.pt")["state_dict"]
    b = load_file(work / "split" / "last.pt")["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    assert "resumed from" in (work / "split" / "log").read_text()
    for run in ("full", "split"):
        assert sorted(p.name for p in (work / run).glob("epoch*.pt")) == ["epoch2.pt", "epoch3.pt"]
        e3 = load_file(work / run / "epoch3.pt")
        assert "train_state" not in e3 and e3["meta"]["epoch"] == 3
        for k in a:
            torch.testing.assert_close(e3["state_dict"][k], a[k], rtol=0, atol=1e-6, msg=k)


def test_kill_9_then_same_command_resumes(tmp_path):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=16, n_valid=2, n_test=2, seed=5)
    work = tmp_path / "work"
    prepare_corpus(corpus, work)
    cmd = [sys.executable, "-m", "recog.cli", "train", "--train", str(work / "feats/train"),
           "--valid", str(work / "feats/valid"), "--tokens", str(work / "data/tokens.txt"),
           "--exp", str(work / "exp"), *TINY, "train.epochs=40", "train.checkpoint_every=2", "train.patience=100"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    last = work / "exp" / "last.pt"
    deadline = time.time() + 120
    while time.time() < deadline and not (last.exists() and load_file(last)["train_state"]["step"] >= 6):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = load_file(last)["train_state"]["step"]
    assert 6 <= killed_at < 160, "killed before the end of training"
    done = subprocess.run(cmd[:-3] + ["train.epochs=12", "train.checkpoint_every=2", "train.patience=100"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    log = (work / "exp" / "log").read_text()
    assert "resumed from" in log
    ts = load_file(last)["train_state"]
    assert ts["epoch"] == 12 and ts["step"] == 12 * 4
    assert (work / "exp" / "best.pt").exists()


def test_augmented_training_reads_images_on_the_fly(tmp_path):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=8, n_valid=2, n_test=2, seed=7)
    work = tmp_path / "work"
    cfg = prepare_corpus(corpus, work, ["train.epochs=1", "train.augment=true"])
    for npy in (work / "feats/train/npy").glob("*.npy"):
        npy.unlink()  # augmentation must not need (or use) the cached training features
    train(cfg, exp=work / "exp", **_args(work))
    rows = (work / "exp" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and float(rows[1].split(",")[2]) > 0


def test_a_second_run_on_the_same_experiment_is_refused(tmp_path):
    import fcntl

    import pytest

    exp = tmp_path / "exp"
    exp.mkdir()
    held = open(exp / ".train.lock", "w")
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    (tmp_path / "tokens.txt").write_text("<blk> 0\na 1\n")
    with pytest.raises(RuntimeError, match="another training run"):
        train(Config(), tmp_path / "none", tmp_path / "none", exp, tokens=tmp_path / "tokens.txt")
    held.close()


def test_missing_cached_features_are_reported_and_other_settings_refused(tmp_path):
    from recog.features import FeatureError
    from recog.features.cache import write_settings

    corpus = make_line_corpus(tmp_path / "corpus", n_train=6, n_valid=2, n_test=1, seed=5)
    work = tmp_path / "work"
    cfg = prepare_corpus(corpus, work, ["train.epochs=1"])
    gone = sorted((work / "feats/train/npy").glob("*.npy"))[0]
    gone.unlink()
    train(cfg, exp=work / "exp", **_args(work))
    logged = (work / "exp" / "log").read_text()
    assert "1 of 6 records have no cached features; left out" in logged
    assert f"{gone.stem}: {gone} not found" in logged
    # features computed with other settings than the config's are an error, before any training
    write_settings(work / "feats/valid", Config.load(None, TINY + ["features.image.dewarp=true"]).features)
    with pytest.raises(FeatureError, match="image.dewarp: cached True, config False"):
        train(cfg, exp=work / "exp2", **_args(work))
    assert not (work / "exp2" / "last.pt").exists()


def _cli_cmd(work: Path, exp: str, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "recog.cli", "train", "--train", str(work / "feats/train"),
            "--valid", str(work / "feats/valid"), "--tokens", str(work / "data/tokens.txt"),
            "--exp", str(work / exp), *TINY, *overrides]


def _wait_for_step(last: Path, step: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if last.exists() and load_file(last)["train_state"]["step"] >= step:
            return
        time.sleep(0.1)
    raise AssertionError(f"{last} did not reach step {step}")


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_checkpoints_the_current_step_and_says_how_to_resume(tmp_path, sig, code):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=16, n_valid=2, n_test=1, seed=5)
    work = tmp_path / "work"
    prepare_corpus(corpus, work)
    cmd = _cli_cmd(work, "exp", "train.epochs=200", "train.checkpoint_every=3", "train.patience=1000")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_step(work / "exp" / "last.pt", 3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    stopped = [line for line in out.splitlines() if "rerun the same command to resume" in line]
    assert len(stopped) == 1 and signal.Signals(sig).name in stopped[0]
    ts = load_file(work / "exp" / "last.pt")["train_state"]
    # the checkpoint is the step it stopped at, not the last periodic one
    assert f"step {ts['step']};" in stopped[0] and ts["batch"] == ts["step"] - 4 * ts["epoch"]


def test_kill_9_at_a_random_step_then_resume_is_bitwise_identical(tmp_path):
    """Deterministic CPU settings (one thread, no dropout randomness beyond the saved RNG): an
    interrupted and resumed run ends with exactly the weights of an uninterrupted one."""
    import random as pyrandom

    corpus = make_line_corpus(tmp_path / "corpus", n_train=12, n_valid=2, n_test=1, seed=8)
    work = tmp_path / "work"
    prepare_corpus(corpus, work)
    over = ["train.epochs=5", "model.dropout=0.2", "train.checkpoint_every=1", "train.patience=100"]
    subprocess.run(_cli_cmd(work, "full", *over), check=True, capture_output=True, timeout=300)
    kill_at = pyrandom.Random().randint(2, 13)  # 3 batches an epoch, 15 steps in all
    proc = subprocess.Popen(_cli_cmd(work, "split", *over), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_step(work / "split" / "last.pt", kill_at)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = subprocess.run(_cli_cmd(work, "split", *over), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    a = load_file(work / "full" / "last.pt")
    b = load_file(work / "split" / "last.pt")
    assert a["train_state"]["step"] == b["train_state"]["step"] == 15
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), f"{k} differs (killed after step {kill_at})"


def test_resuming_with_other_settings_names_each_key_and_the_way_out(tmp_path, capsys):
    from recog.cli import main

    corpus = make_line_corpus(tmp_path / "corpus", n_train=6, n_valid=2, n_test=1, seed=9)
    work = tmp_path / "work"
    prepare_corpus(corpus, work)
    args = _cli_cmd(work, "exp", "train.epochs=1")[3:]
    assert main(args) == 0
    # more epochs (or threads, logging) is a continuation, not another experiment
    assert main(args[:-1] + ["train.epochs=2"]) == 0
    capsys.readouterr()
    assert main(args + ["model.hidden=64", "train.lr=0.01"]) == 2
    msg = capsys.readouterr().err
    assert "this experiment was started with other settings" in msg
    assert "model.hidden: was 48, now 64" in msg and "train.lr: was 0.003, now 0.01" in msg
    assert "--restart" in msg and "--exp" in msg and "Traceback" not in msg
    assert main(args + ["model.hidden=64", "--restart"]) == 0
