"""--model given something that is not a recog model: one clear line, nothing executed."""

from __future__ import annotations

import gzip
import pickle

import pytest
import torch

from recog.checkpoint import load_file
from recog.cli import main


class _Payload:
    """Unpickling this would create a file (the classic pickle attack, made harmless)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("kind,why", [
    ("arpa", "an ARPA language model (pass it with --lm)"),
    ("arpa_gz", "a gzip file"),
    ("text", "not a PyTorch file (it is text)"),
    ("folder", "the folder holds no model.pt, best.pt or last.pt"),
    ("other_torch", "a PyTorch file without the recog-model-1 format tag"),
])
def test_not_a_model_is_one_clear_line(tmp_path, capsys, kind, why):
    p = tmp_path / kind
    arpa = "\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0 a\n\n\\end\\\n"
    if kind == "arpa":
        p.write_text(arpa)
    elif kind == "arpa_gz":
        p.write_bytes(gzip.compress(arpa.encode()))
    elif kind == "text":
        p.write_text("hello, this is a README\n")
    elif kind == "folder":
        p.mkdir()
        (p / "notes.txt").write_text("x")
    else:
        torch.save({"weights": torch.zeros(2)}, p)
    assert main(["transcribe", "--model", str(p), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{p}: not a recog model: {why}" in err[0], err


def test_a_pickle_with_a_payload_is_refused_and_never_run(tmp_path, capsys):
    target = tmp_path / "pwned"
    evil = tmp_path / "model.pt"
    torch.save({"format": "recog-model-1", "payload": _Payload(str(target))}, evil, pickle_module=pickle)
    assert main(["transcribe", "--model", str(evil), str(tmp_path)]) == 2
    assert "not a recog model: a pickle holding more than plain weights" in capsys.readouterr().err
    assert not target.exists()
    with pytest.raises(ValueError):
        load_file(evil)
    assert not target.exists()
