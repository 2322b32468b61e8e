"""The training loop runs unchanged under torchrun (two CPU processes, gloo)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TINY, make_line_corpus, prepare_corpus
from recog.checkpoint import load_file


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="no torchrun")
def test_torchrun_two_processes(tmp_path):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=16, n_valid=2, n_test=2, seed=6)
    work = tmp_path / "work"
    prepare_corpus(corpus, work)
    torchrun = str(Path(sys.executable).parent / "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "recog.cli", "train",
           "--train", str(work / "feats/train"), "--valid", str(work / "feats/valid"),
           "--tokens", str(work / "data/tokens.txt"), "--exp", str(work / "exp"), *TINY, "train.epochs=2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    log = (work / "exp" / "log").read_text()
    assert "world 2" in log
    # rank 0 alone logs and writes metrics: one "done" line and one csv row per epoch
    assert log.count("epoch 1 done") == 1 and log.count("epoch 2 done") == 1
    assert len((work / "exp" / "metrics.csv").read_text().splitlines()) == 3
    # 16 lines, batch 4 -> 4 batches, 2 per rank per epoch
    assert "2 batches per epoch per process" in log  # 16 lines, batch 4, 2 ranks
    assert load_file(work / "exp" / "last.pt")["train_state"]["step"] == 4
