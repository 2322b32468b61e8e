"""The training loop runs unchanged under torchrun (two CPU processes, gloo), exits cleanly, and
follows the same trajectory as one process with the two processes' batches together."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import TINY, make_line_corpus, prepare_corpus
from recog.checkpoint import load_file
from recog.config import Config
from recog.train import train

TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent))
needs_torchrun = pytest.mark.skipif(TORCHRUN is None, reason="no torchrun")


def _torchrun(work: Path, exp: str, *overrides: str) -> subprocess.CompletedProcess:
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "recog.cli", "train",
           "--train", str(work / "feats/train"), "--valid", str(work / "feats/valid"),
           "--tokens", str(work / "data/tokens.txt"), "--exp", str(work / exp), *TINY, *overrides]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240)


@needs_torchrun
def test_torchrun_two_processes(tmp_path):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=16, n_valid=2, n_test=2, seed=6)
    work = tmp_path / "work"
    prepare_corpus(corpus, work)
    r = _torchrun(work, "exp", "train.epochs=2")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "terminate called" not in r.stderr
    log = (work / "exp" / "log").read_text()
    assert "world 2" in log
    # rank 0 alone logs and writes metrics: one "done" line and one csv row per epoch
    assert log.count("epoch 1 done") == 1 and log.count("epoch 2 done") == 1
    assert len((work / "exp" / "metrics.csv").read_text().splitlines()) == 3
    # 16 lines, batch 4 per process -> global batches of 8: 2 per epoch, each rank 4 lines of each
    assert "2 batches per epoch per process" in log
    assert load_file(work / "exp" / "last.pt")["train_state"]["step"] == 4


def _step_losses(log: str) -> list[float]:
    return [float(x) for x in re.findall(r"step \d+ loss ([0-9.]+)", log)]


@needs_torchrun
def test_two_processes_follow_the_trajectory_of_one_with_twice_the_batch(tmp_path):
    """2 ranks x batch 3 = 1 process x batch 6 over the same data order: per-step losses and final
    weights agree to float rounding (1e-4 relative on the losses, 1e-4 absolute on the weights).
    The model has no batch norm (frame stacking front end), whose per-rank batch statistics would
    differ from the single process's by design."""
    corpus = make_line_corpus(tmp_path / "corpus", n_train=12, n_valid=2, n_test=1, seed=11)
    work = tmp_path / "work"
    over = ["model.frontend=stack", "model.hidden=32", "train.epochs=3", "train.log_every=1", "train.lr=0.01",
            "train.schedule=cosine", "train.warmup_steps=2"]
    prepare_corpus(corpus, work)
    r = _torchrun(work, "ddp", "train.batch_size=3", *over)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cfg = Config.load(None, TINY + over + ["train.batch_size=6"])
    train(cfg, work / "feats/train", work / "feats/valid", work / "one", tokens=work / "data/tokens.txt")
    two, one = (_step_losses((work / e / "log").read_text()) for e in ("ddp", "one"))
    assert len(one) == len(two) == 6  # 2 global batches x 3 epochs
    assert one[0] > 1.5 * one[-1], "the model did not learn"
    torch.testing.assert_close(torch.tensor(two), torch.tensor(one), rtol=1e-4, atol=0)
    a, b = (load_file(work / e / "last.pt")["state_dict"] for e in ("ddp", "one"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-4, msg=k)
