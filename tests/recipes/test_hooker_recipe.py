"""The Hooker recipe end to end (stages 1-6) on a generated corpus in the same layout."""

from __future__ import annotations

import subprocess
import sys

from conftest import make_line_corpus, run_recipe


def test_hooker_recipe_runs_all_stages_and_resumes(tmp_path):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=12, n_valid=3, n_test=3)
    work = tmp_path / "work"
    r = run_recipe("hooker", corpus, work)
    assert r.returncode == 0, r.stdout + r.stderr
    exp = work / "exp" / "debug"
    for f in ("config.yaml", "cmd.txt", "log", "metrics.csv", "best.pt", "last.pt",
              "decode_test/hyp.txt", "decode_test/score_char.txt", "package/model.pt"):
        assert (exp / f).exists(), f
    assert "%CER" in (exp / "decode_test/score_char.txt").read_text()
    hyp_ids = [l.split(" ", 1)[0] for l in (exp / "decode_test/hyp.txt").read_text().splitlines()]
    assert hyp_ids == [f"test{i:03d}" for i in range(3)]
    # a second run finds every stage complete: data and features are skipped, training resumes at its end
    r2 = run_recipe("hooker", corpus, work)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "stage 1: " in r2.stdout and "exists, skipped" in r2.stdout
    assert "resumed from" in r2.stdout
    # --train-set: train on a cleaned copy of the training manifest (recog filter)
    clean = subprocess.run([sys.executable, "-m", "recog.cli", "filter", "--model", str(exp / "best.pt"),
                            "--data", str(work / "feats/train"), "--out", str(work / "feats/train_clean"),
                            "--max-er", "100"], capture_output=True, text=True)
    assert clean.returncode == 0 and "kept 12, rejected 0" in clean.stderr, clean.stderr
    r3 = run_recipe("hooker", corpus, work, "--stage", "3", "--stop-stage", "3", "--tag", "clean",
                    "--train-set", "train_clean")
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert f"--train {work}/feats/train_clean " in (work / "exp/clean/cmd.txt").read_text()


def test_valid_fold_lists_split_the_valid_pages():
    import re
    from pathlib import Path

    from data_prep.lines import read_list

    root = Path(__file__).resolve().parents[2] / "recipes/hooker/lists"
    fold, held = read_list(root / "valid_fold.lst"), read_list(root / "valid_held.lst")
    assert (len(fold), len(held)) == (516, 144)
    assert len(set(fold) | set(held)) == 660
    page = re.compile(r"jdh_JDH_\d+_\d+_[0-9a-z]+_\d+")
    pages = {n: {page.match(i).group(0) for i in v} for n, v in (("fold", fold), ("held", held))}
    assert (len(pages["fold"]), len(pages["held"])) == (26, 8)
    assert not pages["fold"] & pages["held"]          # a page is trained on or held out, never both


def test_stage_0_cuts_the_pages_with_the_published_page_split(tmp_path):
    """--pages: lines cut from page images + PAGE XML, each page's lines in its split's list."""
    from PIL import Image

    from conftest import render_line

    pages = tmp_path / "repo"
    pages.mkdir()
    for stem in ("JDH_2_16_144_001", "JDH_2_16_150_002", "JDH_2_16_145_001"):  # train, valid, test pages
        page = Image.new("L", (400, 200), 235)
        rows = []
        for k, (text, y) in enumerate((("Dear Sir", 60), ("Kew Gardens", 130))):
            page.paste(render_line(text, height=40, seed=k), (10, y - 32))
            rows.append(f'<TextLine id="r1l{k}"><Coords points="10,{y - 40} 380,{y - 40} 380,{y + 8} 10,{y + 8}"/>'
                        f'<Baseline points="10,{y} 380,{y}"/><TextEquiv><Unicode>{text}</Unicode></TextEquiv></TextLine>')
        page.save(pages / f"{stem}.jpg")
        (pages / f"{stem}.xml").write_text(
            '<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15">'
            f'<Page imageFilename="{stem}.jpg" imageWidth="400" imageHeight="200"><TextRegion id="r1">'
            f'<Coords points="0,0 399,0 399,199 0,199"/>{"".join(rows)}</TextRegion></Page></PcGts>', encoding="utf-8")
    corpus = tmp_path / "corpus"
    r = run_recipe("hooker", corpus, tmp_path / "work", "--pages", str(pages), "--stop-stage", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stage 0" in r.stdout
    for split, stem in (("train", "JDH_2_16_144_001"), ("valid", "JDH_2_16_150_002"), ("test", "JDH_2_16_145_001")):
        assert (corpus / f"{split}.lst").read_text().split() == [f"jdh_{stem}_r1l0", f"jdh_{stem}_r1l1"]
    assert (corpus / "lines" / "jdh_JDH_2_16_145_001_r1l1.gt.txt").read_text() == "Kew Gardens\n"
    assert (tmp_path / "work" / "data" / "test" / "text").read_text().splitlines()[0] == "jdh_JDH_2_16_145_001_r1l0 Dear Sir"
