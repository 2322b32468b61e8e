"""What a new user runs into on a fresh clone, each answered clearly (issue 22's newcomer list)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import TINY, make_line_corpus, prepare_corpus, render_line
from recog.checkpoint import atomic_save, model_dict
from recog.cli import main
from recog.config import Config
from recog.models import build_model
from recog.tokens import SymbolTable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model(tmp_path) -> Path:
    cfg = Config.load(None, TINY)
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    symbols = SymbolTable.from_texts(["the cat sat on a mat"])
    atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), path)
    return path


def test_no_inputs_or_an_empty_folder_is_an_error(tmp_path, model, capsys):
    assert main(["transcribe", "--model", str(model)]) == 2
    assert "no inputs" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["transcribe", "--model", str(model), str(tmp_path / "empty")]) == 2
    assert f"no image files to transcribe in {tmp_path / 'empty'}" in capsys.readouterr().err


def test_two_inputs_with_one_stem_are_refused_or_get_relative_ids(tmp_path, model, capsys):
    for d in ("a", "b"):
        (tmp_path / "in" / d).mkdir(parents=True)
        render_line("the cat").save(tmp_path / "in" / d / "line.png")
    assert main(["transcribe", "--model", str(model), str(tmp_path / "in")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "in" / "a" / "line.png") in err and str(tmp_path / "in" / "b" / "line.png") in err
    assert main(["transcribe", "--model", str(model), "--relative-ids", str(tmp_path / "in")]) == 0
    ids = [line.split(" ")[0] for line in capsys.readouterr().out.splitlines()]
    assert ids == ["a/line", "b/line"]


def test_whitespace_in_file_names_becomes_underscores_in_ids(tmp_path, model, capsys):
    render_line("a mat").save(tmp_path / "my line.png")
    assert main(["transcribe", "--model", str(model), str(tmp_path / "my line.png")]) == 0
    assert capsys.readouterr().out.split(" ")[0].strip() == "my_line"


def test_score_with_disjoint_ids_is_an_error_and_missing_is_said_once(tmp_path, capsys):
    (tmp_path / "ref").write_text("u1 a b\nu2 c\n")
    (tmp_path / "hyp").write_text("x1 a b\n")
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp")]) == 2
    assert "no id of" in capsys.readouterr().err
    (tmp_path / "hyp").write_text("u1 a b\n")
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp")]) == 0
    out = capsys.readouterr()
    assert (out.out + out.err).count("missing hypotheses") == 1


def test_train_finds_the_recipe_tokens_and_leaves_nothing_when_there_are_none(tmp_path, capsys):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=4, n_valid=1, n_test=1, seed=2)
    work = tmp_path / "work"
    prepare_corpus(corpus, work)  # work/data/tokens.txt beside work/feats/train
    args = ["train", "--train", str(work / "feats/train"), "--valid", str(work / "feats/valid"), *TINY, "train.epochs=1"]
    assert main(args + ["--exp", str(work / "exp")]) == 0
    (work / "data" / "tokens.txt").unlink()
    assert main(args + ["--exp", str(work / "exp2")]) == 2
    assert "no symbol table: looked for" in capsys.readouterr().err
    assert not (work / "exp2").exists()


def test_misspelled_keys_and_options_get_a_suggestion(tmp_path, capsys):
    assert main(["train", "--train", "x", "--valid", "y", "--exp", str(tmp_path / "e"), "train.lrr=0.1"]) == 2
    assert "command line override 'train.lrr=0.1': unknown key train.lrr; did you mean train.lr?" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["transcribe", "--model", "m", "--bem", "3", "x"])
    assert e.value.code == 2 and "(did you mean --beam?)" in capsys.readouterr().err


@pytest.mark.parametrize("args,msg", [(["--beam", "-3"], "-3 is below 0"), (["--batch-size", "0"], "0 is below 1")])
def test_nonsense_numbers_are_refused(args, msg, capsys):
    with pytest.raises(SystemExit):
        main(["transcribe", "--model", "m", *args, "x"])
    assert msg in capsys.readouterr().err


def test_out_creates_its_folder(tmp_path, model):
    render_line("the cat").save(tmp_path / "x.png")
    out = tmp_path / "new" / "deeper" / "hyp.txt"
    assert main(["transcribe", "--model", str(model), str(tmp_path / "x.png"), "--out", str(out)]) == 0
    assert out.read_text().startswith("x")


def test_version_module_entry_and_prep_help():
    v = subprocess.run([sys.executable, "-m", "recog", "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("recog ")
    h = subprocess.run([sys.executable, "-m", "recog", "prep", "lines", "--help"], capture_output=True, text=True)
    assert h.returncode == 0 and h.stdout.startswith("usage: recog prep lines")


def test_recipe_help_and_a_relative_conf_from_elsewhere(tmp_path):
    for r in sorted((ROOT / "recipes").glob("*/run.sh")):
        h = subprocess.run(["bash", str(r), "--help"], capture_output=True, text=True)
        assert h.returncode == 0 and len(h.stdout.splitlines()) >= 2, r
    # --conf conf/finetune.yaml from another folder: the recipe's own conf is read (the run then
    # stops at the missing symbol table, after the conf was read)
    r = subprocess.run(["bash", str(ROOT / "recipes/fsdd/run.sh"), "--corpus", str(tmp_path / "none"), "--work",
                        str(tmp_path / "w"), "--conf", "conf/finetune.yaml", "--stage", "3", "--stop-stage", "3"],
                       capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"))
    assert r.returncode == 2 and "symbol table not found" in r.stderr and "finetune.yaml" not in r.stderr, r.stderr


def test_a_character_lm_over_other_symbols_is_refused(tmp_path, model, capsys):
    (tmp_path / "text").write_text("u1 the dog ran\n")
    assert main(["lm", "--text", str(tmp_path / "text"), "--order", "2", "--out", str(tmp_path / "lm.arpa")]) == 0
    render_line("the cat").save(tmp_path / "x.png")
    assert main(["transcribe", "--model", str(model), "--beam", "5", "--lm", str(tmp_path / "lm.arpa"),
                 str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "the LM is over other symbols than the model's; not in the model: d g r" in err


def test_blank_and_tiny_images_are_said_to_hold_no_writing(tmp_path, model, capsys):
    Image.new("L", (800, 60), 250).save(tmp_path / "blank.png")
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    render_line("the cat").save(tmp_path / "x.png")
    assert main(["transcribe", "--model", str(model), str(tmp_path)]) == 0
    out = capsys.readouterr()
    lines = dict((line.split(" ", 1) + [""])[:2] for line in out.out.splitlines())
    assert lines["blank"] == "" and lines["dot"] == "" and "x" in lines
    assert "warning: " + str(tmp_path / "blank.png") + ": the image holds no writing" in out.err
    assert "dot.png: the image holds no writing (1x1 px" in out.err
