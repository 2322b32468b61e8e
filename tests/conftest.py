"""Shared fixtures: tiny corpora the tests write themselves (nothing is read from outside)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image, ImageDraw, ImageFont

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "it", "is", "red", "sun", "hat"]


def render_line(text: str, height: int = 32, seed: int = 0) -> Image.Image:
    """Draw ``text`` in Pillow's built-in font on a grey line image with a little noise."""
    rng = random.Random(seed)
    font = ImageFont.load_default(size=22)
    w = int(font.getlength(text)) + 16
    img = Image.new("L", (w, height), 235)
    d = ImageDraw.Draw(img)
    d.text((8, 4 + rng.randint(-1, 1)), text, fill=20, font=font)
    px = img.load()
    for _ in range(w * height // 40):
        x, y = rng.randrange(w), rng.randrange(height)
        px[x, y] = max(0, min(255, px[x, y] + rng.randint(-40, 40)))
    return img


def make_line_corpus(root: Path, n_train: int = 12, n_valid: int = 4, n_test: int = 4, seed: int = 0) -> Path:
    """A kraken-style corpus: lines/<id>.png + <id>.gt.txt and train/valid/test .lst files."""
    rng = random.Random(seed)
    lines = root / "lines"
    lines.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("valid", n_valid), ("test", n_test)):
        ids = []
        for i in range(n):
            uid = f"{split}{i:03d}"
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
            render_line(text, seed=rng.randint(0, 10**6)).save(lines / f"{uid}.png")
            (lines / f"{uid}.gt.txt").write_text(text + "\n")
            ids.append(uid)
        (root / f"{split}.lst").write_text("\n".join(ids) + "\n")
    return root


def make_iam_corpus(root: Path, n_train: int = 12, n_valid: int = 3, n_test: int = 3, seed: int = 0) -> Path:
    """A corpus in the IAM layout (what ``data_prep.synth_lines`` writes): ascii/lines.txt with its
    header and all fields, lines/<a01>/<a01-000u>/<line id>.png and splits/{train,valid,test}.txt."""
    from data_prep.synth_lines import LINES_TXT_HEADER

    rng = random.Random(seed)
    rows = []
    for split, n in (("train", n_train), ("valid", n_valid), ("test", n_test)):
        ids = []
        form = {"train": "a01-000u", "valid": "b02-010", "test": "c03-003"}[split]
        for i in range(n):
            lid = f"{form}-{i:02d}"
            words = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
            img = render_line(" ".join(words), seed=rng.randint(0, 10**6))
            path = root / "lines" / form.split("-")[0] / form / f"{lid}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            img.save(path)
            rows.append(f"{lid} ok 154 {len(words)} 0 0 {img.width} {img.height} {'|'.join(words)}")
            ids.append(lid)
        (root / "splits").mkdir(parents=True, exist_ok=True)
        (root / "splits" / f"{split}.txt").write_text("".join(i + "\n" for i in ids))
    (root / "ascii").mkdir(parents=True, exist_ok=True)
    (root / "ascii" / "lines.txt").write_text(LINES_TXT_HEADER + "".join(r + "\n" for r in rows))
    return root


def run_script(cmd: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a recipe's command line as a user would: this Python's ``recog`` first on PATH, output captured."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def run_recipe(name: str, corpus: Path, work: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run recipes/NAME/run.sh as a user would (this Python's ``recog`` on PATH) on CORPUS with
    ``--work WORK``, the recipe's conf/debug.yaml, one training thread and ARGS."""
    root = Path(__file__).resolve().parents[1]
    cmd = ["bash", str(root / "recipes" / name / "run.sh"), "--corpus", str(corpus), "--work", str(work),
           "--conf", str(root / "recipes" / name / "conf" / "debug.yaml"), *args, "train.threads=1"]
    return run_script(cmd, timeout)


@pytest.fixture
def line_corpus(tmp_path) -> Path:
    return make_line_corpus(tmp_path / "corpus")


TINY = [
    "features.image.height=32",
    "model.cnn_channels=[8,16]",
    "model.cnn_pool=[[2,2],[2,1]]",
    "model.hidden=48",
    "model.layers=1",
    "model.dropout=0.0",
    "train.batch_size=4",
    "train.lr=0.003",
    "train.log_every=0",
    "train.threads=1",
]


def prepare_corpus(corpus: Path, work: Path, overrides: list[str] | None = None):
    """Stages 1-2 through the library: manifests, tokens.txt and cached features."""
    from data_prep.lines import prepare_lines
    from recog.config import Config
    from recog.data import compute_features
    from recog.manifest import read_manifest, write_manifest

    cfg = Config.load(None, TINY + list(overrides or []))
    prepare_lines(corpus, work / "data")
    for split in ("train", "valid", "test"):
        utts = compute_features(read_manifest(work / "data" / split), cfg.features, work / "feats" / split / "npy",
                                progress=False)
        write_manifest(work / "feats" / split / "manifest.jsonl", utts)
    return cfg


KALDI_LEXICON = """WE\tW IY1
CALL\tK AO1 L
CALL\tK AA1 L
IT\tIH1 T
BEAR\tB EH1 R
ZERO\tZ IH1 R OW0
"""


def write_noise_wav(path: Path, seconds: float, sr: int = 16000, seed: int = 0):
    """A 16-bit WAV of uniform noise; returns the samples as read back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, int(seconds * sr)).astype(np.float32)
    sf.write(str(path), x, sr, subtype="PCM_16")
    return sf.read(str(path), dtype="float32")[0]


def make_kaldi_corpus(root: Path) -> Path:
    """speechocean762's layout: <root>/{train,test}/ Kaldi data dirs whose wav.scp paths are relative
    to <root>, audio in WAVE/SPEAKER<spk>/, resource/lexicon.txt; 4 train and 1 test speakers with
    gender and age, 2 utterances each (1 s of noise: for plumbing, not for learning)."""
    for split, spks in (("train", [("0001", "m", 6), ("0002", "f", 30), ("0003", "f", 8), ("0004", "m", 40)]),
                        ("test", [("0009", "f", 25)])):
        d = root / split
        d.mkdir(parents=True)
        wav, text, u2s = [], [], []
        for k, (spk, _, _) in enumerate(spks):
            for j, words in enumerate(["WE CALL IT BEAR", "ZERO"]):
                uid = f"{spk}{j:04d}"
                write_noise_wav(root / "WAVE" / f"SPEAKER{spk}" / f"{uid}.WAV", 1.0, seed=k * 10 + j)
                wav.append(f"{uid}\tWAVE/SPEAKER{spk}/{uid}.WAV")
                text.append(f"{uid}\t{words}")
                u2s.append(f"{uid} {spk}")
        (d / "wav.scp").write_text("\n".join(wav) + "\n")
        (d / "text").write_text("\n".join(text) + "\n")
        (d / "utt2spk").write_text("\n".join(u2s) + "\n")
        (d / "spk2gender").write_text("".join(f"{s} {g}\n" for s, g, _ in spks))
        (d / "spk2age").write_text("".join(f"{s} {a}\n" for s, _, a in spks))
    (root / "resource").mkdir()
    (root / "resource" / "lexicon.txt").write_text(KALDI_LEXICON)
    return root


def make_speech_model(path: Path, phones: str = "aa b k") -> Path:
    """An untrained tiny phone model (40 fbank + energy + deltas, 2 frames stacked, one BiLSTM of 16)
    saved as a recog model file: for plumbing tests of the speech verbs."""
    import torch

    from recog.checkpoint import atomic_save, model_dict
    from recog.config import Config
    from recog.models import build_model
    from recog.tokens import SymbolTable

    cfg = Config.load(None, ["features.modality=audio", "model.frontend=stack", "model.stack=2", "model.subsample=2",
                             "model.hidden=16", "model.layers=1"])
    symbols = SymbolTable.from_texts([phones], unit="phone")
    torch.manual_seed(0)
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), path)
    return path


def write_idx(path: Path, a: np.ndarray, gz: bool = False) -> Path:
    """``a`` (uint8) as an IDX file (LeCun's MNIST format: 00 00 08 ndim, big-endian sizes, bytes)."""
    import gzip

    a = np.ascontiguousarray(a, dtype=np.uint8)
    raw = bytes([0, 0, 8, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape) + a.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def mnist_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28×28 "digits" as MNIST stores them (strokes bright on 0) that a row reader can tell
    apart: digit d is a bright bar on rows 2d+4 and 2d+5 (its position in time), plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = (rng.random((n, 28, 28)) * 60).astype(np.uint8)
    for a, d in zip(images, labels):
        a[2 * d + 4 : 2 * d + 6, 4:24] = 255
    return images, labels


def make_mnist_corpus(root: Path, n_train: int = 40, n_test: int = 10, gz: bool = True) -> Path:
    """The four MNIST IDX files (gzipped as distributed, or not) of ``mnist_digits``."""
    root.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for name, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = mnist_digits(n, seed)
        write_idx(root / f"{name}-images-idx3-ubyte{ext}", images, gz)
        write_idx(root / f"{name}-labels-idx1-ubyte{ext}", labels, gz)
    return root
