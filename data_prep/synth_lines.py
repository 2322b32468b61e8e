"""Synthetic handwriting-style text lines, written in the exact IAM layout.

Text from an offline source is wrapped into lines and drawn with handwriting-style fonts (Debian
packages, see ``data_prep.fonts``) by synthetic *writers*; the result reads back through
``data_prep.iam`` like the real IAM database::

    OUT/lines/a01/a01-000u/a01-000u-00.png   grey line images, cropped to the ink plus a margin
    OUT/ascii/lines.txt                      IAM header + "id ok graylevel components x y w h w|o|r|d|s"
    OUT/ascii/forms.txt                      IAM header + "form writer sentences all lines lines words words"
    OUT/splits/train.txt valid.txt test.txt  line ids, one per line
    OUT/writers.tsv                          each writer's split, font and style (documentation)

Writers.  A writer is one font face plus a style drawn at random: size (x-height 15-28 px; line
heights of roughly 55-135 px), slant (shear -0.3..0.3), stroke width (0-2 px extra outline, at most
half the font's median counter at that size, so thin script hands do not close up into blots),
letter spacing (drawn character by character with an extra gap; script fonts get almost none, so
their joins hold), word spacing, baseline drift (a slow random walk of the per-character vertical
offset, plus a skew), per-character size jitter, ink and paper tone and a line width (40-60
characters).  Each writer fills 1-4 forms of 4-10 lines of consecutive text, as in IAM; lines hold
3-12 words and at most 70 characters.

Per line degradation: elastic distortion (``recog.features.augment.elastic_distort``'s field,
applied to the ink), Gaussian blur, uneven ink, paper texture and pixel noise.

Splits.  Fonts are split by *family* (one hand; all its faces go together).  By default the test
writers use the families in ``DEFAULT_TEST_FAMILIES``, the validation writers those in
``DEFAULT_VALID_FAMILIES`` and the training writers all others, so validation and test are both
writer- *and* font-independent (as in IAM's writer-independent task).  With explicit font lists
the test fonts must not share a family with the training fonts; the validation fonts default to
the training fonts (new writers, new styles).  Text is split as well: each split draws its lines
from its own share of the passages, so test sentences are never seen in training.

Text.  ``--text auto`` uses the Debian ``fortunes`` files (/usr/share/games/fortunes) and the
example sentences of ``wordnet-base`` (/usr/share/wordnet), whichever are installed.  With
neither, ``--install-fonts`` installs both; otherwise a small built-in public-domain list is used
for runs of at most 300 lines (tests; lines then repeat), and larger runs stop with the apt
command.  ``--text FILE`` reads passages separated by blank lines.  Text is normalised to ASCII
(curly quotes, dashes, accents) and restricted to the IAM character set ``IAM_CHARSET``; a writer
only gets passages its font covers (``data_prep.fonts.coverage``), others are skipped.
Capitals-only fonts are left out unless named; their lines are upper-cased.  ``--google-fonts``
adds Google Fonts' handwriting families (``data_prep.google_fonts``: 145, fetched once from npm
into a cache) to the *training* writers; validation and test hands are unchanged.
Transcriptions are written as drawn (``stop.`` stays one word; IAM would write ``stop|.``), with
``"`` as ``&quot;`` and ``&`` as ``&amp;``.

Deterministic: the same seed, fonts, text source and version give byte-identical ``lines.txt``
and identical images, whatever ``--jobs``.

Usage::

    python -m data_prep.synth_lines --out DIR [--lines 20000] [--seed 0] [--jobs 2] [--install-fonts]
        [--text auto|fortunes|wordnet|builtin|FILE] [--train-fonts A,B --valid-fonts C --test-fonts D]
        [--google-fonts [--font-cache DIR]]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from recog.features.augment import elastic_distort, elastic_field

from . import fonts as F
from . import google_fonts as G
from .common import Reporter

PROG = "data_prep.synth_lines"
SPLITS = ("train", "valid", "test")
DEFAULT_LINES = 20000
DEFAULT_RATIOS = (0.8, 0.1, 0.1)

#: the characters of the IAM line transcriptions (plus space)
IAM_CHARSET = frozenset(" !\"#&'()*+,-./0123456789:;?"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

#: held-out hands (families of data_prep.fonts.CATALOGUE): a thin slanted hand, two prints
DEFAULT_TEST_FAMILIES = ("kristi", "delphine", "breip")
DEFAULT_VALID_FAMILIES = ("stevehand", "havana")
#: joined-up (script) families: letter spacing stays near zero so that the joins hold
CONNECTED_FAMILIES = frozenset({"dancingscript", "kristi", "lobster", "leckerli", "kaushan", "ecolier",
                                "havana"})

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

LINES_TXT_HEADER = """\
#--- lines.txt ---------------------------------------------------------------#
#
# iam database line information
#
# format: a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
#
#     a01-000u-00  -> line id for form a01-000u
#     ok              -> result of word segmentation
#                            ok: line is correctly segmented
#                            er: segmentation of line has one or more errors
#
#     154             -> graylevel to binarize line
#     19              -> number of components for this line
#     408 746 1663 91 -> bounding box around this line in x,y,w,h format
#
#     A|MOVE|to|stop|Mr.|Gaitskell|from -> transcription for this line. word tokens are separated
#                                          by the character |
#
"""

FORMS_TXT_HEADER = """\
#--- forms.txt ---------------------------------------------------------------#
#
# iam database form information
#
# format: a01-000u 000 2 prt 7 5 52 36
#
#     a01-000u  -> form id
#     000       -> writer id
#     2         -> number of sentences
#     prt       -> word segmentation
#                    prt: some lines correctly segmented
#                    all: all lines correctly segmented
#     7         -> number of lines
#     5         -> number of lines correctly segmented
#     52        -> number of words
#     36        -> number of words correctly segmented
#
"""


# --- text --------------------------------------------------------------------------------------

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


# --- writers -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WriterStyle:
    size: int              # font size, px
    slant: float           # shear: x shift per px above the baseline (positive leans right)
    stroke: int            # extra outline, px
    spacing: float         # extra gap between letters, px
    word_space: float      # extra gap at spaces, px
    drift: float           # std of the baseline random-walk step, px per character
    skew: float            # baseline tilt, degrees (per line: this plus a little noise)
    size_jitter: float     # relative std of per-character size
    ink: int               # ink grey level
    paper: int             # paper grey level
    max_chars: int         # line width in characters


@dataclass(frozen=True)
class Writer:
    id: str
    split: str
    face: F.FontFace
    style: WriterStyle


def sample_style(rng: np.random.Generator, face: F.FontFace) -> WriterStyle:
    pr = F.probe(face.path)
    # x-height 15-28 px, but ascender top to descender foot kept within 40-105 px (fonts with
    # tall loops such as Ecolier or dkg would otherwise give very tall lines)
    xh_target = rng.uniform(15, 28)
    size = xh_target / max(pr.xheight, 0.1)
    size = int(round(min(max(size, 40 / max(pr.body, 0.1)), 105 / max(pr.body, 0.1))))
    xh = max(4.0, pr.xheight * size)
    connected = face.family in CONNECTED_FAMILIES or face.family in G.CONNECTED
    bold = any(k in face.name.lower() for k in ("bold", "semibold", "bd"))
    stroke = int(rng.choice([0, 0, 1, 1, 2])) if not bold else int(rng.choice([0, 0, 1]))
    # the outline must not close the font's counters: 2 * stroke <= its median gap at this size
    stroke = min(stroke, int(pr.counter * size / 2))
    spacing = rng.uniform(-0.02, 0.03) * xh if connected else rng.uniform(-0.06, 0.25) * xh
    ink = int(rng.uniform(0, 90))
    paper = int(rng.uniform(max(200, ink + 110), 255))
    return WriterStyle(
        size=size,
        slant=round(float(np.clip(rng.triangular(-0.3, 0.0, 0.3), -0.3, 0.3)), 4),
        stroke=stroke,
        spacing=round(float(spacing), 3),
        word_space=round(float(rng.uniform(-0.1, 0.6) * xh), 3),
        drift=round(float(rng.uniform(0.0, 0.05) * xh), 4),
        skew=round(float(rng.uniform(-1.0, 1.0)), 3),
        size_jitter=round(float(rng.uniform(0.0, 0.05)), 4),
        ink=ink,
        paper=paper,
        max_chars=int(rng.integers(40, 61)),
    )


# --- rendering ---------------------------------------------------------------------------------

def _lowfreq(h: int, w: int, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random field of about unit standard deviation."""
    return elastic_field(h, w, 1.0, spacing, rng)[0]


def render_ink(text: str, font_path: str, style: WriterStyle, rng: np.random.Generator) -> tuple[Image.Image, int]:
    """The ink of one line as an 'L' mask (255 = ink), cropped to the ink plus a margin; and the
    y of the baseline in it."""
    font = F.load_font(font_path, style.size)
    n = len(text)
    # pen positions with the font's pair kerning: x[i+1] = x[i] + len(c[i] c[i+1]) - len(c[i+1])
    adv = np.zeros(n)
    for i in range(1, n):
        adv[i] = adv[i - 1] + font.getlength(text[i - 1:i + 1]) - font.getlength(text[i])
    spaces = np.cumsum([0] + [c == " " for c in text[:-1]]) if n else np.zeros(0)
    xs = adv + np.arange(n) * style.spacing + spaces * style.word_space
    # baseline: AR(1) random walk (slow wander) plus a skew
    steps = rng.normal(0.0, style.drift, n) if style.drift > 0 else np.zeros(n)
    walk = np.zeros(n)
    for i in range(1, n):
        walk[i] = 0.92 * walk[i - 1] + steps[i]
    skew = math.tan(math.radians(style.skew + rng.normal(0.0, 0.4)))
    ys = walk - skew * xs
    sizes = np.clip(np.round(style.size * (1 + style.size_jitter * rng.standard_normal(n))), 6, None).astype(int)

    s = style.size
    pad = int(abs(style.slant) * 3 * s + 2 * s)
    top = int(math.ceil(1.8 * s + max(0.0, -ys.min(initial=0.0))))
    height = top + int(math.ceil(1.2 * s + max(0.0, ys.max(initial=0.0)))) + 2 * style.stroke
    width = int(math.ceil((xs.max(initial=0.0) if n else 0) + 2 * s)) + 2 * pad
    mask = Image.new("L", (width, height), 0)
    d = ImageDraw.Draw(mask)
    for ch, x, y, sz in zip(text, xs, ys, sizes):
        if ch == " ":
            continue
        f = F.load_font(font_path, int(sz))
        d.text((pad + float(x), top + float(y)), ch, font=f, fill=255, anchor="ls",
               stroke_width=style.stroke, stroke_fill=255)
    if style.slant:
        # x_src = x + slant * (y - top): rows above the baseline move right for slant > 0
        mask = mask.transform(mask.size, Image.AFFINE, (1, style.slant, -style.slant * top, 0, 1, 0),
                              resample=Image.BILINEAR, fillcolor=0)
    bbox = mask.getbbox()
    if bbox is None:
        raise ValueError(f"nothing drawn for {text!r} with {font_path}")
    ml, mr = (int(v) for v in rng.integers(6, 22, 2))
    mt, mb = (int(v) for v in rng.integers(4, 15, 2))
    x0, y0, x1, y1 = bbox
    out = Image.new("L", (x1 - x0 + ml + mr, y1 - y0 + mt + mb), 0)
    out.paste(mask.crop(bbox), (ml, mt))
    return out, top - y0 + mt


def degrade(mask: Image.Image, style: WriterStyle, rng: np.random.Generator) -> Image.Image:
    """Ink mask -> grey line image: elastic distortion, blur, uneven ink, paper texture, noise."""
    s = style.size
    if rng.random() < 0.8:
        mask = elastic_distort(mask, alpha=rng.uniform(0.005, 0.02) * s, spacing=rng.uniform(0.3, 0.8) * s,
                               rng=rng, fill=0)
    r = rng.uniform(0.0, 1.1)
    if r > 0.3:
        mask = mask.filter(ImageFilter.GaussianBlur(r))
    m = np.asarray(mask, dtype=np.float32) / 255.0
    h, w = m.shape
    ink_var = rng.uniform(0.0, 0.25)
    strength = 1.0 - ink_var * np.abs(_lowfreq(h, w, rng.uniform(0.5, 2.0) * s, rng))
    paper = style.paper + rng.uniform(0, 12) * _lowfreq(h, w, rng.uniform(1.0, 4.0) * s, rng)
    ink = style.ink + rng.uniform(-10, 10)
    a = paper - m * np.clip(strength, 0, 1) * (paper - ink)
    sigma = rng.uniform(0.0, 10.0)
    if sigma > 0.5:
        a = a + rng.normal(0.0, sigma, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), mode="L")


def otsu(a: np.ndarray) -> int:
    """Otsu's threshold of a uint8 array (pixels <= threshold are ink)."""
    hist = np.bincount(a.ravel(), minlength=256).astype(np.float64)
    p = hist / max(1.0, hist.sum())
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    mu_t = mu[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * omega - mu) ** 2 / (omega * (1 - omega))
    between = np.nan_to_num(between, nan=0.0, posinf=0.0)
    return int(np.argmax(between))


def count_components(ink: np.ndarray) -> int:
    """Estimate of the connected ink blobs: runs of ink columns separated by empty columns."""
    cols = ink.any(axis=0).astype(np.int8)
    return int(max(1, np.count_nonzero(np.diff(np.concatenate([[0], cols])) == 1)))


def render_line(text: str, font_path: str, style: WriterStyle, seed) -> Image.Image:
    """One synthetic grey line image ('L'); ``seed``: anything np.random.default_rng takes."""
    rng = np.random.default_rng(seed)
    mask, _ = render_ink(text, font_path, style, rng)
    return degrade(mask, style, rng)


def _render_job(job) -> tuple[int, int, int, int]:
    path, text, font_path, style, seed = job
    img = render_line(text, font_path, style, seed)
    a = np.asarray(img)
    t = otsu(a)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return t, count_components(a <= t), img.width, img.height


# --- the corpus --------------------------------------------------------------------------------

@dataclass
class LineSpec:
    id: str
    form: str
    writer: Writer
    text: str
    seed: tuple


def _resolve(specs, what: str) -> list[F.FontFace]:
    """Font specs -> faces: BUILTIN, a font file, a package (fonts-...) or a catalogue family."""
    fam_pkg = {fam: pkg for pkg, fams in F.CATALOGUE.items() for fam in fams}
    out: list[F.FontFace] = []
    for spec in specs:
        if spec == F.BUILTIN:
            out.append(F.builtin_face())
        elif os.path.isfile(spec):
            out.append(F.FontFace(Path(spec).stem, "file", os.path.abspath(spec), F.probe(spec).upper_only))
        elif spec.startswith("fonts-"):
            got = F.faces([spec], include_upper_only=True)
            if not got:
                raise F.FontError(f"{what} fonts: package {spec} has no usable font files")
            out += got
        elif spec in fam_pkg:
            got = [f for f in F.faces([fam_pkg[spec]], include_upper_only=True) if f.family == spec]
            if not got:
                raise F.FontError(f"{what} fonts: family {spec!r} not found; is {fam_pkg[spec]} installed?")
            out += got
        else:
            raise F.FontError(f"{what} fonts: {spec!r} is not a font file, a fonts-* package, "
                              f"'{F.BUILTIN}' or a family of the catalogue ({', '.join(sorted(fam_pkg))})")
    return list(dict.fromkeys(out))


def _packages_of(specs) -> list[str]:
    fam_pkg = {fam: pkg for pkg, fams in F.CATALOGUE.items() for fam in fams}
    out = []
    for s in specs:
        if s.startswith("fonts-") and not os.path.isfile(s):
            out.append(s)
        elif s in fam_pkg:
            out.append(fam_pkg[s])
    return out


def choose_fonts(train=None, valid=None, test=None, install: bool = False,
                 rep: Reporter | None = None) -> dict[str, list[F.FontFace]]:
    """Faces of each split (see the module docstring for the defaults and the rules)."""
    rep = rep or Reporter(PROG)
    if train is None and valid is None and test is None:
        F.ensure_fonts(F.DEFAULT_PACKAGES, install=install)
        all_faces = F.faces(F.DEFAULT_PACKAGES)
        split = {
            "test": [f for f in all_faces if f.family in DEFAULT_TEST_FAMILIES],
            "valid": [f for f in all_faces if f.family in DEFAULT_VALID_FAMILIES],
        }
        split["train"] = [f for f in all_faces if f not in split["test"] and f not in split["valid"]]
    else:
        if not train or not test:
            raise F.FontError("give both training and test fonts (validation defaults to the training fonts)")
        F.ensure_fonts(_packages_of(list(train) + list(valid or []) + list(test)), install=install)
        split = {"train": _resolve(train, "training"), "test": _resolve(test, "test")}
        split["valid"] = _resolve(valid, "validation") if valid else list(split["train"])
    for name in SPLITS:
        if not split[name]:
            raise F.FontError(f"no {name} fonts")
    shared = {f.family for f in split["train"]} & {f.family for f in split["test"]}
    if shared == {F.BUILTIN}:
        rep.warn("shared fonts", "training and test both use Pillow's built-in font: the layout is right, "
                 "but the test writers are not font-independent")
    elif shared:
        raise F.FontError(f"test fonts share families with the training fonts: {', '.join(sorted(shared))}")
    return split


def _form_prefix(w: int) -> str:
    w %= 2600
    return f"{chr(ord('a') + w // 100)}{w % 100:02d}"  # a00, a01, ..., a99, b00, ...


def plan(n_lines: int, seed: int, split_faces: dict[str, list[F.FontFace]], passages: list[str],
         ratios=DEFAULT_RATIOS, charset=IAM_CHARSET, rep: Reporter | None = None) -> list[LineSpec]:
    """Writers, forms and the text of every line (cheap, sequential, deterministic)."""
    rep = rep or Reporter(PROG)
    rng = np.random.default_rng([seed, 0])
    total = sum(ratios)
    counts = [int(round(n_lines * r / total)) for r in ratios]
    counts[0] += n_lines - sum(counts)
    # text: a disjoint share of the passages per split (proportional to the line counts)
    order = rng.permutation(len(passages))
    bounds = np.round(np.cumsum([0] + counts) / max(1, n_lines) * len(passages)).astype(int)
    streams = {}
    for i, name in enumerate(SPLITS):
        share = [passages[j] for j in order[bounds[i]:bounds[i + 1]]] or list(passages)
        streams[name] = TextStream(share, np.random.default_rng([seed, 3, i]), name, rep)

    specs: list[LineSpec] = []
    form_no: dict[str, int] = {}
    w = 0
    charsets: dict[str, frozenset] = {}
    for si, name in enumerate(SPLITS):
        remaining = counts[si]
        by_fam: dict[str, list[F.FontFace]] = {}
        for f in split_faces[name]:
            by_fam.setdefault(f.family, []).append(f)
        fams = sorted(by_fam)
        fam_order = [fams[i] for i in rng.permutation(len(fams))]
        k = 0
        while remaining > 0:
            fam = fam_order[k % len(fam_order)]
            k += 1
            face = by_fam[fam][int(rng.integers(len(by_fam[fam])))]
            writer = Writer(f"{w:03d}", name, face, sample_style(rng, face))
            if face.path not in charsets:
                charsets[face.path] = frozenset(charset) - F.coverage(face.path, charset)
            cs = charsets[face.path]
            prefix = _form_prefix(w + 1)                     # a01 first, as in IAM
            w += 1
            for _ in range(int(rng.integers(1, 5))):
                if remaining <= 0:
                    break
                n = min(int(rng.integers(4, 11)), remaining)
                num = form_no.get(prefix, 0)
                form_no[prefix] = num + 1
                form = f"{prefix}-{num:03d}{['', 'u', 'x', 'a', 'b'][int(rng.integers(5))]}"
                texts = streams[name].lines(n, cs, face.upper_only, writer.style.max_chars, rng)
                for i, t in enumerate(texts):
                    specs.append(LineSpec(f"{form}-{i:02d}", form, writer, t, (seed, 1, len(specs))))
                remaining -= n
    return specs


def encode_words(text: str) -> str:
    """Text -> IAM transcription field (``|`` between words, ``&`` and ``"`` as entities)."""
    return "|".join(w.replace("&", "&amp;").replace('"', "&quot;") for w in text.split(" "))


@dataclass
class SynthResult:
    out: Path
    splits: dict[str, list[str]]       # split -> line ids
    texts: dict[str, str]              # line id -> text
    fonts: dict[str, list[str]]        # split -> font files
    writers: dict[str, Writer]         # writer id -> writer
    writer_of: dict[str, str]          # line id -> writer id


def generate(out, n_lines: int = DEFAULT_LINES, seed: int = 0, jobs: int = 2,
             train_fonts=None, valid_fonts=None, test_fonts=None, text: str = "auto",
             install: bool = False, ratios=DEFAULT_RATIOS, progress: bool = True,
             extra_train_faces: list[F.FontFace] | None = None) -> SynthResult:
    """Write a synthetic corpus in the IAM layout under ``out`` (see the module docstring).

    ``extra_train_faces`` (``data_prep.google_fonts.google_faces()``) join the training writers;
    none may share a family with the validation or test fonts."""
    out = Path(out)
    rep = Reporter(PROG)
    if n_lines < 1:
        raise ValueError("n_lines must be at least 1")
    split_faces = choose_fonts(train_fonts, valid_fonts, test_fonts, install=install, rep=rep)
    if extra_train_faces:
        held = {f.family for name in ("valid", "test") for f in split_faces[name]}
        clash = sorted(held & {f.family for f in extra_train_faces})
        if clash:
            raise F.FontError(f"extra training fonts share families with validation/test: {', '.join(clash)}")
        split_faces["train"] = list(dict.fromkeys(split_faces["train"] + list(extra_train_faces)))
    if text == "auto" and not (Path(FORTUNES_DIR).is_dir() or Path(WORDNET_DIR).is_dir()):
        if install:
            F.ensure_fonts(TEXT_PACKAGES, install=True)
        elif n_lines > BUILTIN_MAX_LINES:
            raise F.FontError(f"no text source for {n_lines} lines: install {' and '.join(TEXT_PACKAGES)} "
                              f"(sudo sh -c '{F.apt_command(TEXT_PACKAGES)}', or pass --install-fonts), "
                              f"or give --text FILE; the built-in text only suits up to {BUILTIN_MAX_LINES} lines")
    source, passages = load_passages(text, install=install, rep=rep)
    if not passages:
        raise ValueError(f"text source {text!r} gave no usable passages")
    for name in SPLITS:
        rep.info(f"{name} fonts: " + ", ".join(sorted({f.name for f in split_faces[name]})))
    rep.info(f"text: {source}, {len(passages)} passages")
    specs = plan(n_lines, seed, split_faces, passages, ratios=ratios, rep=rep)

    jobs_args = [(str(out / "lines" / s.id.split("-")[0] / s.form / f"{s.id}.png"), s.text,
                  s.writer.face.path, s.writer.style, s.seed) for s in specs]
    (out / "ascii").mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm
    bar = dict(total=len(specs), desc="synth lines", unit="line", disable=not progress, mininterval=1.0)
    if jobs > 1:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            stats = list(tqdm(pool.imap(_render_job, jobs_args, chunksize=16), **bar))
    else:
        stats = [_render_job(j) for j in tqdm(jobs_args, **bar)]

    # page geometry: each form's lines stacked on a virtual 2479 x 3542 page
    rows, forms = [], {}
    for s, (grey, comps, w, h) in zip(specs, stats):
        forms.setdefault(s.form, []).append((s, grey, comps, w, h))
    for fi, (form, items) in enumerate(forms.items()):
        prng = np.random.default_rng([seed, 2, fi])
        x0 = int(prng.integers(250, 460))
        y = int(prng.integers(650, 800))
        for s, grey, comps, w, h in items:
            rows.append((s.id, f"{s.id} ok {grey} {comps} {x0 + int(prng.integers(-25, 26))} {y} {w} {h} "
                               f"{encode_words(s.text)}"))
            y += h + int(prng.integers(-10, 60))
    rows.sort()
    (out / "ascii" / "lines.txt").write_text(LINES_TXT_HEADER + "".join(r + "\n" for _, r in rows))

    form_rows = []
    for form, items in forms.items():
        words = sum(len(s.text.split()) for s, *_ in items)
        sentences = max(1, sum(len(re.findall(r"[.!?]+(?:\s|$)", s.text + " ")) for s, *_ in items))
        form_rows.append(f"{form} {items[0][0].writer.id} {sentences} all {len(items)} {len(items)} "
                         f"{words} {words}\n")
    (out / "ascii" / "forms.txt").write_text(FORMS_TXT_HEADER + "".join(sorted(form_rows)))

    split_ids = {name: sorted(s.id for s in specs if s.writer.split == name) for name in SPLITS}
    (out / "splits").mkdir(exist_ok=True)
    for name, ids in split_ids.items():
        (out / "splits" / f"{name}.txt").write_text("".join(i + "\n" for i in ids))

    writers = {s.writer.id: s.writer for s in specs}
    cols = list(WriterStyle.__dataclass_fields__)
    wrows = ["writer\tsplit\tfamily\tpackage\tfont\tupper_only\t" + "\t".join(cols) + "\n"]
    for wid in sorted(writers):
        wr = writers[wid]
        st = asdict(wr.style)
        wrows.append(f"{wid}\t{wr.split}\t{wr.face.family}\t{wr.face.package}\t{wr.face.path}\t"
                     f"{int(wr.face.upper_only)}\t" + "\t".join(str(st[c]) for c in cols) + "\n")
    (out / "writers.tsv").write_text("".join(wrows))

    used = {name: sorted({s.writer.face.path for s in specs if s.writer.split == name}) for name in SPLITS}
    rep.info(f"wrote {out}: " + ", ".join(f"{n} {len(split_ids[n])} lines" for n in SPLITS)
             + f", {len(writers)} writers, {len(forms)} forms")
    return SynthResult(out, split_ids, {s.id: s.text for s in specs}, used, writers,
                       {s.id: s.writer.id for s in specs})


def _fonts_arg(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="corpus root to write (IAM layout)")
    ap.add_argument("--lines", type=int, default=DEFAULT_LINES, help=f"number of lines (default {DEFAULT_LINES})")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (the output does not depend on it)")
    ap.add_argument("--install-fonts", action="store_true",
                    help="apt-get install missing font/text packages (root); otherwise they are named")
    ap.add_argument("--text", default="auto", help="auto | fortunes | wordnet | builtin | FILE")
    ap.add_argument("--train-fonts", type=_fonts_arg, metavar="A,B",
                    help="families, fonts-* packages, font files or 'builtin' (default: catalogue split)")
    ap.add_argument("--valid-fonts", type=_fonts_arg, metavar="A,B", help="default: the training fonts")
    ap.add_argument("--test-fonts", type=_fonts_arg, metavar="A,B", help="must not share a family with training")
    ap.add_argument("--ratios", default="0.8,0.1,0.1", help="train,valid,test shares of the lines")
    ap.add_argument("--google-fonts", action="store_true",
                    help="add Google Fonts' handwriting families (fetched from npm, data_prep.google_fonts) "
                         "to the training writers")
    ap.add_argument("--font-cache", type=Path, default=G.DEFAULT_CACHE, help="where --google-fonts keeps them")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        ratios = tuple(float(x) for x in args.ratios.split(","))
        if len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
            raise ValueError
    except ValueError:
        ap.error(f"--ratios: expected three non-negative numbers, got {args.ratios!r}")
    try:
        extra = G.google_faces(cache=args.font_cache) if args.google_fonts else None
        if args.google_fonts and not extra:
            raise F.FontError("--google-fonts: no family could be fetched (see the warnings)")
        generate(args.out, n_lines=args.lines, seed=args.seed, jobs=args.jobs, train_fonts=args.train_fonts,
                 valid_fonts=args.valid_fonts, test_fonts=args.test_fonts, text=args.text,
                 install=args.install_fonts, ratios=ratios, progress=not args.no_progress,
                 extra_train_faces=extra)
    except (F.FontError, FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
