"""Symbol tables: blank at 0, <space> for characters, encode/decode, tokens.txt round trip."""

from __future__ import annotations

import pytest

from recog.tokens import BLANK, SPACE, SymbolTable


def test_char_table_from_texts():
    st = SymbolTable.from_texts(["the cat", "a hat"])
    assert st.symbols[0] == BLANK and st.blank == 0
    assert SPACE in st.symbols
    assert " " not in st.symbols
    assert set(st.symbols) == {BLANK, SPACE, "t", "h", "e", "c", "a"}
    assert len(st) == 7
    # sorted after the blank, so the table does not depend on the order of the texts
    assert st == SymbolTable.from_texts(["a hat", "the cat"])


def test_min_count():
    st = SymbolTable.from_texts(["aab", "ab", "c"], min_count=2)
    assert st.symbols == [BLANK, "a", "b"]


def test_encode_decode_round_trip():
    st = SymbolTable.from_texts(["the cat"])
    ids = st.encode("the cat")
    assert len(ids) == 7
    assert 0 not in ids
    assert ids[3] == st.index[SPACE]
    assert ids[0] == st.index["t"] and ids[6] == st.index["t"]
    assert st.decode(ids) == "the cat"
    # blanks in the input to decode are dropped
    assert st.decode([0] + ids[:3] + [0]) == "the"


def test_whitespace_is_normalised():
    st = SymbolTable.from_texts(["the cat"])
    assert st.encode("  the   cat ") == st.encode("the cat")


def test_unknown_symbol_raises_naming_it():
    st = SymbolTable.from_texts(["the cat"])
    with pytest.raises(ValueError, match="z"):
        st.encode("the zat")
    with pytest.raises(ValueError) as e:
        st.encode("q x")
    assert "q" in str(e.value) and "x" in str(e.value)


def test_phone_unit_splits_on_whitespace():
    st = SymbolTable.from_texts(["sil dh ax k ae t sil", "k ae t"], unit="phone")
    assert st.symbols == [BLANK, "ae", "ax", "dh", "k", "sil", "t"]
    assert SPACE not in st.symbols
    ids = st.encode("k  ae t")
    assert ids == [st.index["k"], st.index["ae"], st.index["t"]]
    assert st.decode(ids) == "k ae t"
    with pytest.raises(ValueError, match="zh"):
        st.encode("zh ae")


def test_tokens_txt_round_trip(tmp_path):
    # deliberately not sorted: order must be preserved
    st = SymbolTable([BLANK, "z", "a", SPACE, "#"], unit="char")
    p = tmp_path / "tokens.txt"
    st.write(p)
    lines = p.read_text().splitlines()
    assert "<blk> 0" in lines and "z 1" in lines and "<space> 3" in lines
    back = SymbolTable.read(p)
    assert back == st
    assert back.symbols == [BLANK, "z", "a", SPACE, "#"]
    assert back.unit == "char"

    ph = SymbolTable([BLANK, "sil", "aa"], unit="phone")
    ph.write(p)
    back = SymbolTable.read(p)
    assert back.unit == "phone" and back.symbols == [BLANK, "sil", "aa"]
    assert back != SymbolTable([BLANK, "sil", "aa"], unit="char")


def test_read_rejects_gaps_and_bad_lines(tmp_path):
    p = tmp_path / "tokens.txt"
    p.write_text("<blk> 0\na 2\n")
    with pytest.raises(ValueError, match="0..N-1"):
        SymbolTable.read(p)
    p.write_text("<blk> 0\na\n")
    with pytest.raises(ValueError, match=r"tokens.txt:2"):
        SymbolTable.read(p)


def test_duplicates_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        SymbolTable([BLANK, "a", "b", "a"])
    with pytest.raises(ValueError, match="duplicate"):
        SymbolTable(["a", "a"])


def test_blank_is_prepended():
    st = SymbolTable(["a", "b"])
    assert st.symbols == [BLANK, "a", "b"]
    st = SymbolTable(["a", BLANK, "b"])
    assert st.symbols == [BLANK, "a", "b"]


def test_unknown_unit_rejected():
    with pytest.raises(ValueError, match="unit"):
        SymbolTable([BLANK, "a"], unit="syllable")
