"""Running text for synthetic handwriting (:mod:`data_prep.synth_lines`): passages from the Debian
``fortunes``, WordNet's example sentences, a file or a small built-in public-domain list, normalised
to ASCII and wrapped into lines of 3-12 words.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np

from . import fonts as F
from .common import Reporter

FORTUNES_DIR = "/usr/share/games/fortunes"
WORDNET_DIR = "/usr/share/wordnet"
FORTUNES_SKIP = {"ascii-art"}
TEXT_PACKAGES = ("fortunes", "wordnet-base")
#: above this many lines, ``--text auto`` refuses to fall back to the built-in text (it would repeat)
BUILTIN_MAX_LINES = 300

MIN_WORDS, MAX_WORDS, HARD_MAX_CHARS = 3, 12, 70

# Public-domain text (Aesop retold, Lincoln, the US Declaration of Independence, and openings of
# nineteenth-century novels), for tests and machines without the Debian text packages.
BUILTIN_TEXT = (
    "A hungry fox saw some fine bunches of grapes hanging from a vine that was trained along a high "
    "trellis, and did his best to reach them by jumping as high as he could into the air. But it was "
    "all in vain, for they were just out of reach: so he gave up trying, and walked away with an air "
    "of dignity and unconcern, remarking, \"I thought those grapes were ripe, but I see now they are "
    "quite sour.\"",
    "A hare was one day making fun of a tortoise for being so slow upon his feet. \"Wait a bit,\" said "
    "the tortoise; \"I'll run a race with you, and I'll wager that I win.\" The hare, who was much "
    "amused at the idea, agreed, and they started at once. The hare was soon far out of sight, and lay "
    "down to rest; but the tortoise kept on steadily and reached the goal first.",
    "Four score and seven years ago our fathers brought forth on this continent, a new nation, "
    "conceived in Liberty, and dedicated to the proposition that all men are created equal. Now we "
    "are engaged in a great civil war, testing whether that nation, or any nation so conceived and "
    "so dedicated, can long endure.",
    "We hold these truths to be self-evident, that all men are created equal, that they are endowed "
    "by their Creator with certain unalienable Rights, that among these are Life, Liberty and the "
    "pursuit of Happiness. That to secure these rights, Governments are instituted among Men.",
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must "
    "be in want of a wife. However little known the feelings or views of such a man may be on his "
    "first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding "
    "families, that he is considered the rightful property of some one or other of their daughters.",
    "Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in "
    "my purse, and nothing particular to interest me on shore, I thought I would sail about a little "
    "and see the watery part of the world. It is a way I have of driving off the spleen, and "
    "regulating the circulation.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of "
    "Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair.",
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having "
    "nothing to do: once or twice she had peeped into the book her sister was reading, but it had no "
    "pictures or conversations in it, \"and what is the use of a book,\" thought Alice, \"without "
    "pictures or conversations?\"",
    "A lion was awakened from sleep by a mouse running over his face. Rising up in anger, he caught "
    "him and was about to kill him, when the mouse piteously entreated, saying: \"If you would only "
    "spare my life, I would be sure to repay your kindness.\" The lion laughed and let him go. Some "
    "days later the lion was caught in a net, and the mouse gnawed the ropes and set him free.",
    "The north wind and the sun disputed which was the stronger, and agreed to try their powers upon "
    "a traveller, to see which could soonest strip him of his cloak. The wind blew with all his "
    "might, but the harder he blew, the more closely the traveller wrapped his cloak around him. "
    "Then the sun shone out warmly, and the traveller took off his cloak at once.",
    "In 1859 the ship left port with 32 men, 4 boats & 120 barrels of flour; by the 3rd of May (so "
    "the log says) only 17 remained. \"Keep the fires lit!\" the mate cried. Was it worth it? Nobody "
    "could say, though #7 of the crew wrote home: \"We are well; send news.\"",
    "There was no possibility of taking a walk that day. We had been wandering, indeed, in the "
    "leafless shrubbery an hour in the morning; but since dinner the cold winter wind had brought "
    "with it clouds so sombre, and a rain so penetrating, that further outdoor exercise was now out "
    "of the question.",
    "An ant went to the bank of a river to quench its thirst, and being carried away by the rush of "
    "the stream, was on the point of drowning. A dove sitting on a tree overhanging the water "
    "plucked a leaf and let it fall into the stream close to her. The ant climbed onto it and "
    "floated in safety to the bank.",
    "The boy who cried wolf kept the sheep near a dark forest. Twice he shouted \"Wolf! Wolf!\" for "
    "the fun of seeing the villagers run up the hill, and twice they found no wolf at all. When a "
    "wolf really came, he cried out again, but nobody believed him, and the flock was scattered.",
)



_ASCII = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\t": " ",
})


def normalise_passage(text: str) -> str:
    """ASCII-fy (quotes, dashes, accents), TeX quotes to ``"``, whitespace collapsed."""
    text = text.replace("``", '"').replace("''", '"').translate(_ASCII)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def _usable(passage: str) -> bool:
    words = passage.split()
    if len(words) < MIN_WORDS or max(len(w) for w in words) > 25:
        return False
    chars = passage.replace(" ", "")
    return sum(c.isalpha() for c in chars) >= 0.7 * len(chars)


def fortune_passages(folder: str | Path = FORTUNES_DIR) -> list[str]:
    out = []
    for p in sorted(Path(folder).iterdir()):
        if p.suffix in (".dat", ".u8") or p.name in FORTUNES_SKIP or p.is_symlink() or not p.is_file():
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        out += [s for s in re.split(r"^%\s*$", text, flags=re.M) if s.strip()]
    return out


def wordnet_passages(folder: str | Path = WORDNET_DIR) -> list[str]:
    """The quoted example sentences of the WordNet glosses."""
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        p = Path(folder) / f"data.{pos}"
        if not p.is_file():
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(" ") or "|" not in line:
                    continue
                out += re.findall(r'"([^"]+)"', line.split("|", 1)[1])
    return out


def load_passages(source: str = "auto", install: bool = False, rep: Reporter | None = None
                  ) -> tuple[str, list[str]]:
    """(description, normalised usable passages) for ``source``: auto, fortunes, wordnet,
    builtin or a text file (passages separated by blank lines)."""
    raw: list[str] = []
    names = []
    if source in ("fortunes", "wordnet"):
        F.ensure_fonts(["fortunes" if source == "fortunes" else "wordnet-base"], install=install)
    if source in ("auto", "fortunes") and Path(FORTUNES_DIR).is_dir():
        raw += fortune_passages()
        names.append("fortunes")
    if source in ("auto", "wordnet") and Path(WORDNET_DIR).is_dir():
        raw += wordnet_passages()
        names.append("wordnet")
    if source not in ("auto", "fortunes", "wordnet", "builtin"):
        p = Path(source)
        if not p.is_file():
            raise FileNotFoundError(f"{p}: text source not found (use auto, fortunes, wordnet, builtin or a file)")
        raw += re.split(r"\n\s*\n", p.read_text(encoding="utf-8", errors="replace"))
        names.append(str(p))
    if not raw:
        if source == "auto" and rep:
            rep.info("no fortunes or wordnet-base installed: using the small built-in text "
                     f"(install more with: {F.apt_command(['fortunes', 'wordnet-base'])})")
        raw = list(BUILTIN_TEXT)
        names.append("builtin")
    passages = [n for n in (normalise_passage(r) for r in raw) if _usable(n)]
    return "+".join(names), passages


def wrap(words: list[str], rng: np.random.Generator, max_chars: int) -> list[str]:
    """Greedy line breaking: lines of MIN_WORDS..MAX_WORDS words and about ``max_chars``
    characters (each line's limit varies a little); a last line shorter than MIN_WORDS is
    dropped."""
    lines, cur = [], []
    limit = int(rng.integers(max_chars - 10, max_chars + 1))
    for w in words:
        n = len(" ".join(cur + [w]))
        if cur and (len(cur) >= MAX_WORDS or (n > limit and (len(cur) >= MIN_WORDS or n > HARD_MAX_CHARS))):
            if len(cur) >= MIN_WORDS:
                lines.append(" ".join(cur))
            cur = []
            limit = int(rng.integers(max_chars - 10, max_chars + 1))
        cur.append(w)
    if len(cur) >= MIN_WORDS and len(" ".join(cur)) <= HARD_MAX_CHARS:
        lines.append(" ".join(cur))
    return lines


class TextStream:
    """Passages of one split, in a shuffled order, cycled (with a warning) when used up."""

    def __init__(self, passages: list[str], rng: np.random.Generator, name: str, rep: Reporter):
        self.passages, self.rng, self.name, self.rep = passages, rng, name, rep
        self.order = list(rng.permutation(len(passages)))
        self.pos = 0
        self.cycles = 0

    def next_passage(self) -> str:
        if self.pos >= len(self.order):
            self.cycles += 1
            if self.cycles == 1:
                self.rep.warn("text reused", f"{self.name}: text source used up; passages repeat")
            self.order = list(self.rng.permutation(len(self.passages)))
            self.pos = 0
        p = self.passages[self.order[self.pos]]
        self.pos += 1
        return p

    def lines(self, n: int, charset: frozenset, upper: bool, max_chars: int, rng: np.random.Generator) -> list[str]:
        """``n`` lines of running text drawn only from ``charset``."""
        out: list[str] = []
        tries = 0
        while len(out) < n:
            words: list[str] = []
            while len(words) < (n - len(out)) * MAX_WORDS + MAX_WORDS:
                p = self.next_passage()
                if upper:
                    p = p.upper()
                tries += 1
                if tries > 20 * len(self.passages) + 1000:
                    raise RuntimeError(f"{self.name}: no text the font can draw (charset {''.join(sorted(charset))!r})")
                if set(p) <= charset:
                    words += p.split()
            out += wrap(words, rng, max_chars)[: n - len(out)]
        return out
