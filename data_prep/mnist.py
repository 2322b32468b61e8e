"""Prepare MNIST for sequence-to-label training (seqMNIST: a digit read row by row).

Reads the four IDX files of the canonical distribution, gzipped or not::

    corpus/train-images-idx3-ubyte[.gz]   corpus/train-labels-idx1-ubyte[.gz]
    corpus/t10k-images-idx3-ubyte[.gz]    corpus/t10k-labels-idx1-ubyte[.gz]

(``train-images.idx3-ubyte`` and the like, as some mirrors name them, are found too) and writes
every digit as a 28×28 8-bit grey PNG holding exactly the IDX bytes (white strokes on black, as
MNIST stores them) under ``out/images/``, manifests with ``"label": "<digit>"`` (and the digit as
``text``, so ``out/<split>/text`` holds ``<id> <digit>`` lines for ``recog score --unit label``) and
``out/tokens.txt``, the ten classes 0-9.
Ids: ``train_00000`` … and ``test_00000`` …, the index in their IDX file.  ``valid`` is
``--valid`` training digits drawn at random (``--seed``); ``train`` the others, ``test`` the 10,000
test digits.  With ``features.image: {frames: rows, height: 28, contrast: false, invert: false,
fill_mask: false, pad: 0}`` each row is a frame of the pixels / 255 (recipes/seqmnist).

IDX (LeCun's format): a big-endian header, two zero bytes, the element type (0x08: unsigned byte),
the number of dimensions, one 32-bit size per dimension, then the elements in row-major order.
A file that is not IDX, not unsigned bytes, has the wrong number of dimensions or is cut short is
an error naming it, as are image and label files that disagree in count and labels outside 0-9.

Usage::

    python -m data_prep.mnist --corpus DIR --out DIR [--valid 5000] [--seed 0]
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from recog.manifest import Utterance
from recog.tokens import BLANK, SymbolTable

from .common import Reporter, run_reporting_errors, write_all

PROG = "data_prep.mnist"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_UBYTE = 0x08


def find_idx(corpus: Path, stem: str) -> Path:
    """``corpus/stem`` or ``stem.gz``, or the mirrors' ``...-images.idx3-ubyte`` spelling."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (corpus / name).is_file():
            return corpus / name
    raise FileNotFoundError(f"{corpus / stem}: not found (nor {stem}.gz): the MNIST IDX files belong in --corpus")


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes with ``ndim`` dimensions as a uint8 array; gzip is detected
    from the content.  ValueError naming the file when it is not such a file or is cut short."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: a broken gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}, "
                         f"expected 0000{_UBYTE:02x}{ndim:02x})")
    if raw[2] != _UBYTE or raw[3] != ndim:
        raise ValueError(f"{path}: IDX magic number {raw[:4].hex()}: expected unsigned bytes (08) in {ndim} "
                         f"dimensions (0000{_UBYTE:02x}{ndim:02x})")
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise ValueError(f"{path}: IDX header cut short ({len(raw)} bytes)")
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    n = int(np.prod(shape))
    if len(raw) - head != n:
        raise ValueError(f"{path}: the header says {'x'.join(map(str, shape))} = {n} bytes of data, the file holds "
                         f"{len(raw) - head}")
    return np.frombuffer(raw, np.uint8, n, head).reshape(shape)


def read_split(corpus: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, rows, cols), labels (N,)) of ``train`` or ``test``, checked against each other."""
    img_path, lab_path = (find_idx(corpus, s) for s in FILES[name])
    images, labels = read_idx(img_path, 3), read_idx(lab_path, 1)
    if len(images) != len(labels):
        raise ValueError(f"{img_path} holds {len(images)} images but {lab_path} {len(labels)} labels")
    if len(labels) and labels.max() > 9:
        raise ValueError(f"{lab_path}: label {int(labels.max())} is not a digit 0-9")
    return images, labels


def write_images(images: np.ndarray, labels: np.ndarray, prefix: str, folder: Path) -> list[Utterance]:
    folder.mkdir(parents=True, exist_ok=True)
    utts = []
    for k, (a, y) in enumerate(zip(images, labels)):
        uid = f"{prefix}_{k:05d}"
        path = folder / f"{uid}.png"
        if not path.exists():  # a rerun after an interruption keeps what is written
            tmp = path.with_suffix(".tmp.png")
            Image.fromarray(a, mode="L").save(tmp, compress_level=1)
            tmp.replace(path)
        utts.append(Utterance(id=uid, path=str(path.absolute()), text=str(int(y)), extra={"label": str(int(y))}))
    return utts


def prepare_mnist(corpus: Path, out: Path, valid: int = 5000, seed: int = 0) -> dict[str, list[Utterance]]:
    """Write ``out/{train,valid,test}`` (manifest.jsonl, text), ``out/tokens.txt`` and the PNGs."""
    corpus, out = Path(corpus), Path(out)
    rep = Reporter(PROG)
    if not corpus.is_dir():
        raise FileNotFoundError(f"{corpus}: corpus directory not found")
    data = {name: read_split(corpus, name) for name in FILES}  # read and check everything before writing
    if not 0 <= valid < len(data["train"][1]):
        raise ValueError(f"--valid {valid}: must be at least 0 and below the {len(data['train'][1])} training digits")
    train = write_images(*data["train"], "train", out / "images")
    test = write_images(*data["test"], "test", out / "images")
    held = set(random.Random(seed).sample(range(len(train)), valid))
    splits = {"train": [u for k, u in enumerate(train) if k not in held],
              "valid": [u for k, u in enumerate(train) if k in held], "test": test}
    if not splits["valid"]:
        del splits["valid"]
    for name, utts in splits.items():
        counts = np.bincount([int(u.label) for u in utts], minlength=10)
        rep.info(f"{name}: {len(utts)} digits ({' '.join(f'{d}:{c}' for d, c in enumerate(counts))})")
    write_all(out, splits, rep, unit="char")
    SymbolTable([BLANK] + [str(d) for d in range(10)], "char").write(out / "tokens.txt")  # all ten classes, always
    rep.summary(splits, out)
    return splits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep mnist", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="folder with the four MNIST IDX files (.gz or not)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (train/ valid/ test/ images/ tokens.txt)")
    ap.add_argument("--valid", type=int, default=5000, help="training digits held out for validation (0: none)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the validation draw")
    args = ap.parse_args(argv)
    return run_reporting_errors(PROG, lambda: prepare_mnist(args.corpus, args.out, args.valid, args.seed))


if __name__ == "__main__":
    sys.exit(main())
