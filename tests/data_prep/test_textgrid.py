"""data_prep.textgrid: Praat's long and short text formats, UTF-8 and UTF-16."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_prep.textgrid import TextGridError, parse_textgrid, read_textgrid

LONG = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0.0
xmax = 1.5
tiers? <exists>
size = 2
item []:
	item [1]:
		class = "IntervalTier"
		name = "words"
		xmin = 0.0
		xmax = 1.5
		intervals: size = 2
			intervals [1]:
				xmin = 0.0
				xmax = 0.7
				text = "say ""hi"" [1]"
			intervals [2]:
				xmin = 0.7
				xmax = 1.5
				text = ""
	item [2]:
		class = "TextTier"
		name = "bell"
		xmin = 0.0
		xmax = 1.5
		points: size = 1
			points [1]:
				number = 0.25
				mark = "ding"
'''

SHORT = '''File type = "ooTextFile"
Object class = "TextGrid"

0
2.5
<exists>
1
"IntervalTier"
"phones"
0
2.5
3
0
0.4
""
0.4
1.25e0
"AH0"
1.25
2.5
"sp"
'''


def test_long_format(tmp_path: Path):
    p = tmp_path / "a.TextGrid"
    p.write_text(LONG, encoding="utf-8")
    tg = read_textgrid(p)
    assert (tg.xmin, tg.xmax) == (0.0, 1.5) and tg.names == ["words", "bell"]
    words = tg.tier("words")
    assert words.is_interval
    assert [(i.xmin, i.xmax, i.text) for i in words.intervals] == [(0.0, 0.7, 'say "hi" [1]'), (0.7, 1.5, "")]
    bell = tg.tier("BELL")  # case-insensitive fallback
    assert not bell.is_interval and [(p.time, p.mark) for p in bell.points] == [(0.25, "ding")]
    assert tg.get("phones") is None
    with pytest.raises(KeyError):
        tg.tier("phones")


def test_short_format(tmp_path: Path):
    p = tmp_path / "b.TextGrid"
    p.write_text(SHORT, encoding="utf-8")
    tg = read_textgrid(p)
    assert tg.xmax == 2.5
    assert [(i.xmin, i.xmax, i.text) for i in tg.tier("phones").intervals] == [
        (0.0, 0.4, ""), (0.4, 1.25, "AH0"), (1.25, 2.5, "sp")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_unicode_encodings(tmp_path: Path, encoding: str):
    p = tmp_path / "c.TextGrid"
    text = LONG.replace('say ""hi"" [1]', "naïve café ü")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # Praat writes UTF-16 big-endian with a BOM
    p.write_bytes(data)
    tg = read_textgrid(p)
    assert tg.tier("words").intervals[0].text == "naïve café ü"


def test_errors(tmp_path: Path):
    with pytest.raises(TextGridError, match="ends early"):
        parse_textgrid(SHORT.rsplit('"sp"', 1)[0])
    with pytest.raises(TextGridError, match="not a Praat"):
        parse_textgrid('File type = "something"\n')
    p = tmp_path / "bin.TextGrid"
    p.write_bytes(b"ooBinaryFile\x08TextGrid")
    with pytest.raises(TextGridError, match="binary"):
        read_textgrid(p)
