"""data_prep.pagexml on PAGE-XML pages written in tmp_path in the real formats (2013 and 2010)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_prep.lines import prepare_lines
from data_prep.pagexml import main, split_pages
from recog.layout.geometry import crop_region as crop_line
from recog.manifest import read_manifest

PAGE_2013 = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15">
  <Metadata><Creator>Transkribus</Creator></Metadata>
  <Page imageFilename="{image}" imageWidth="400" imageHeight="200">
    <TextRegion id="r1" custom="readingOrder {{index:0;}}">
      <Coords points="0,0 399,0 399,199 0,199"/>
      <TextLine id="r1l1" custom="readingOrder {{index:0;}}">
        <Coords points="20,20 180,20 180,50 20,50"/>
        <Baseline points="20,45 180,45"/>
        <TextEquiv index="1"><Unicode>second reading</Unicode></TextEquiv>
        <TextEquiv index="0"><Unicode>Dec  21/95</Unicode></TextEquiv>
      </TextLine>
      <TextLine id="r1l2">
        <Coords points="20,70 300,70 300,110"/>
        <Word id="w1"><Coords points="20,70 60,70 60,100"/><TextEquiv><Unicode>THE</Unicode></TextEquiv></Word>
        <Word id="w2"><Coords points="70,70 120,70 120,100"/><TextEquiv><Unicode>CAMP.</Unicode></TextEquiv></Word>
      </TextLine>
      <TextLine id="r1l3"><Coords points="20,120 300,120 300,150 20,150"/></TextLine>
      <TextLine id="r1l4"><Coords points="20,160 300,160"/><TextEquiv><Unicode>flat</Unicode></TextEquiv></TextLine>
      <TextLine id="r1l1"><Coords points="20,20 180,20 180,50 20,50"/><TextEquiv><Unicode>again</Unicode></TextEquiv></TextLine>
      <TextEquiv><Unicode>Dec 21/95\\nTHE CAMP.</Unicode></TextEquiv>
    </TextRegion>
  </Page>
</PcGts>
"""

PAGE_2010 = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2010-03-19">
  <Page imageFilename="{image}" imageWidth="400" imageHeight="200">
    <TextRegion id="r0">
      <TextLine id="l 1">
        <Coords><Point x="10" y="10"/><Point x="390" y="10"/><Point x="390" y="60"/><Point x="10" y="60"/></Coords>
        <TextEquiv><Unicode>Kew</Unicode></TextEquiv>
      </TextLine>
    </TextRegion>
  </Page>
</PcGts>
"""


def _page(path: Path, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(200, 400), dtype=np.uint8)   # every pixel tells where it came from
    Image.fromarray(a).save(path)
    return a


@pytest.fixture
def pages(tmp_path: Path):
    src = tmp_path / "export"
    (src / "page").mkdir(parents=True)
    a = _page(src / "JDH_1.png", 1)
    (src / "page" / "JDH_1.xml").write_text(PAGE_2013.format(image="JDH_1.png"), encoding="utf-8")
    b = _page(src / "JDH_2.png", 2)
    (src / "page" / "JDH_2.xml").write_text(PAGE_2010.format(image="JDH_2.png"), encoding="utf-8")
    (src / "page" / "broken.xml").write_text("<PcGts><Page", encoding="utf-8")
    (src / "page" / "lost.xml").write_text(PAGE_2010.format(image="nowhere.png"), encoding="utf-8")
    (src / "page" / "mets.xml").write_text("<mets/>", encoding="utf-8")   # Transkribus export extra: ignored
    return src, a, b


def test_lines_are_cut_masked_and_transcribed_and_bad_files_named(pages, tmp_path, capsys):
    src, a, b = pages
    out = tmp_path / "lines_corpus"
    assert main(["--pages", str(src), "--out", str(out), "--prefix", "jdh_"]) == 0
    err = capsys.readouterr().err
    assert "broken.xml: not readable XML" in err
    assert "lost.xml: page image 'nowhere.png' not found" in err
    assert "TextLine 'r1l4': no polygon with an area (3 points or more) and no baseline" in err
    assert "TextLine id 'r1l1' used again; this one is r1l1_2" in err
    assert "mets.xml" not in err
    lines = out / "lines"
    assert sorted(p.name for p in lines.glob("*.gt.txt")) == [
        "jdh_JDH_1_r1l1.gt.txt", "jdh_JDH_1_r1l1_2.gt.txt", "jdh_JDH_1_r1l2.gt.txt", "jdh_JDH_2_l_1.gt.txt"]
    assert (lines / "jdh_JDH_1_r1l1_2.gt.txt").read_text(encoding="utf-8") == "again\n"
    # the lowest @index reading, whitespace collapsed; Word transcripts joined when the line has none
    assert (lines / "jdh_JDH_1_r1l1.gt.txt").read_text(encoding="utf-8") == "Dec 21/95\n"
    assert (lines / "jdh_JDH_1_r1l2.gt.txt").read_text(encoding="utf-8") == "THE CAMP.\n"

    # rectangle: bbox (20..180, 20..50) + 4 px margin, every pixel the page's own
    r1 = np.asarray(Image.open(lines / "jdh_JDH_1_r1l1.png"))
    assert r1.shape == (39, 169)
    assert np.array_equal(r1[4:35, 4:165], a[20:51, 20:181])
    assert (r1[:3] == 255).all() and (r1[:, :3] == 255).all()         # margin is outside the polygon
    # triangle (20,70) (300,70) (300,110): inside kept, below the diagonal white
    r2 = np.asarray(Image.open(lines / "jdh_JDH_1_r1l2.png"))
    assert r2.shape == (49, 289)
    y0, x0 = 66, 16
    assert r2[72 - y0, 290 - x0] == a[72, 290]                         # inside, near the top right
    assert r2[105 - y0, 40 - x0] == 255                                # outside, bottom left
    # 2010 <Point> polygons; a line id with a space becomes one id
    r3 = np.asarray(Image.open(lines / "jdh_JDH_2_l_1.png"))
    assert np.array_equal(r3[4:-4, 4:-4], b[10:61, 10:391])

    rows = [json.loads(s) for s in (lines / "index.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0] == {"id": "jdh_JDH_1_r1l1", "text": "Dec 21/95", "image": "jdh_JDH_1_r1l1.png",
                       "page_image": "JDH_1.png", "page_xml": "JDH_1.xml", "bbox": [16, 16, 185, 55],
                       "width": 169, "height": 39, "cut": "polygon"}


def test_no_mask_keeps_the_box_and_max_height_scales(pages):
    _, a, _ = pages
    page = Image.fromarray(a)
    tri = [(20, 70), (300, 70), (300, 110)]
    box, bbox = crop_line(page, tri, margin=0, mask=False)
    assert bbox == (20, 70, 301, 111)
    assert np.array_equal(np.asarray(box), a[70:111, 20:301])
    small, _ = crop_line(page, tri, margin=0, mask=False, max_height=20)
    assert small.size == (137, 20)                                     # 281 x 41 -> aspect kept
    with pytest.raises(ValueError, match="outside the 400x200 page"):
        crop_line(page, [(500, 10), (600, 10), (600, 40)])


def test_split_by_page_keeps_pages_whole_and_is_seeded():
    counts = {f"p{i:02d}": 10 + i for i in range(30)}
    where = split_pages(counts, (0.8, 0.1, 0.1), seed=0)
    assert set(where) == set(counts) and set(where.values()) == {"train", "valid", "test"}
    total = sum(counts.values())
    for name in ("valid", "test"):
        n = sum(counts[p] for p in counts if where[p] == name)
        assert abs(n - 0.1 * total) <= 20                                 # within half a page of its share
    assert split_pages(counts, (0.8, 0.1, 0.1), seed=0) == where
    assert split_pages(counts, (0.8, 0.1, 0.1), seed=1) != where


def test_extracted_pages_feed_the_line_reader(pages, tmp_path):
    src, _, _ = pages
    out = tmp_path / "corpus"
    assert main(["--pages", str(src / "page" / "JDH_1.xml"), str(src / "page" / "JDH_2.xml"),
                 "--out", str(out), "--split", "0.5,0,0.5", "--seed", "3", "--format", "jpg"]) == 0
    lists = {n: (out / f"{n}.lst").read_text(encoding="utf-8").split() for n in ("train", "valid", "test")}
    assert lists["valid"] == []
    assert sorted(lists["train"] + lists["test"]) == ["JDH_1_r1l1", "JDH_1_r1l1_2", "JDH_1_r1l2", "JDH_2_l_1"]
    assert {u[:5] for u in lists["test"]} in ({"JDH_1"}, {"JDH_2"})   # a page lies in one split
    splits = prepare_lines(out, tmp_path / "data")
    got = {u.id: u.text for name in ("train", "test") for u in read_manifest(tmp_path / "data" / name / "manifest.jsonl")}
    assert got == {"JDH_1_r1l1": "Dec 21/95", "JDH_1_r1l1_2": "again", "JDH_1_r1l2": "THE CAMP.", "JDH_2_l_1": "Kew"}
    assert sum(len(v) for v in splits.values()) == 4


def test_nothing_to_read_is_an_error(tmp_path, capsys):
    assert main(["--pages", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "missing: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--pages", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(SystemExit):
        main(["--pages", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--split", "0.5,0.5"])


THIN_PAGE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15">
  <Page imageFilename="thin.png" imageWidth="600" imageHeight="400">
    <TextRegion id="r1"><Coords points="0,0 599,0 599,399 0,399"/>
{lines}
    </TextRegion>
  </Page>
</PcGts>
"""


def test_thin_polygons_are_recut_from_the_baseline_unless_cut_polygon(tmp_path):
    """Four lines 100 px apart; the third has the 15-px band along its baseline that loses the
    ascenders (the Hooker `_l` lines), the fourth no polygon and no text (a neighbour only)."""
    rows = []
    for k, y in enumerate((100, 200, 300)):
        coords = f"50,{y - 15} 550,{y - 15} 550,{y} 50,{y}" if k == 2 else f"50,{y - 80} 550,{y - 80} 550,{y + 40} 50,{y + 40}"
        rows.append(f'<TextLine id="t{k}"><Coords points="{coords}"/><Baseline points="50,{y} 550,{y}"/>'
                    f'<TextEquiv><Unicode>line {k}</Unicode></TextEquiv></TextLine>')
    rows.append('<TextLine id="t3"><Baseline points="50,380 550,380"/></TextLine>')
    (tmp_path / "thin.xml").write_text(THIN_PAGE.format(lines="\n".join(rows)), encoding="utf-8")
    Image.fromarray(np.full((400, 600), 200, np.uint8)).save(tmp_path / "thin.png")
    for cut in ("auto", "polygon"):
        assert main(["--pages", str(tmp_path / "thin.xml"), "--out", str(tmp_path / cut), "--margin", "0",
                     "--cut", cut]) == 0
        rows = {r["id"]: r for r in map(json.loads, (tmp_path / cut / "lines" / "index.jsonl").read_text().splitlines())}
        assert sorted(rows) == ["thin_t0", "thin_t1", "thin_t2"]
        assert rows["thin_t0"]["bbox"] == [50, 20, 551, 141] and rows["thin_t0"]["cut"] == "polygon"
        thin = rows["thin_t2"]
        if cut == "polygon":
            assert thin["bbox"] == [50, 285, 551, 301] and thin["cut"] == "polygon"
        else:
            # 0.8 x 100 px over the baseline, 0.45 x 100 under it, 0.2 x 100 past each end
            assert thin["cut"] == "baseline"
            assert thin["bbox"] == [30, 220, 571, 346]


def test_page_lists_reproduce_a_published_split(pages, tmp_path, capsys):
    src, _, _ = pages
    (tmp_path / "test_pages.lst").write_text("JDH_2\nJDH_404\n", encoding="utf-8")
    (tmp_path / "train_pages.lst").write_text("JDH_1\n", encoding="utf-8")
    out = tmp_path / "split"
    assert main(["--pages", str(src), "--out", str(out), "--page-lists", f"train={tmp_path / 'train_pages.lst'}",
                 "--page-lists", f"test={tmp_path / 'test_pages.lst'}"]) == 0
    assert (out / "test.lst").read_text().split() == ["JDH_2_l_1"]
    assert (out / "train.lst").read_text().split() == ["JDH_1_r1l1", "JDH_1_r1l2", "JDH_1_r1l1_2"]
    assert not (out / "valid.lst").exists()
    assert "1 of its 2 pages have no lines here (first: 'JDH_404')" in capsys.readouterr().err
