"""recog.layout.files: reading PAGE XML / ALTO, writing transcriptions back, validated against
the official XSDs in recog/resources/xsd (see its README)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from recog.layout import validate
from recog.layout.files import (Layout, WordBox, find_page_image, output_path, read_layout,
                                set_transcription, write_layout)

PAGE13 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15"
PAGE19 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO2 = "http://www.loc.gov/standards/alto/ns-v2#"
ALTO3 = "http://www.loc.gov/standards/alto/ns-v3#"
ALTO4 = "http://www.loc.gov/standards/alto/ns-v4#"

# A Transkribus export (header and lines as in the Hooker letters, JDH_2_16_25_008.xml and
# JDH_2_16_65_001.xml); Transkribus adds <TranskribusMetadata> and an empty <Relations/>, which
# the 2013 schema does not allow (see _strip_transkribus).
PAGE_2013 = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PcGts xmlns="{PAGE13}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{PAGE13} {PAGE13}/pagecontent.xsd">
    <Metadata>
        <Creator>prov=University of Rostock/Institute of Mathematics/CITlab|PLANET AI GmbH/Gundram Leifert/gundram.leifert@planet-ai.de:name=English writing M2(htr_id=19809)::::v=2.6.6
Transkribus</Creator>
        <Created>2020-06-29T21:04:45.907-04:00</Created>
        <LastChange>2023-05-16T17:50:58.777+02:00</LastChange>
        <TranskribusMetadata docId="423574" pageId="16857588" pageNr="5" tsid="121937020" status="DONE" userId="43461" imgUrl="https://files.transkribus.eu/Get?id=AOKCLSXPSXCOXWOWIZVQMHFS&amp;fileType=view" xmlUrl="https://files.transkribus.eu/Get?id=BMICFYZVLCTFOKXCMCOTHMLW" imageId="12609149"/>
    </Metadata>
    <Page imageFilename="JDH_2_16_25_008.jpg" imageWidth="1392" imageHeight="2136">
        <ReadingOrder>
            <OrderedGroup id="ro_1684330898446" caption="Regions reading order">
                <RegionRefIndexed index="0" regionRef="r1"/>
            </OrderedGroup>
        </ReadingOrder>
        <Relations/>
        <TextRegion orientation="0.0" id="r1" custom="readingOrder {{index:0;}}">
            <Coords points="96,47 96,2107 1330,2107 1330,47"/>
            <!-- checked by hand -->
            <TextLine id="r1l2" custom="readingOrder {{index:0;}}">
                <Coords points="89,186 1321,158 1291,80 1135,120 600,101 514,141 351,75 234,127 87,106"/>
                <Baseline points="96,179 156,177 217,175 278,172 339,170"/>
                <TextEquiv>
                    <Unicode>aa V. P. on several
 occasions so</Unicode>
                </TextEquiv>
            </TextLine>
            <TextLine id="tr_2_tl_2" custom="readingOrder {{index:1;}}">
                <Coords points="826,353 888,357 944,337 1050,415 1147,392 1193,399 1190,226 824,289"/>
                <Baseline points="834,336 864,334 894,334"/>
                <Word id="tr_2_tl_2_w1" custom="readingOrder {{index:0;}}">
                    <Coords points="844,294 844,354 890,354 890,294 844,294"/>
                    <TextEquiv>
                        <Unicode>35</Unicode>
                    </TextEquiv>
                </Word>
                <Word id="tr_2_tl_2_w2" custom="readingOrder {{index:1;}}">
                    <Coords points="953,288 953,348 1139,348 1139,288 953,288"/>
                    <TextEquiv>
                        <Unicode>Duc/79</Unicode>
                    </TextEquiv>
                </Word>
                <TextEquiv>
                    <Unicode>31st Dec/79</Unicode>
                </TextEquiv>
                <TextStyle fontSize="11.0"/>
            </TextLine>
            <TextLine id="r1l4" custom="readingOrder {{index:2;}}">
                <Coords points="100,300 900,300 900,360 100,360"/>
                <Word id="r1l4_w1">
                    <Coords points="100,300 200,300 200,360 100,360"/>
                    <TextEquiv>
                        <Unicode>My</Unicode>
                    </TextEquiv>
                </Word>
                <Word id="r1l4_w2">
                    <Coords points="220,300 400,300 400,360 220,360"/>
                    <TextEquiv>
                        <Unicode>dear  Huxley</Unicode>
                    </TextEquiv>
                </Word>
            </TextLine>
            <TextEquiv>
                <Unicode>aa V. P. on several occasions so
31st Dec/79</Unicode>
            </TextEquiv>
        </TextRegion>
    </Page>
</PcGts>
"""

PAGE_2019 = f"""<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="{PAGE19}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{PAGE19} http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15/pagecontent.xsd" pcGtsId="p2019">
  <Metadata>
    <Creator>escriptorium</Creator>
    <Created>2023-01-02T10:00:00</Created>
    <LastChange>2023-01-02T10:00:00</LastChange>
  </Metadata>
  <Page imageFilename="images/folio_12r.png" imageWidth="2000" imageHeight="3000">
    <TextRegion id="eSc_textblock_1">
      <Coords points="10,10 1990,10 1990,2990 10,2990"/>
      <TextLine id="eSc_line_1">
        <AlternativeImage filename="folio_12r_line1.png"/>
        <Coords points="100,200 900,200 900,260 100,260"/>
        <Baseline points="100,250 900,248"/>
        <Word id="eSc_line_1_old">
          <Coords points="100,200 300,200 300,260 100,260"/>
          <TextEquiv><Unicode>old</Unicode></TextEquiv>
        </Word>
        <TextEquiv index="1"><Unicode>second reading</Unicode></TextEquiv>
        <TextEquiv index="0" conf="0.8"><Unicode>first   reading</Unicode></TextEquiv>
        <TextStyle fontSize="12"/>
        <UserDefined>
          <UserAttribute name="source" type="xsd:string" value="kraken"/>
        </UserDefined>
        <Labels externalModel="demo"/>
      </TextLine>
      <TextLine id="eSc_line_2">
        <Coords points="100,300 900,300"/>
      </TextLine>
    </TextRegion>
  </Page>
</PcGts>
"""

# ALTO 2.1, as ABBYY-era and docWorks tools wrote it: box on every line, BASELINE a y number
ALTO_V2 = f"""<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="{ALTO2}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{ALTO2} http://www.loc.gov/standards/alto/v2/alto-2-1.xsd">
  <Description>
    <MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation>
      <fileName>scan_v2.tif</fileName>
    </sourceImageInformation>
  </Description>
  <Layout>
    <Page ID="P1" PHYSICAL_IMG_NR="1" WIDTH="1200" HEIGHT="1800">
      <PrintSpace HPOS="0" VPOS="0" WIDTH="1200" HEIGHT="1800">
        <TextBlock ID="TB1" HPOS="90" VPOS="90" WIDTH="1000" HEIGHT="200">
          <TextLine ID="TL1" HPOS="100" VPOS="100" WIDTH="800" HEIGHT="50" BASELINE="140">
            <String ID="S1" CONTENT="Hello" HPOS="100" VPOS="100" WIDTH="200" HEIGHT="50" WC="0.9"/>
            <SP HPOS="300" VPOS="100" WIDTH="20"/>
            <String ID="S2" CONTENT="wor" HPOS="320" VPOS="100" WIDTH="200" HEIGHT="50"/>
            <HYP CONTENT="-"/>
          </TextLine>
          <TextLine ID="TL2" HPOS="100" VPOS="200" WIDTH="800" HEIGHT="50">
            <String ID="S3" CONTENT="ld."/>
          </TextLine>
        </TextBlock>
      </PrintSpace>
    </Page>
  </Layout>
</alto>
"""

# ALTO 3, as Tesseract writes it (schemaLocation 3.0, validated with 3.1), with an xlink attribute
ALTO_V3 = f"""<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="{ALTO3}" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{ALTO3} http://www.loc.gov/alto/v3/alto-3-0.xsd">
\t<Description>
\t\t<MeasurementUnit>pixel</MeasurementUnit>
\t\t<sourceImageInformation>
\t\t\t<fileName>/home/user/scans/page_v3.png</fileName>
\t\t</sourceImageInformation>
\t\t<OCRProcessing ID="OCR_0">
\t\t\t<ocrProcessingStep>
\t\t\t\t<processingSoftware>
\t\t\t\t\t<softwareName>tesseract 4.1.1</softwareName>
\t\t\t\t</processingSoftware>
\t\t\t</ocrProcessingStep>
\t\t</OCRProcessing>
\t</Description>
\t<Layout>
\t\t<Page WIDTH="1000" HEIGHT="1400" PHYSICAL_IMG_NR="0" ID="page_0">
\t\t\t<PrintSpace HPOS="0" VPOS="0" WIDTH="1000" HEIGHT="1400">
\t\t\t\t<TextBlock ID="block_0" HPOS="50" VPOS="40" WIDTH="900" HEIGHT="200" xlink:href="#block_0">
\t\t\t\t\t<TextLine ID="line_0" HPOS="50" VPOS="40" WIDTH="900" HEIGHT="40" BASELINE="75">
\t\t\t\t\t\t<String ID="string_0" HPOS="50" VPOS="40" WIDTH="120" HEIGHT="40" WC="0.96" CONTENT="The"/><SP ID="sp_0" WIDTH="10" VPOS="40" HPOS="170"/>
\t\t\t\t\t\t<String ID="string_1" HPOS="180" VPOS="40" WIDTH="220" HEIGHT="40" WC="0.91" CONTENT="quick"/>
\t\t\t\t\t</TextLine>
\t\t\t\t\t<TextLine ID="line_1">
\t\t\t\t\t\t<Shape><Polygon POINTS="50,100 950,100 950,150 50,150"/></Shape>
\t\t\t\t\t\t<String ID="string_2" CONTENT="brown"/>
\t\t\t\t\t</TextLine>
\t\t\t\t</TextBlock>
\t\t\t</PrintSpace>
\t\t</Page>
\t</Layout>
</alto>
"""

# ALTO 4, as kraken / eScriptorium export it: Shape/Polygon and BASELINE as points "x y x y"
ALTO_V4 = f"""<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="{ALTO4}"
      xmlns:xlink="http://www.w3.org/1999/xlink"
      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
      xsi:schemaLocation="{ALTO4} http://www.loc.gov/standards/alto/v4/alto-4-2.xsd">
  <Description>
    <MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation>
      <fileName>page_v4.jpg</fileName>
    </sourceImageInformation>
    <OCRProcessing ID="OCR_0">
      <ocrProcessingStep>
        <processingSoftware>
          <softwareName>escriptorium</softwareName>
        </processingSoftware>
      </ocrProcessingStep>
    </OCRProcessing>
  </Description>
  <Tags>
    <OtherTag ID="BT1" LABEL="Main" DESCRIPTION="block type Main"/>
    <OtherTag ID="LT1" LABEL="default" DESCRIPTION="line type default"/>
  </Tags>
  <Layout>
    <Page WIDTH="1500" HEIGHT="2200" PHYSICAL_IMG_NR="1" ID="eSc_dummypage_">
      <PrintSpace HPOS="0" VPOS="0" WIDTH="1500" HEIGHT="2200">
        <TextBlock ID="eSc_textblock_9c1f" TAGREFS="BT1">
          <Shape><Polygon POINTS="90 90 1410 90 1410 500 90 500"/></Shape>
          <TextLine ID="eSc_line_a1" TAGREFS="LT1" BASELINE="110 180 900 175 1300 178" HPOS="100" VPOS="120" WIDTH="1210" HEIGHT="70">
            <Shape><Polygon POINTS="100 120 1310 120 1310 190 100 190"/></Shape>
            <String CONTENT="Grusse aus Wien" HPOS="100" VPOS="120" WIDTH="1210" HEIGHT="70"></String>
          </TextLine>
          <TextLine TAGREFS="LT1" BASELINE="110,280 1300,282">
            <Shape><Polygon POINTS="100,230 1310,230 1310,300 100,300 100,260"/></Shape>
            <String CONTENT=""></String>
          </TextLine>
        </TextBlock>
      </PrintSpace>
    </Page>
  </Layout>
</alto>
"""

PAGE_2010 = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2010-03-19">
  <Page imageFilename="old.tif" imageWidth="500" imageHeight="400">
    <TextRegion id="r0">
      <Coords><Point x="0" y="0"/><Point x="10" y="0"/><Point x="10" y="10"/></Coords>
      <TextLine>
        <Coords><Point x="1" y="2"/><Point x="30" y="2"/><Point x="30" y="9"/><Point x="1" y="9"/></Coords>
        <TextEquiv><Unicode>old  style</Unicode></TextEquiv>
      </TextLine>
    </TextRegion>
  </Page>
</PcGts>
"""

FIXTURES = {"page2013.xml": PAGE_2013, "page2019.xml": PAGE_2019, "alto2.xml": ALTO_V2,
            "alto3.xml": ALTO_V3, "alto4.xml": ALTO_V4}
TEXT = 'Grüße & <Wien> "ſchön"'  # non-ASCII, markup characters, a long s


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _words(text: str, x: float = 100.4, y: float = 200.6) -> list[WordBox]:
    """A box for each word, 100 px wide, 10 px apart, and confidences 0.5, 0.6, ..."""
    return [WordBox(w, x + 110 * k, y, x + 110 * k + 100, y + 40.2, 0.5 + 0.1 * k)
            for k, w in enumerate(text.split())]


# ------------------------------------------------------------------------------ validation

def _errors(path: Path, namespace: str) -> str:
    """'' when the file validates against its schema (Transkribus' additions aside), else the errors."""
    pytest.importorskip("lxml.etree")
    assert ET.parse(path).getroot().tag.startswith(f"{{{namespace}}}")  # checked against the schema meant
    return validate.errors(path, transkribus=True)


# ---------------------------------------------------------------------------------- reading

def test_read_page_2013_transkribus(tmp_path):
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2013))
    assert (lay.kind, lay.namespace, lay.image, lay.width, lay.height) == ("page", PAGE13, "JDH_2_16_25_008.jpg", 1392, 2136)
    assert [ln.id for ln in lay.lines] == ["r1l2", "tr_2_tl_2", "r1l4"]
    assert lay.lines[0].polygon[:2] == [(89.0, 186.0), (1321.0, 158.0)] and len(lay.lines[0].polygon) == 9
    assert lay.lines[0].baseline == [(96, 179), (156, 177), (217, 175), (278, 172), (339, 170)]
    assert lay.lines[0].text == "aa V. P. on several occasions so"  # whitespace runs -> one space
    assert lay.lines[1].text == "31st Dec/79"  # the line's own TextEquiv wins over its Words
    assert lay.lines[2].text == "My dear Huxley"  # no line TextEquiv: the Words joined
    assert lay.lines[2].baseline is None
    assert all(ln.element.tag == f"{{{PAGE13}}}TextLine" for ln in lay.lines)


def test_read_page_2019(tmp_path):
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2019))
    assert (lay.kind, lay.namespace, lay.image, lay.width, lay.height) == ("page", PAGE19, "images/folio_12r.png", 2000, 3000)
    one, two = lay.lines
    assert one.id == "eSc_line_1" and one.text == "first reading"  # lowest @index
    assert one.polygon == [(100, 200), (900, 200), (900, 260), (100, 260)]
    assert one.baseline == [(100, 250), (900, 248)]
    assert (two.polygon, two.baseline, two.text) == (None, None, "")  # 2 points: no polygon


def test_read_page_2010_points_and_default_ids(tmp_path):
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2010))
    (line,) = lay.lines
    assert line.id == "line1" and line.text == "old style"
    assert line.polygon == [(1, 2), (30, 2), (30, 9), (1, 9)]


def test_read_alto_v2(tmp_path):
    lay = read_layout(_write(tmp_path, "a.xml", ALTO_V2))
    assert (lay.kind, lay.namespace, lay.image, lay.width, lay.height) == ("alto", ALTO2, "scan_v2.tif", 1200, 1800)
    one, two = lay.lines
    assert (one.id, one.text) == ("TL1", "Hello wor")  # HYP ignored
    assert one.polygon == [(100, 100), (900, 100), (900, 150), (100, 150)]
    assert one.baseline == [(100, 140), (900, 140)]  # a y number: across the line's width
    assert (two.id, two.text, two.baseline) == ("TL2", "ld.", None)


def test_read_alto_v3(tmp_path):
    lay = read_layout(_write(tmp_path, "a.xml", ALTO_V3))
    assert (lay.namespace, lay.image, lay.width, lay.height) == (ALTO3, "/home/user/scans/page_v3.png", 1000, 1400)
    one, two = lay.lines
    assert (one.id, one.text, one.baseline) == ("line_0", "The quick", [(50, 75), (950, 75)])
    assert two.polygon == [(50, 100), (950, 100), (950, 150), (50, 150)]  # Shape, "x,y" points
    assert two.baseline is None and two.text == "brown"


def test_read_alto_v4_kraken(tmp_path):
    lay = read_layout(_write(tmp_path, "a.xml", ALTO_V4))
    assert (lay.namespace, lay.image, lay.width, lay.height) == (ALTO4, "page_v4.jpg", 1500, 2200)
    one, two = lay.lines
    assert one.id == "eSc_line_a1" and one.text == "Grusse aus Wien"
    assert one.polygon == [(100, 120), (1310, 120), (1310, 190), (100, 190)]  # "x y x y" points
    assert one.baseline == [(110, 180), (900, 175), (1300, 178)]
    assert two.id == "line2" and two.text == ""  # no ID: line<N>, 1-based
    assert two.polygon == [(100, 230), (1310, 230), (1310, 300), (100, 300), (100, 260)]
    assert two.baseline == [(110, 280), (1300, 282)]


def test_alto_polygon_falls_back_to_box_and_bad_points_give_none(tmp_path):
    text = ALTO_V4.replace('<Shape><Polygon POINTS="100 120 1310 120 1310 190 100 190"/></Shape>',
                           '<Shape><Polygon POINTS="100 120 1310"/></Shape>')
    text = text.replace('BASELINE="110,280 1300,282"', 'BASELINE="110,280 x,282"')
    lay = read_layout(_write(tmp_path, "a.xml", text))
    assert lay.lines[0].polygon == [(100, 120), (1310, 120), (1310, 190), (100, 190)]  # the box
    assert lay.lines[1].baseline is None


# ----------------------------------------------------------------------------- bad input

BAD = {
    "unparseable": ("<PcGts><Page>", "not readable XML"),
    "neither": ("<html><body/></html>", "neither PAGE"),
    "no page": (f'<PcGts xmlns="{PAGE19}"><Metadata/></PcGts>', "no PAGE <Page>"),
    "no image": (f'<PcGts xmlns="{PAGE19}"><Page imageWidth="1" imageHeight="1"/></PcGts>', "imageFilename"),
    "alto mm10": (ALTO_V2.replace(">pixel<", ">mm10<"), "pixel"),
    "alto two pages": (ALTO_V2.replace("</Page>", '</Page><Page ID="P2" PHYSICAL_IMG_NR="2"/>'), "2 ALTO <Page>"),
    "alto no page": (re.sub(r"<Layout>.*</Layout>", "<Layout/>", ALTO_V2, flags=re.S), "no ALTO <Page>"),
    "alto no file name": (ALTO_V2.replace("<fileName>scan_v2.tif</fileName>", ""), "file name"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises_naming_the_file(tmp_path, case):
    text, problem = BAD[case]
    p = _write(tmp_path, "bad file.xml", text)
    with pytest.raises(ValueError) as e:
        read_layout(p)
    assert str(p) in str(e.value) and problem in str(e.value)


def test_missing_file_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "nope.xml"))):
        read_layout(tmp_path / "nope.xml")


# ---------------------------------------------------------------------------------- writing

@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_inputs_are_valid(tmp_path, name):
    """The inputs validate (Transkribus' additions aside), so the output checks below test the writer."""
    lay = read_layout(_write(tmp_path, name, FIXTURES[name]))
    assert _errors(lay.path, lay.namespace) == ""


def _transcribe_all(lay: Layout) -> None:
    for i, line in enumerate(lay.lines):
        text = f"{TEXT} {i}"
        set_transcription(lay, line, text, 0.87654, _words(text, 100.4 + i, 200.6 + 60 * i))


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_round_trip_validates_and_keeps_input(tmp_path, name):
    src = _write(tmp_path, name, FIXTURES[name])
    before = src.read_bytes()
    lay = read_layout(src)
    _transcribe_all(lay)
    out = output_path(src)
    write_layout(lay, out)
    assert src.read_bytes() == before
    assert _errors(out, lay.namespace) == ""
    again = read_layout(out)
    assert [ln.id for ln in again.lines] == [ln.id for ln in lay.lines]
    assert [ln.text for ln in again.lines] == [f"{TEXT} {i}" for i in range(len(lay.lines))]
    assert [ln.polygon for ln in again.lines] == [ln.polygon for ln in read_layout(src).lines]
    assert (again.image, again.width, again.height) == (lay.image, lay.width, lay.height)


def _page_words(line: ET.Element) -> list[tuple[str, str, str, str]]:
    ns = {"p": line.tag[1:].split("}")[0]}
    return [(w.get("id"), w.find("p:Coords", ns).get("points"), w.find("p:TextEquiv", ns).get("conf"),
             w.find("p:TextEquiv/p:Unicode", ns).text) for w in line.findall("p:Word", ns)]


@pytest.mark.parametrize("name", ["page2013.xml", "page2019.xml"])
def test_page_words_conf_and_order(tmp_path, name):
    src = _write(tmp_path, name, FIXTURES[name])
    lay = read_layout(src)
    _transcribe_all(lay)
    write_layout(lay, tmp_path / "out.xml")
    again = read_layout(tmp_path / "out.xml")
    line = again.lines[0].element
    assert _page_words(line) == [
        (f"{again.lines[0].id}_w1", "100,201 200,201 200,241 100,241", "0.5000", "Grüße"),
        (f"{again.lines[0].id}_w2", "210,201 310,201 310,241 210,241", "0.6000", "&"),
        (f"{again.lines[0].id}_w3", "320,201 420,201 420,241 320,241", "0.7000", "<Wien>"),
        (f"{again.lines[0].id}_w4", "430,201 530,201 530,241 430,241", "0.8000", '"ſchön"'),
        (f"{again.lines[0].id}_w5", "540,201 640,201 640,241 540,241", "0.9000", "0"),
    ]
    own = [c for c in line if c.tag.endswith("}TextEquiv")]
    assert len(own) == 1 and own[0].get("conf") == "0.8765" and own[0][0].text == f"{TEXT} 0"
    # the old Words are gone, not kept beside the new ones
    for ln in again.lines:
        assert all(w[0].startswith(f"{ln.id}_w") for w in _page_words(ln.element))
        assert len(_page_words(ln.element)) == len(ln.text.split())
    names = [c.tag.split("}")[1] for c in line]
    if name == "page2019.xml":
        assert names == ["AlternativeImage", "Coords", "Baseline"] + ["Word"] * 5 + ["TextEquiv", "TextStyle",
                                                                                     "UserDefined", "Labels"]
    else:
        assert names == ["Coords", "Baseline"] + ["Word"] * 5 + ["TextEquiv"]
        assert [c.tag.split("}")[1] for c in again.lines[1].element][-2:] == ["TextEquiv", "TextStyle"]


def _alto_children(line: ET.Element) -> list[tuple[str, dict]]:
    return [(c.tag.split("}")[1], dict(c.attrib)) for c in line]


@pytest.mark.parametrize("name", ["alto2.xml", "alto3.xml", "alto4.xml"])
def test_alto_strings_replace_old_ones(tmp_path, name):
    lay = read_layout(_write(tmp_path, name, FIXTURES[name]))
    _transcribe_all(lay)
    write_layout(lay, tmp_path / "out.xml")
    again = read_layout(tmp_path / "out.xml")
    kids = _alto_children(again.lines[0].element)
    strings = [a for n, a in kids if n == "String"]
    assert [n for n, _ in kids if n != "Shape"] == ["String", "SP"] * 4 + ["String"]  # no HYP, no old Strings
    assert strings[0] == {"ID": f"{again.lines[0].id}_w1", "CONTENT": "Grüße", "HPOS": "100", "VPOS": "201",
                          "WIDTH": "100", "HEIGHT": "40", "WC": "0.5000"}
    assert [s["CONTENT"] for s in strings] == ["Grüße", "&", "<Wien>", '"ſchön"', "0"]
    assert [s["WC"] for s in strings] == ["0.5000", "0.6000", "0.7000", "0.8000", "0.9000"]
    assert [n for n, a in kids if n == "SP"] and kids[-2][1] == {"HPOS": "530", "VPOS": "201", "WIDTH": "10"}
    if name == "alto4.xml":
        assert kids[0][0] == "Shape"  # Shape stays first


def test_alto_v2_line_without_box_gets_one_from_the_words(tmp_path):
    text = ALTO_V2.replace('<TextLine ID="TL2" HPOS="100" VPOS="200" WIDTH="800" HEIGHT="50">', '<TextLine ID="TL2">')
    lay = read_layout(_write(tmp_path, "a.xml", text))
    assert _errors(lay.path, ALTO2) != ""  # v2 requires the box
    set_transcription(lay, lay.lines[1], "x y", 0.5, [WordBox("x", 10, 20, 30, 40, 1), WordBox("y", 50, 15, 70, 45, 1)])
    write_layout(lay, tmp_path / "out.xml")
    assert _errors(tmp_path / "out.xml", ALTO2) == ""
    el = read_layout(tmp_path / "out.xml").lines[1].element
    assert [el.get(a) for a in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == ["10", "15", "60", "30"]


def test_alto_without_word_boxes_and_empty_text(tmp_path):
    lay = read_layout(_write(tmp_path, "a.xml", ALTO_V4))
    set_transcription(lay, lay.lines[0], "ohne  Boxen", 0.25, [])
    set_transcription(lay, lay.lines[1], "", 0.0, [])
    write_layout(lay, tmp_path / "out.xml")
    assert _errors(tmp_path / "out.xml", ALTO4) == ""
    again = read_layout(tmp_path / "out.xml")
    assert [ln.text for ln in again.lines] == ["ohne Boxen", ""]
    assert again.lines[1].element.get("HPOS") is None  # v4 does not require the box: none added
    assert [a for n, a in _alto_children(again.lines[0].element) if n == "String"] == [
        {"ID": "eSc_line_a1_w1", "CONTENT": "ohne", "WC": "0.2500"},
        {"ID": "eSc_line_a1_w2", "CONTENT": "Boxen", "WC": "0.2500"}]


def test_page_text_is_written_as_given_and_without_words(tmp_path):
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2019))
    set_transcription(lay, lay.lines[0], "  two  spaces ", 1.5, [])
    assert lay.lines[0].text == "two spaces"
    write_layout(lay, tmp_path / "out.xml")
    assert _errors(tmp_path / "out.xml", PAGE19) == ""
    line = read_layout(tmp_path / "out.xml").lines[0].element
    assert _page_words(line) == []
    (eq,) = [c for c in line if c.tag.endswith("}TextEquiv")]
    assert eq[0].text == "  two  spaces " and eq.get("conf") == "1.0000"  # clamped to 0..1


def test_written_file_keeps_prefixes_comments_and_the_rest(tmp_path):
    src = _write(tmp_path, "p.xml", PAGE_2013)
    lay = read_layout(src)
    _transcribe_all(lay)
    write_layout(lay, tmp_path / "out.xml")
    out = (tmp_path / "out.xml").read_text(encoding="utf-8")
    assert out.startswith(f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{PAGE13}"')
    assert f'xsi:schemaLocation="{PAGE13} {PAGE13}/pagecontent.xsd"' in out and "ns0:" not in out
    assert "<!-- checked by hand -->" in out
    assert 'imgUrl="https://files.transkribus.eu/Get?id=AOKCLSXPSXCOXWOWIZVQMHFS&amp;fileType=view"' in out
    assert "Grüße &amp; &lt;Wien&gt;" in out
    assert '<TextRegion orientation="0.0" id="r1" custom="readingOrder {index:0;}">' in out
    assert "\n                <Word id=\"r1l2_w1\">\n                    <Coords" in out  # indented like the file
    last = ET.parse(tmp_path / "out.xml").getroot().find(f"{{{PAGE13}}}Metadata/{{{PAGE13}}}LastChange").text
    assert last != "2023-05-16T17:50:58.777+02:00" and datetime.fromisoformat(last).tzinfo is not None
    v3 = _write(tmp_path, "a.xml", ALTO_V3)
    lay = read_layout(v3)
    _transcribe_all(lay)
    write_layout(lay, tmp_path / "a_out.xml")
    out = (tmp_path / "a_out.xml").read_text(encoding="utf-8")
    assert 'xlink:href="#block_0"' in out and 'xmlns:xlink="http://www.w3.org/1999/xlink"' in out
    assert "ns0:" not in out and "ns1:" not in out and "<softwareName>tesseract 4.1.1</softwareName>" in out
    assert '\t\t\t\t\t\t<Shape><Polygon POINTS="50,100 950,100 950,150 50,150" /></Shape>\n' in out  # as it was
    assert '\n\t\t\t\t\t\t<SP HPOS="200" VPOS="201" WIDTH="10" />\n\t\t\t\t\t\t<String ID="line_0_w2"' in out


def test_prefixed_page_document_keeps_its_prefix(tmp_path):
    text = re.sub(r"<(/?)(\w)", r"<\1pc:\2", PAGE_2019.split("\n", 1)[1]).replace(f'xmlns="{PAGE19}"', f'xmlns:pc="{PAGE19}"')
    lay = read_layout(_write(tmp_path, "p.xml", text))
    _transcribe_all(lay)
    write_layout(lay, tmp_path / "out.xml")
    out = (tmp_path / "out.xml").read_text(encoding="utf-8")
    assert f'<pc:PcGts xmlns:pc="{PAGE19}"' in out and '<pc:Word id="eSc_line_1_w1">' in out
    assert _errors(tmp_path / "out.xml", PAGE19) == ""


def test_schema_check_is_not_vacuous(tmp_path):
    """A line whose TextEquiv comes before its Words, or an ALTO SP first, fails validation."""
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2019))
    _transcribe_all(lay)
    el = lay.lines[0].element
    eq = [c for c in el if c.tag.endswith("}TextEquiv")][0]
    el.remove(eq)
    el.insert(3, eq)
    write_layout(lay, tmp_path / "bad.xml")
    assert "TextEquiv" in _errors(tmp_path / "bad.xml", PAGE19)
    lay = read_layout(_write(tmp_path, "a.xml", ALTO_V4))
    _transcribe_all(lay)
    el = lay.lines[0].element
    sp = [c for c in el if c.tag.endswith("}SP")][0]
    el.remove(sp)
    el.insert(1, sp)
    write_layout(lay, tmp_path / "bad.xml")
    assert "SP" in _errors(tmp_path / "bad.xml", ALTO4)


def test_writing_over_the_input_raises(tmp_path):
    src = _write(tmp_path, "p.xml", PAGE_2019)
    before = src.read_bytes()
    lay = read_layout(src)
    _transcribe_all(lay)
    for target in (src, tmp_path / "." / "p.xml", str(src)):
        with pytest.raises(ValueError, match="input file"):
            write_layout(lay, target)
    link = tmp_path / "link.xml"
    link.symlink_to(src)
    with pytest.raises(ValueError, match="input file"):
        write_layout(lay, link)
    assert src.read_bytes() == before


@pytest.mark.parametrize("words, conf, problem", [
    ([WordBox("a", 0, 0, 1, 1, 1), WordBox("c", 0, 0, 1, 1, 1)], 0.5, "do not spell"),
    ([WordBox("a b", 0, 0, 1, 1, 1)], 0.5, "do not spell"),
    ([], float("nan"), "not a number"),
])
def test_set_transcription_rejects_inconsistent_input(tmp_path, words, conf, problem):
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2019))
    with pytest.raises(ValueError, match=problem):
        set_transcription(lay, lay.lines[0], "a b", conf, words)
    with pytest.raises(ValueError, match="cannot be written"):
        set_transcription(lay, lay.lines[0], "bell\x07", 0.5, [])


def test_output_path_and_find_page_image(tmp_path):
    assert output_path("/x/y/page.xml") == Path("/x/y/page.recog.xml")
    assert output_path("/x/y/page.xml", tmp_path) == tmp_path / "page.recog.xml"
    (tmp_path / "page").mkdir()
    xml = _write(tmp_path / "page", "p.xml", PAGE_2013)  # Transkribus: XML in page/, image beside it
    lay = read_layout(xml)
    assert find_page_image(lay) is None
    (tmp_path / "JDH_2_16_25_008.jpg").write_bytes(b"jpg")
    assert find_page_image(lay) == tmp_path / "JDH_2_16_25_008.jpg"
    lay = read_layout(_write(tmp_path, "a.xml", ALTO_V3))  # a full path elsewhere: the basename here
    (tmp_path / "page_v3.png").write_bytes(b"png")
    assert find_page_image(lay) == tmp_path / "page_v3.png"


def test_boxes_off_the_page_are_clamped_to_zero(tmp_path):
    """PAGE points must be non-negative integers; a box reaching past the left/top edge is cut."""
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2019))
    set_transcription(lay, lay.lines[0], "edge", 0.5, [WordBox("edge", -3.2, -0.6, 40.5, 20, 0.5)])
    write_layout(lay, tmp_path / "out.xml")
    assert _errors(tmp_path / "out.xml", PAGE19) == ""
    line = read_layout(tmp_path / "out.xml").lines[0].element
    assert _page_words(line)[0][1] == "0,0 40,0 40,20 0,20"


def test_page_2010_words_get_point_children(tmp_path):
    lay = read_layout(_write(tmp_path, "p.xml", PAGE_2010))
    set_transcription(lay, lay.lines[0], "new text", 0.5, _words("new text"))
    write_layout(lay, tmp_path / "out.xml")
    again = read_layout(tmp_path / "out.xml")
    assert again.lines[0].text == "new text"
    ns = {"p": again.namespace}
    coords = again.lines[0].element.find("p:Word/p:Coords", ns)
    assert coords.get("points") is None
    assert [(p.get("x"), p.get("y")) for p in coords] == [("100", "201"), ("200", "201"), ("200", "241"), ("100", "241")]
