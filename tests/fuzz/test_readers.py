"""Property-based tests (hypothesis) of every reader of a file format a user brings: valid seed files
mutated at random (truncated, bytes replaced, lines duplicated or dropped, fields added, numbers made
huge or negative, times reversed, other encodings).  Each reader must either read the file or raise
a ValueError whose message names the file, never another exception, within a bounded time."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_prep import iam, kaldi, lines, textgrid, timit
from data_prep.common import Reporter
from recog.decode.arpa import read_arpa
from recog.layout.files import read_layout
from recog.lexicon import read_lexicon
from recog.manifest import read_manifest, read_text

SEEDS = {
    "phn": b"0 3050 h#\n3050 4559 sh\n4559 5723 ix\n5723 6642 hv\n6642 8772 eh\n8772 9190 dcl\n",
    "lines_txt": (b"#--- lines.txt header\na01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell\n"
                  b"a01-000u-01 err 156 19 395 932 1850 105 nominating|any|more|Labour\n"),
    "textgrid": (b'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1.5\ntiers? <exists>\n'
                 b'size = 1\nitem []:\n    item [1]:\n        class = "IntervalTier"\n        name = "phones"\n'
                 b'        xmin = 0\n        xmax = 1.5\n        intervals: size = 2\n        intervals [1]:\n'
                 b'            xmin = 0\n            xmax = 0.7\n            text = "AH0"\n        intervals [2]:\n'
                 b'            xmin = 0.7\n            xmax = 1.5\n            text = ""\n'),
    "arpa": (b"\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.0 <s> -0.3\n-0.5 a -0.2\n-0.7 b\n-0.9 </s>\n\n"
             b"\\2-grams:\n-0.2 <s> a\n-0.4 a b\n\n\\end\\\n"),
    "pagexml": (b'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/'
                b'pagecontent/2013-07-15"><Page imageFilename="p1.jpg" imageWidth="100" imageHeight="80">'
                b'<TextRegion id="r1"><TextLine id="l1"><Coords points="1,1 90,1 90,20 1,20"/>'
                b'<Baseline points="1,18 90,18"/><TextEquiv><Unicode>a line</Unicode></TextEquiv></TextLine>'
                b'</TextRegion></Page></PcGts>\n'),
    "split_list": b"a01-000u-00\nlines/a01-000u-01.png\n# comment\n\n",
    "kaldi_text": b"utt1 w iy k aa l\nutt2 z ih r ow\nutt3\n",
    "manifest": (b'{"id": "u1", "path": "/a/1.wav", "text": "a b", "num_frames": 10}\n'
                 b'{"id": "u2", "path": "x.png", "text": "c"}\n'),
    "kaldi_table": b"u1 spk1\nu2 spk1\nu3 spk2\n",
    "lexicon": b"WE\tW IY1\nCALL\tK AO1 L\nCALL K AA1 L\n",
}


def _read(kind: str, path: Path):
    rep = Reporter("fuzz")
    if kind == "phn":
        return timit.read_phn(path)
    if kind == "lines_txt":
        return iam.read_lines_txt(path, rep)
    if kind == "textgrid":
        return textgrid.read_textgrid(path)
    if kind == "arpa":
        return read_arpa(path)
    if kind == "pagexml":
        return read_layout(path)
    if kind == "split_list":
        return lines.read_list(path)
    if kind == "kaldi_text":
        return read_text(path)
    if kind == "manifest":
        return read_manifest(path)
    if kind == "kaldi_table":
        return kaldi.KaldiTable(path, rep).rows
    if kind == "lexicon":
        return read_lexicon(path)
    raise AssertionError(kind)


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = seed
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "replace", "insert", "dup_line", "drop_line", "number", "encode",
                                   "field"]))
        lines_ = data.split(b"\n")
        if op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "replace" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i + 1:]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(st.sampled_from([b"\x00", b"\xff\xfe", b'"', b"\t", b" ", b"\n", b"-", b"<",
                                                    b"\xe9", b"}", b"{"])) + data[i:]
        elif op == "dup_line" and lines_:
            i = draw(st.integers(0, len(lines_) - 1))
            data = b"\n".join(lines_[: i + 1] + [lines_[i]] + lines_[i + 1:])
        elif op == "drop_line" and lines_:
            i = draw(st.integers(0, len(lines_) - 1))
            data = b"\n".join(lines_[:i] + lines_[i + 1:])
        elif op == "number":
            import re

            nums = list(re.finditer(rb"-?\d+(\.\d+)?", data))
            if nums:
                m = nums[draw(st.integers(0, len(nums) - 1))]
                new = draw(st.sampled_from([b"-1", b"99999999999999999999999", b"1e308", b"-0.5", b"nan", b"inf",
                                            b"0"]))
                data = data[: m.start()] + new + data[m.end():]
        elif op == "encode":
            data = draw(st.sampled_from([data.decode("latin-1").encode("utf-16"), b"\xef\xbb\xbf" + data,
                                         data.replace(b"\n", b"\r\n"), data.replace(b"a", b"\xe4")]))
        elif op == "field" and lines_:
            i = draw(st.integers(0, len(lines_) - 1))
            lines_[i] = lines_[i] + b" extra 7"
            data = b"\n".join(lines_)
    return data


def _fuzz(kind: str, examples: int, derandomize: bool) -> None:
    tmp = Path(tempfile.mkdtemp())

    @settings(max_examples=examples, deadline=2000, suppress_health_check=[HealthCheck.too_slow], database=None,
              derandomize=derandomize)
    @given(data=mutated(SEEDS[kind]))
    def check(data):
        path = tmp / f"input.{kind}"
        path.write_bytes(data)
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                _read(kind, path)
        except ValueError as e:  # the readers' one error type (TextGridError, ManifestError are ValueErrors)
            assert str(path) in str(e) or path.name in str(e), f"{type(e).__name__} without the file: {e}"

    check()
    assert os.path.exists(tmp)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_reader_reads_or_names_the_file(kind):
    """The default run: a fixed sequence of 150 mutations per format (reproducible)."""
    _fuzz(kind, 150, derandomize=True)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_reader_reads_or_names_the_file_long(kind):
    """New random mutations every run, 3,000 per format (python -m pytest -m slow tests/fuzz)."""
    _fuzz(kind, 3000, derandomize=False)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_the_seed_files_are_read(kind, tmp_path):
    """The mutations start from files the readers accept (so the fuzzing tests the error paths)."""
    path = tmp_path / f"input.{kind}"
    path.write_bytes(SEEDS[kind])
    assert _read(kind, path)
