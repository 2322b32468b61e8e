"""espeak-ng phoneme mnemonics -> TIMIT-61 phones: the table behind :mod:`data_prep.synth_timit`.

The labels are phonemic: they follow espeak's pronunciation of the word, not each accent's exact
vowel quality (West Midlands "aI" is still ``ay``).  How the phones get their times:
:mod:`data_prep.timit_segments`.
"""

from __future__ import annotations

import re
from collections import Counter

#: TIMIT's 61 phone symbols (as in its .PHN files)
TIMIT61 = frozenset(
    "aa ae ah ao aw ax ax-h axr ay b bcl ch d dcl dh dx eh el em en eng epi er ey f g gcl h# hh hv "
    "ih ix iy jh k kcl l m n ng nx ow oy p pau pcl q r s sh t tcl th uh uw ux v w y z zh".split())
CLOSURES = frozenset({"bcl", "dcl", "gcl", "pcl", "tcl", "kcl"})
SILENCES = frozenset({"h#", "pau"})

#: espeak-ng phoneme mnemonic (English phoneme tables en, en-us, en-us-nyc, en-rp, en-sc, en-n,
#: en-wm, en-wi and the shared consonants) -> TIMIT-61 phone(s).  IPA as espeak-ng 1.51 renders
#: it (en-us unless noted).  Pauses (every mnemonic starting with "_") are handled separately.
PHONE_MAP: dict[str, tuple[str, ...]] = {
    # --- reduced vowels
    "@": ("ax",),            # ə  about
    "@2": ("ax",),           # ə  the, to (weak forms)
    "@5": ("ax",),           # ə  rp: to
    "@-": ("ax",),           # ə  reduced, before a syllabic consonant
    "@#": ("ax",),
    "a#": ("ax",),           # ɐ  reduced a (about, -ate)
    "a#2": ("ax",),
    "a2": ("ax",),
    "3": ("ax",),            # ə  non-rhotic -er (en-us: axr)
    "I2": ("ix",),           # ɪ  unstressed (de-, -ic)
    "I#": ("ix",),           # ᵻ  roses, -ed
    "I2#": ("ix",),
    # --- r-coloured and centring vowels (non-rhotic accents; en-us in RHOTIC_MAP)
    "3:": ("er",),           # ɜː/ɝ bird
    "IR": ("er",),           # sc: əɹ
    "VR": ("er",),           # sc: ʌɹ
    "A@": ("aa",),           # ɑː start
    "O@": ("ao",),           # ɔː north
    "o@": ("ao",),           # ɔː force
    "e@": ("eh",),           # eə square
    "i@3": ("ih",),          # iə near
    "U@": ("uh",),           # ʊə cure
    "i@": ("iy", "ax"),      # iə idea, really
    "aI@": ("ay", "ax"),     # aɪə fire (non-rhotic)
    "aI3": ("ay", "ax"),     # aɪɚ (en-us: ay axr)
    "aU@": ("aw", "ax"),     # aʊə hour (en-us: aw axr)
    # --- full vowels
    "a": ("ae",),            # æ  trap
    "aa": ("ae",),           # æ  bath (en-us); a/ɑː elsewhere
    "a/": ("ae",),           # sc
    "A:": ("aa",),           # ɑː palm
    "A#": ("aa",),
    "A~": ("aa",),
    "0": ("aa",),            # ɑː lot (en-us); ɒ elsewhere
    "0#": ("aa",),
    "02": ("aa",),
    "O": ("ao",),            # ɔ
    "O:": ("ao",),           # ɔː thought
    "O2": ("ao",),           # ɔ  cloth (en-us)
    "O~": ("ao",),
    "E": ("eh",),            # ɛ  dress
    "E#": ("eh",),
    "E2": ("eh",),
    "e#": ("eh",),
    "e": ("eh",),
    "I": ("ih",),            # ɪ  kit
    "i": ("iy",),            # i  happy
    "i:": ("iy",),           # iː fleece
    "U": ("uh",),            # ʊ  foot
    "u:": ("uw",),           # uː goose
    "V": ("ah",),            # ʌ  strut
    "aI": ("ay",),           # aɪ price
    "aI2": ("ay",),          # sc
    "aU": ("aw",),           # aʊ mouth
    "eI": ("ey",),           # eɪ face
    "e:": ("ey",),
    "oU": ("ow",),           # oʊ goat
    "oU#": ("ow",),
    "o:": ("ow",),
    "o": ("ow",),
    "OI": ("oy",),           # ɔɪ choice
    # --- syllabic consonants
    "@L": ("el",),           # əl bottle
    "l-": ("el",),
    "n-": ("en",),           # n̩  button
    "m-": ("em",),
    "N-": ("eng",),
    "r-": ("r",),            # ɹ  (linking / syllabic r)
    # --- stops and affricates: closure + release
    "p": ("pcl", "p"), "b": ("bcl", "b"),
    "t": ("tcl", "t"), "t2": ("tcl", "t"), "t[": ("tcl", "t"), "d": ("dcl", "d"), "d[": ("dcl", "d"),
    "k": ("kcl", "k"), "g": ("gcl", "g"), "c": ("kcl", "k"), "J": ("gcl", "g"),
    "tS": ("tcl", "ch"), "tS;": ("tcl", "ch"), "dZ": ("dcl", "jh"), "dZ;": ("dcl", "jh"),
    "t#": ("dx",),           # ɾ  flap (en-us water)
    "d#": ("dx",),
    "?": ("q",),             # ʔ  glottal stop
    # --- fricatives
    "f": ("f",), "v": ("v",), "v#": ("v",), "B": ("v",),
    "T": ("th",), "D": ("dh",),
    "s": ("s",), "s2": ("s",), "s;": ("s",), "s.": ("s",),
    "z": ("z",), "z#": ("z",), "z/2": ("z",), "z;": ("z",), "z.": ("z",),
    "S": ("sh",), "S;": ("sh",), "Z": ("zh",), "Z;": ("zh",),
    "h": ("hh",), "C": ("hh",), "X": ("hh",), "x": ("kcl", "k"),  # loch: nearest is k
    # --- nasals
    "m": ("m",), "n": ("n",), "n.": ("n",), "n^": ("n",), "N": ("ng",),
    # --- liquids and glides
    "l": ("l",), "l/": ("l",), "l/2": ("l",), "l/3": ("l",), "l^": ("l",), "L": ("l",),
    "l#": ("l",), "r": ("r",), "r/": ("r",), "R": ("r",), "R2": ("r",), "R3": ("r",), "r.": ("r",),
    "w": ("w",), "w#": ("w",),  # ʍ which (sc)
    "j": ("y",), ";": ("y",),   # ";": palatal glide espeak inserts (genius: ...I2 ; @s)
}
#: the rhotic accents' r-coloured phonemes (en-us: "ɑːɹ", "ɚ", ...)
RHOTIC_MAP: dict[str, tuple[str, ...]] = {
    "3": ("axr",),           # ɚ  butter
    "A@": ("aa", "r"),       # ɑːɹ start
    "O@": ("ao", "r"),       # ɔːɹ north
    "o@": ("ao", "r"),       # oːɹ force
    "e@": ("eh", "r"),       # ɛɹ square
    "i@3": ("ih", "r"),      # ɪɹ near
    "U@": ("uh", "r"),       # ʊɹ cure
    "aI3": ("ay", "axr"),    # aɪɚ fire
    "aU@": ("aw", "axr"),    # hour
}

#: accents whose espeak phonemes A@, O@, e@, 3 ... carry an r colouring (IPA "ɑːɹ", "ɚ")
RHOTIC_ACCENTS = frozenset({"en-us"})

_VOWELISH = re.compile(r"[aeiouAEIOU@03V]")


def map_phoneme(name: str, accent: str = "en-us", stats: Counter | None = None) -> tuple[str, ...]:
    """The TIMIT-61 phone(s) of one espeak-ng phoneme mnemonic for an accent (pauses -> ``pau``)."""
    name = name.lstrip("'\",%=")
    if not name or name.startswith("_") or name in ("||", ":", "-", "#X1"):
        return ("pau",)
    if accent in RHOTIC_ACCENTS and name in RHOTIC_MAP:
        return RHOTIC_MAP[name]
    if name in PHONE_MAP:
        return PHONE_MAP[name]
    if stats is not None:
        stats[f"unknown espeak phoneme {name!r}"] += 1
    for cut in range(len(name) - 1, 0, -1):  # longest known prefix
        if name[:cut] in PHONE_MAP:
            return PHONE_MAP[name[:cut]]
    return ("ax",) if _VOWELISH.search(name) else ("hh",)
