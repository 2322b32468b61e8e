"""recog transcribe --pages: a synthetic page with PAGE XML and ALTO layouts, read by the shipped
handwriting model; the written files must hold what transcribing the same line crops one by one
gives, validate, and leave the inputs as they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import render_line
from PIL import Image

from data_prep.pagexml import main as prep_pagexml
from recog.cli import main
from recog.decode.types import Hypothesis
from recog.layout.files import read_layout
from recog.pages import word_boxes

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "pretrained" / "hooker"
TEXTS = ["Dear Sir", "the plants of Kew", "with kind regards"]
BASES = [90, 170, 250]  # baselines 80 px apart; the rendered text sits on them

PAGE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15">
  <Metadata><Creator>test</Creator><Created>2026-12-06T00:00:00</Created><LastChange>2026-12-06T00:00:00</LastChange></Metadata>
  <Page imageFilename="page.png" imageWidth="500" imageHeight="320">
    <TextRegion id="r1"><Coords points="0,0 499,0 499,319 0,319"/>
{lines}
    </TextRegion>
  </Page>
</PcGts>
"""
ALTO = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">
  <Description><MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation><fileName>page.png</fileName></sourceImageInformation></Description>
  <Layout><Page ID="p1" PHYSICAL_IMG_NR="1" WIDTH="500" HEIGHT="320"><PrintSpace>
    <TextBlock ID="b1">
{lines}
    </TextBlock>
  </PrintSpace></Page></Layout>
</alto>
"""


def _polygon(k: int, x1: int) -> list[tuple[int, int]]:
    """Line k's polygon: the whole line, except line 1's, a 12-px band along its baseline."""
    y = BASES[k]
    if k == 1:
        return [(20, y - 12), (x1, y - 12), (x1, y), (20, y)]
    return [(20, y - 60), (x1, y - 60), (x1, y + 15), (20, y + 15)]


@pytest.fixture
def page_dir(tmp_path) -> tuple[Path, list[int]]:
    page = Image.new("L", (500, 320), 235)
    ends = []
    for text, y in zip(TEXTS, BASES):
        line = render_line(text, height=48, seed=y)
        page.paste(line, (20, y - 38))
        ends.append(min(480, 20 + line.width))
    d = tmp_path / "in"
    d.mkdir()
    page.save(d / "page.png")
    page_lines, alto_lines = [], []
    for k, x1 in enumerate(ends):
        poly = " ".join(f"{x},{y}" for x, y in _polygon(k, x1))
        base = f"20,{BASES[k]} {x1},{BASES[k]}"
        page_lines.append(f'<TextLine id="l{k}"><Coords points="{poly}"/><Baseline points="{base}"/>'
                          f'<TextEquiv><Unicode>{TEXTS[k]}</Unicode></TextEquiv></TextLine>')
        y0 = _polygon(k, x1)[0][1]
        alto_lines.append(f'<TextLine ID="l{k}" HPOS="20" VPOS="{y0}" WIDTH="{x1 - 20}" HEIGHT="{BASES[k] + 15 - y0}" '
                          f'BASELINE="{base}"><Shape><Polygon POINTS="{poly}"/></Shape>'
                          f'<String CONTENT="old"/></TextLine>')
    (d / "page.xml").write_text(PAGE.format(lines="\n".join(page_lines)), encoding="utf-8")
    (tmp_path / "alto").mkdir()
    (tmp_path / "alto" / "page.xml").write_text(ALTO.format(lines="\n".join(alto_lines)), encoding="utf-8")
    (tmp_path / "alto" / "page.png").write_bytes((d / "page.png").read_bytes())
    return tmp_path, ends


def _texts(path: Path) -> dict[str, str]:
    return {ln.id: ln.text for ln in read_layout(path).lines}


def _valid(path: Path) -> str:
    pytest.importorskip("lxml.etree")
    from recog.layout import validate

    return validate.errors(path)


def test_pages_write_what_the_lines_read_one_by_one_and_leave_the_input(page_dir, capsys):
    tmp, _ = page_dir
    before = {p: p.read_bytes() for p in (tmp / "in").iterdir()}
    assert main(["transcribe", "--model", str(MODEL), "--pages", str(tmp / "in"), "--out-dir", str(tmp / "out"),
                 "--out", str(tmp / "pages.txt")]) == 0
    assert "1 cut from the baseline" in capsys.readouterr().err   # the 12-px band of line l1
    assert {p: p.read_bytes() for p in (tmp / "in").iterdir()} == before
    written = _texts(tmp / "out" / "page.recog.xml")
    assert all(written.values()) and len(written) == 3
    assert _valid(tmp / "out" / "page.recog.xml") == ""
    # the --out text lists the same transcriptions, with page-prefixed ids
    listed = dict(ln.split(" ", 1) for ln in (tmp / "pages.txt").read_text(encoding="utf-8").splitlines())
    assert listed == {f"page_{k}": v for k, v in written.items()}

    # the same lines cut by `recog prep pagexml` (same regions, same 128-px cap) and read one by one
    assert prep_pagexml(["--pages", str(tmp / "in" / "page.xml"), "--out", str(tmp / "cut"),
                         "--max-height", "128"]) == 0
    assert main(["transcribe", "--model", str(MODEL), str(tmp / "cut" / "lines"), "--out", str(tmp / "one.txt")]) == 0
    one = dict(ln.split(" ", 1) if " " in ln else (ln, "") for ln in
               (tmp / "one.txt").read_text(encoding="utf-8").splitlines())
    assert {k.removeprefix("page_"): v for k, v in one.items()} == written


def test_alto_input_gets_the_same_transcriptions_as_page(page_dir):
    tmp, _ = page_dir
    assert main(["transcribe", "--model", str(MODEL), "--pages", str(tmp / "in"), "--out-dir", str(tmp / "p")]) == 0
    before = (tmp / "alto" / "page.xml").read_bytes()
    assert main(["transcribe", "--model", str(MODEL), "--pages", str(tmp / "alto" / "page.xml")]) == 0
    assert (tmp / "alto" / "page.xml").read_bytes() == before
    out = tmp / "alto" / "page.recog.xml"                         # next to the input by default
    assert _texts(out) == _texts(tmp / "p" / "page.recog.xml")
    assert "old" not in out.read_text(encoding="utf-8")            # the old Strings were replaced
    assert _valid(out) == ""


def test_word_boxes_follow_the_ctc_frames():
    # symbols: blank, a, b, <space>; "ab a" emitted at frames 2,3 | 5 | 8 of 10 output frames
    hyp = Hypothesis([1, 2, 3, 1], -1.0, start_frames=[2, 3, 5, 8], end_frames=[2, 4, 5, 8],
                     confidences=[0.9, 0.7, 0.99, 0.5])
    # 40 input columns (4 per output frame), no padding; the crop is 400 px wide from x = 100
    words = word_boxes(hyp, ["<blk>", "a", "b", "<space>"], 40, 10, 0, (100, 50, 500, 90))
    assert [w.text for w in words] == ["ab", "a"]
    assert words[0].x0 == pytest.approx(100 + 400 * 2 / 10) and words[0].x1 == pytest.approx(100 + 400 * 5 / 10)
    assert words[1].x0 == pytest.approx(100 + 400 * 8 / 10) and words[1].x1 == pytest.approx(100 + 400 * 9 / 10)
    assert (words[0].y0, words[0].y1) == (50, 90)
    assert words[0].conf == pytest.approx(0.8) and words[1].conf == pytest.approx(0.5)


def test_a_bad_page_is_named_and_skipped_and_the_others_written(page_dir, capsys):
    tmp, _ = page_dir
    text = (tmp / "in" / "page.xml").read_text(encoding="utf-8").replace("page.png", "gone.png")
    (tmp / "in" / "lost.xml").write_text(text, encoding="utf-8")
    (tmp / "in" / "broken.xml").write_text("<PcGts", encoding="utf-8")
    assert main(["transcribe", "--model", str(MODEL), "--pages", str(tmp / "in"), "--out-dir", str(tmp / "out")]) == 1
    err = capsys.readouterr().err
    assert "lost.xml: page image 'gone.png' not found" in err and "broken.xml" in err
    assert "2 page(s) could not be transcribed" in err
    assert sorted(p.name for p in (tmp / "out").iterdir()) == ["page.recog.xml"]


def test_pages_need_an_image_model(tmp_path, page_dir, capsys):
    from conftest import make_speech_model

    tmp, _ = page_dir
    speech = make_speech_model(tmp_path / "speech.pt")
    assert main(["transcribe", "--model", str(speech), "--pages", str(tmp / "in")]) == 2
    assert "needs a handwriting (image) model" in capsys.readouterr().err
    assert main(["transcribe", "--model", str(speech), str(tmp / "in"), "--out-dir", "x"]) == 2
    assert "--out-dir is for --pages" in capsys.readouterr().err


def test_the_band_holds_the_ascenders_the_thin_polygon_lost(page_dir):
    """Control for the first test: line l1's own polygon keeps only the 12 px over its baseline."""
    tmp, _ = page_dir
    for cut in ("auto", "polygon"):
        assert prep_pagexml(["--pages", str(tmp / "in" / "page.xml"), "--out", str(tmp / cut), "--cut", cut,
                             "--no-mask"]) == 0
    a = np.asarray(Image.open(tmp / "auto" / "lines" / "page_l1.png"))
    p = np.asarray(Image.open(tmp / "polygon" / "lines" / "page_l1.png"))
    assert a.shape[0] >= 60 and p.shape[0] <= 12 + 9
    assert (a < 128).sum() > 1.5 * (p < 128).sum()   # the band holds the dark ink the thin polygon cut off
