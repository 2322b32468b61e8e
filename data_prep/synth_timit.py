"""A synthetic TIMIT: espeak-ng speech in TIMIT's exact layout, with sample-exact phone times.

Usage::

    python -m data_prep.synth_timit --out DIR [--hours 3.2] [--seed 0] [--jobs 2]
        [--speakers N] [--utts-per-speaker 8] [--text auto|wordnet|fortunes|builtin] [--quiet]

    python -m data_prep.timit --corpus DIR --out prepared \\
        --dev-spk DIR/dev_spk.list --core-spk DIR/core_test_spk.list

Needs espeak-ng (``apt-get install espeak-ng``; checked at start) and, for the default sentences,
``wordnet-base`` (``apt-get install wordnet-base``; ``fortunes`` also works, and a small built-in
list is the last resort).  The default build (3.2 hours, ~550 speakers, ~4,400 utterances) takes
a few minutes on two cores; a progress bar shows the audio written so far.

Output (``DIR``)::

    TRAIN/DR1/MKAU0/SI1234.WAV    NIST SPHERE, 16 kHz, 16 bit PCM (soundfile format='NIST')
                    SI1234.PHN    "<start> <end> <phone>", TIMIT-61 phones, samples; they tile
                                  the audio exactly: first start 0, each end = next start,
                                  last end = number of samples
                    SI1234.WRD    "<start> <end> <word>" (lower case; pauses are in no word)
                    SI1234.TXT    "0 <n_samples> <sentence>"
    TEST/DR5/FBES0/SX431.WAV ...  (dev and core-test speakers; TEST holds nothing else)
    dev_spk.list                  the dev speakers (lower case, one a line)
    core_test_spk.list            the core-test speakers
    speakers.tsv                  every speaker: split, dialect, espeak voice and settings
    synth_info.json               seed, sizes, espeak-ng version, phone statistics

No SA sentences.  Every utterance has its own sentence (no sentence is read twice in the corpus
unless the text source runs out, which is reported), and the train, dev and core-test sentences
are disjoint.  Per speaker: ``SI<n>`` for the first three, ``SX<n>`` for the rest, ``<n>`` being
the sentence's number in the text source's (sorted, de-duplicated) sentence list.

Speakers
--------
A speaker is an espeak-ng voice: an English accent (dialect region) x a voice variant (timbre)
x pitch, pitch range and speaking rate (drawn per speaker; the rate varies a little per sentence).
Speaker id: sex + the variant's two-letter code + the accent's letter + a digit (the n-th speaker
with that variant and accent), e.g. ``MKAU0`` = male, variant ``klatt``, accent en-us, first.

Dialect regions (all eight in every split; speakers are spread evenly over them):

    DR1 en-us (U)            DR2 en-us-nyc (N)       DR3 en, British (B)   DR4 en-gb-x-rp (R)
    DR5 en-gb-scotland (S)   DR6 en-gb-x-gbclan (L)  DR7 en-gb-x-gbcwmd (W)  DR8 en-029 (C)

The voice variants (espeak-ng's ``!v/`` files) are split three ways, so **no variant is in more
than one split**: a test speaker never shares a timbre with a training speaker.  Variants with the
same formant table (e.g. iven2/3/4) count as one voice and stay together.  See ``VARIANTS``:

* dev (TEST, ``dev_spk.list``): belinda, linda (female); m4, benjamin, Gene, Gene2, shelby,
  travis (male)
* core test (TEST, ``core_test_spk.list``): Annie, aunty (female); m7, david, iven2, iven3,
  iven4, boris, quincy (male)
* train: every other variant in ``VARIANTS`` (6 female: f1, Andrea, grandma, steph, steph2,
  anika; 44 male).

Left out: variants with echo (f2, f3, f4, f5, m2, Alicia, Marco, pablo) or robot effects
(Demonic, RicishayMax*, robosoft*, UniRobot, anikaRobot, announcer), whispering or unvoiced ones
(whisper, whisperf, caleb), badly clipped ones (Jacky, iven, antonio, steph3, ed, paul), "fast"
(unstable) and "Mr serious" (a space in its name).  Echo fills the silences that locate the stop
closures (see below).

Speakers cycle through a block of 20: 16 train, 2 dev, 2 core test (dev at positions 1 and 11,
core at 3 and 13), and within a split every 10 speakers 3 are female (positions 2, 5, 8).

Phones
------
espeak-ng's phoneme events give each phoneme's first sample; a phoneme runs to the next one's
start.  Each espeak phoneme (its mnemonic, as ``espeak-ng -x`` prints it) becomes one or more
TIMIT-61 phones by ``PHONE_MAP`` (plus ``RHOTIC_MAP`` for the rhotic en-us voice).  The labels are
phonemic: they follow espeak's pronunciation of the word, not each accent's exact vowel quality
(West Midlands "aI" is still ``ay``).  Rules beyond the table:

* Pauses (``_``, ``_:``, ...) become ``pau``; the silence before the first and after the last
  speech sound is ``h#`` (each utterance is padded with 100-250 ms of silence at both ends, as
  TIMIT's recordings are).  Adjacent silences merge.
* Stops and affricates become closure + release (``bcl b``, ``tcl ch``, ...).  espeak emits a
  stop's closure silence *before* the stop's event (it marks the release), so the closure is
  taken from the end of the previous segment: from a pause/``h#``, its last 50 ms (at most half of
  it); from a speech sound, its silent tail (samples below 0.5% of the utterance's peak before the
  noise is added; at least 5 ms, and the sound keeps at least 30%).  Where there is no such
  silence (a voiced stop's voice bar is inside the stop's own segment), the stop's own segment is
  split at the burst: the first 4 ms frame between 30% and 90% of the segment that starts two
  frames in a row with RMS over 1.6 x the median of the segment's first 40%; without one, the
  closure is the first 60% (b d g jh: a voice bar) or 25% (p t k ch: after s, f, n ... espeak
  releases them almost at once).
* The flap ``t#`` is ``dx`` and the glottal stop ``?`` is ``q`` (no closure).
* One espeak phoneme giving two TIMIT phones that are not closure + release (``i@`` -> ``iy ax``,
  en-us ``A@`` -> ``aa r``) is split 60% / 40%; a final ``r`` is dropped when the next phoneme
  is an ``r``.
* espeak-ng folds a post-vocalic l (and an r after an r-coloured vowel) into the vowel: the l's
  event comes at the vowel's end, with no or very little audio of its own (< 15 ms).  Such an
  l or r gets the last 35% of the vowel + liquid span.
* Other phonemes of zero length (two events at the same sample) are dropped.
* An unknown mnemonic is logged and mapped through its longest known prefix (``e:`` -> ``e``...),
  else to ``ax`` (vowel-like) or ``hh``; ``synth_info.json`` counts them.

Times are computed at espeak's 22,050 Hz and converted to 16 kHz by ``round(t * 320 / 441)``, the
last boundary being the resampled length; segments that become empty are dropped, so the .PHN
segments always tile the audio exactly.

Words (.WRD): espeak-ng's word events (type 1) say where each word of the text starts in the
phoneme stream; a word spans its phones (the closure of a word-initial stop included), pauses
excluded.  When espeak speaks two words as one (``of a``), their phones are shared out in
proportion to the words' lengths, at phone boundaries (approximate).

Audio: espeak-ng output (22,050 Hz) resampled to 16 kHz (torchaudio's sinc resampler), scaled to a
per-speaker peak level (-9..-2 dBFS, +-1.5 dB per utterance), plus white noise at a per-speaker
level (-70..-55 dBFS) so that no sample is digital silence.

Determinism: the plan (speakers, sentences, settings) is a function of ``--seed`` and the text
source; the synthesis of each speaker runs in a fresh forked process (see
:func:`data_prep.espeak.run_isolated`), so the audio does not depend on ``--jobs`` or on what else
was synthesized.  The corpus is built speaker by speaker in plan order until ``--hours`` of audio
are reached (or exactly ``--speakers`` speakers).  The voice pool gives at most about 2,000
speakers (ids stop at digit 9), about 12 hours at 8 utterances per speaker.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from . import espeak

PROG = "data_prep.synth_timit"
SR_ESPEAK = 22050
SR = 16000
_UP, _DOWN = 320, 441  # 16000 / 22050 in lowest terms

# ---------------------------------------------------------------------------------------------
# voices

#: (espeak-ng voice, speaker-id letter, TIMIT dialect region number, description)
ACCENTS: list[tuple[str, str, int, str]] = [
    ("en-us", "U", 1, "American English (General American)"),
    ("en-us-nyc", "N", 2, "American English, New York City"),
    ("en", "B", 3, "British English"),
    ("en-gb-x-rp", "R", 4, "British English, Received Pronunciation"),
    ("en-gb-scotland", "S", 5, "Scottish English"),
    ("en-gb-x-gbclan", "L", 6, "British English, Lancaster"),
    ("en-gb-x-gbcwmd", "W", 7, "British English, West Midlands"),
    ("en-029", "C", 8, "Caribbean English"),
]
#: accents whose espeak phonemes A@, O@, e@, 3 ... carry an r colouring (IPA "ɑːɹ", "ɚ")
RHOTIC_ACCENTS = frozenset({"en-us"})

#: espeak-ng voice variant -> (sex, two-letter code, split).  Splits: train / dev / test (core).
VARIANTS: dict[str, tuple[str, str, str]] = {
    # female
    "f1": ("F", "FA", "train"), "Andrea": ("F", "AN", "train"), "grandma": ("F", "GM", "train"),
    "steph": ("F", "ST", "train"), "steph2": ("F", "SP", "train"), "anika": ("F", "AK", "train"),
    "belinda": ("F", "BE", "dev"), "linda": ("F", "LI", "dev"),
    "Annie": ("F", "AI", "test"), "aunty": ("F", "AU", "test"),
    # male
    "m1": ("M", "MA", "train"), "m3": ("M", "MC", "train"), "m5": ("M", "ME", "train"),
    "m6": ("M", "MF", "train"), "m8": ("M", "MH", "train"), "Nguyen": ("M", "NG", "train"),
    "klatt": ("M", "KA", "train"), "klatt2": ("M", "KB", "train"), "klatt3": ("M", "KC", "train"),
    "klatt4": ("M", "KD", "train"), "klatt5": ("M", "KE", "train"), "klatt6": ("M", "KF", "train"),
    "adam": ("M", "AD", "train"), "edward": ("M", "ED", "train"), "edward2": ("M", "EW", "train"),
    "Alex": ("M", "AL", "train"), "Andy": ("M", "AY", "train"), "AnxiousAndy": ("M", "AX", "train"),
    "Denis": ("M", "DE", "train"), "Storm": ("M", "SM", "train"), "victor": ("M", "VI", "train"),
    "Diogo": ("M", "DI", "train"), "Henrique": ("M", "HE", "train"), "Hugo": ("M", "HU", "train"),
    "miguel": ("M", "MI", "train"), "michel": ("M", "MY", "train"), "Lee": ("M", "LE", "train"),
    "Mario": ("M", "MR", "train"), "Michael": ("M", "MK", "train"), "Mike": ("M", "MZ", "train"),
    "Tweaky": ("M", "TW", "train"), "croak": ("M", "CR", "train"), "gustave": ("M", "GU", "train"),
    "john": ("M", "JO", "train"), "kaukovalta": ("M", "KV", "train"), "marcelo": ("M", "MO", "train"),
    "max": ("M", "MX", "train"), "norbert": ("M", "NO", "train"), "pedro": ("M", "PE", "train"),
    "rob": ("M", "RO", "train"), "robert": ("M", "RT", "train"), "sandro": ("M", "SA", "train"),
    "zac": ("M", "ZA", "train"), "grandpa": ("M", "GP", "train"),
    "m4": ("M", "MD", "dev"), "benjamin": ("M", "BJ", "dev"), "Gene": ("M", "GE", "dev"),
    "Gene2": ("M", "GN", "dev"), "shelby": ("M", "SH", "dev"), "travis": ("M", "TR", "dev"),
    "m7": ("M", "MG", "test"), "david": ("M", "DV", "test"), "iven2": ("M", "IB", "test"),
    "iven3": ("M", "IC", "test"), "iven4": ("M", "ID", "test"), "boris": ("M", "BO", "test"),
    "quincy": ("M", "QU", "test"),
}
SPLITS = ("train", "dev", "test")
#: split of the k-th speaker: position k % 20 in this block
SPLIT_BLOCK = tuple("dev" if i in (1, 11) else "test" if i in (3, 13) else "train" for i in range(20))
#: within a split, the j-th speaker is female when j % 10 is one of these
FEMALE_SLOTS = (2, 5, 8)
N_SI = 3  # per speaker, the first N_SI utterances are "SI", the rest "SX"

# per-speaker settings (uniform ranges)
PITCH = (35, 65)          # espeak pitch, 0-100 (50 = the variant's own)
PITCH_RANGE = (30, 80)    # espeak pitch range, 0-100
RATE = (150, 195)         # words per minute
RATE_JITTER = 6           # +- per utterance
LEVEL_DB = (-9.0, -2.0)   # peak level, dBFS
LEVEL_JITTER_DB = 1.5     # +- per utterance
NOISE_DB = (-70.0, -55.0)  # white noise level (standard deviation), dBFS
PAD_S = (0.10, 0.25)      # silence added before and after each utterance, seconds

# ---------------------------------------------------------------------------------------------
# phones

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
#: share of the first phone when one espeak phoneme gives two (not closure + release)
SPLIT_FIRST = 0.6
#: closure share of a stop's own segment when no silence precedes it and no burst is found:
#: voiced stops (a voice bar, then the burst), voiceless ones (the burst comes almost at once)
CLOSURE_FRACTION = 0.6
CLOSURE_FRACTION_VOICELESS = 0.25
VOICED_CLOSURES = frozenset({"bcl", "dcl", "gcl"})
BURST_FRAME = 88  # 4 ms at 22,050 Hz
BURST_RISE = 1.6
#: closure taken from a preceding pause: at most this long, and at most half the pause
CLOSURE_FROM_PAUSE_S = 0.050
#: a silent tail counts as a closure from this length on; the previous sound keeps this share
MIN_CLOSURE_S = 0.005
KEEP_PREVIOUS = 0.3
#: "silent": |sample| <= this share of the utterance's peak (espeak's own silence is exactly 0)
QUIET_REL = 0.005
#: an l or r shorter than this after a vowel was folded into the vowel by espeak: it gets the last
#: LIQUID_SHARE of the vowel + liquid span
SHORT_LIQUID_S = 0.015
LIQUID_SHARE = 0.35
VOWELS = frozenset("aa ae ah ao aw ax ax-h axr ay eh er ey ih ix iy ow oy uh uw ux".split())

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


# ---------------------------------------------------------------------------------------------
# sentences

WORDNET_DIR = Path("/usr/share/wordnet")
FORTUNES_DIR = Path("/usr/share/games/fortunes")
MIN_WORDS, MAX_WORDS = 5, 15
#: WordNet glosses marking a sense as offensive: their example sentences are skipped
_OFFENSIVE = ("offensive", "slur", "vulgar", "obscene", "derogatory", "disparaging", "pejorative",
              "insulting", "abusive")

BUILTIN_SENTENCES = [
    "The old ferry crossed the river twice every morning.",
    "Please carry the heavy boxes up to the attic.",
    "A gentle breeze moved the curtains in the kitchen.",
    "My brother keeps his bicycle chained to the fence.",
    "The children painted bright pictures of ships and whales.",
    "We waited an hour for the bus to arrive.",
    "She found a silver coin buried in the garden.",
    "The baker sells fresh bread before the sun rises.",
    "Heavy rain flooded the narrow streets of the village.",
    "He plays the violin in a small orchestra downtown.",
    "The museum closes early on the first Monday of the month.",
    "Our neighbors planted tomatoes and beans along the wall.",
    "The pilot announced that the weather ahead looked calm.",
    "A yellow dog chased the ball across the wet grass.",
    "Thick fog rolled over the hills after midnight.",
    "The teacher asked everyone to read the chapter again.",
    "Grandmother keeps her letters in a wooden chest.",
    "They repaired the roof before the winter storms began.",
    "The market was crowded with farmers and curious visitors.",
    "Turn left at the church and follow the stone bridge.",
    "The kettle whistled while we talked about the journey.",
    "Several geese flew south over the frozen lake.",
    "I could not remember where I had parked the car.",
    "The engineer checked each valve with great care.",
    "A quiet library is the best place to study.",
    "The singer thanked the audience and bowed deeply.",
    "We packed sandwiches, apples, and water for the hike.",
    "The clock in the hallway stopped at half past four.",
    "Fresh snow covered the fields and the sleeping town.",
    "His jacket was torn during the long climb.",
    "The committee will announce its decision next week.",
    "Sunlight poured through the dusty window of the barn.",
    "She measured the flour carefully and stirred the dough.",
    "The fisherman mended his nets on the quiet shore.",
    "Nobody expected the little team to win the final game.",
    "The doctor advised him to rest for a few days.",
    "Bright lanterns hung along the path to the lake.",
    "The students gathered around the map to plan their route.",
    "A sudden thunderstorm forced the players off the field.",
    "The train slowed down as it approached the station.",
    "Mother hung the washing out to dry in the yard.",
    "The mechanic found a small crack in the engine.",
    "Wild flowers grow along the edge of the old road.",
    "The captain ordered the crew to lower the sails.",
    "We listened to the radio while the soup cooked.",
    "The puppy slept peacefully beside the warm fireplace.",
    "He wrote a long letter to his cousin in the city.",
    "The gardener trimmed the hedges and swept the path.",
    "Dark clouds gathered quickly over the distant mountains.",
    "The shop on the corner sells maps and postcards.",
    "Our guide pointed out the ruins of an ancient castle.",
    "The orchestra rehearsed the difficult passage many times.",
    "A tall ladder leaned against the side of the house.",
    "The judge listened carefully to both sides of the argument.",
    "Cold water dripped slowly from the broken pipe.",
    "The young artist sketched the bridge at sunset.",
    "Everyone cheered when the boat finally reached the harbor.",
    "The farmer drove his tractor through the muddy field.",
    "She bought a new umbrella after losing the old one.",
    "The lighthouse guided ships safely past the rocks.",
]

_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*'?")
_TOKEN_OK = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*'?[,.?!]?")


def normalize_sentence(text: str) -> str | None:
    """Plain words with light punctuation (``, . ? !``), capitalised, ending in ``.?!``; None when
    the text has digits, symbols, quotes or brackets, or is not 5-15 words long."""
    s = text.strip().replace("\u2019", "'").replace("`", "'")
    s = re.sub(r"\s*--+\s*|\s+-\s+", ", ", s)  # dashes as pauses
    s = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", " ", s)  # hyphenated words
    s = re.sub(r"\s*[;:]\s*", ", ", s)
    s = re.sub(r"\s+", " ", s).strip(" ,")
    if not s or re.search(r"[^A-Za-z' ,.?!]", s):
        return None
    s = re.sub(r"\s+([,.?!])", r"\1", s)
    s = re.sub(r"([,.?!])[,.?!]+", r"\1", s)
    tokens = s.split()
    if not all(_TOKEN_OK.fullmatch(t) for t in tokens):
        return None
    if any(re.search(r"[.?!]$", t) for t in tokens[:-1]):  # one sentence only
        return None
    words = _WORD_RE.findall(s)
    if not (MIN_WORDS <= len(words) <= MAX_WORDS):
        return None
    if any(len(w) > 1 and w.isupper() for w in words):  # acronyms get spelled out
        return None
    s = s.rstrip(",")
    if s[-1] not in ".?!":
        s += "."
    return s[0].upper() + s[1:]


def wordnet_sentences(root: Path = WORDNET_DIR) -> list[str]:
    """WordNet's quoted example sentences (``data.noun`` ...), offensive senses skipped."""
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        path = Path(root) / f"data.{pos}"
        if not path.is_file():
            continue
        with open(path, encoding="latin-1") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                gloss = line.split("|", 1)[1]
                low = gloss.lower()
                if any(w in low for w in _OFFENSIVE):
                    continue
                out.extend(re.findall(r'"([^"]+)"', gloss))
    return out


def fortune_sentences(root: Path = FORTUNES_DIR) -> list[str]:
    """Sentences of the fortune cookies (Debian ``fortunes``), attributions dropped."""
    out = []
    root = Path(root)
    if not root.is_dir():
        return out
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.suffix or path.is_symlink():
            continue
        try:
            data = path.read_text(encoding="latin-1")
        except OSError:
            continue
        for entry in data.split("\n%\n"):
            lines = [ln for ln in entry.splitlines() if not ln.strip().startswith("--")]
            text = " ".join(ln.strip() for ln in lines)
            out.extend(re.split(r"(?<=[.?!])\s+", text))
    return out


def load_sentences(source: str = "auto") -> tuple[str, list[str]]:
    """``(source used, sentences)``: normalised, de-duplicated (case-insensitively), sorted."""
    sources = {"wordnet": wordnet_sentences, "fortunes": fortune_sentences,
               "builtin": lambda: list(BUILTIN_SENTENCES)}
    order = ["wordnet", "fortunes", "builtin"] if source == "auto" else [source]
    for name in order:
        if name not in sources:
            raise ValueError(f"unknown text source {name!r} (auto, wordnet, fortunes, builtin)")
        seen: dict[str, str] = {}
        for raw in sources[name]():
            s = normalize_sentence(raw)
            if s is not None:
                seen.setdefault(s.lower(), s)
        if seen:
            return name, sorted(seen.values())
        if source != "auto":
            hint = {"wordnet": "apt-get install wordnet-base", "fortunes": "apt-get install fortunes"}
            raise FileNotFoundError(f"text source {name!r} has no usable sentences"
                                    + (f" (install it with: {hint[name]})" if name in hint else ""))
    raise FileNotFoundError("no sentences")  # pragma: no cover - builtin always has some


# ---------------------------------------------------------------------------------------------
# the plan: speakers, their settings and sentences (a function of the seed and the sentences)

@dataclass
class UttPlan:
    name: str        # "SI1234"
    text: str
    rate: int
    lead: int        # silence added before, samples at 22,050 Hz
    trail: int       # ... and after
    level_db: float  # peak level
    seed: int


@dataclass
class SpeakerPlan:
    index: int       # position in the plan
    id: str          # "MKAU0"
    split: str       # train | dev | test
    dialect: int     # 1..8
    accent: str      # espeak voice ("en-us")
    variant: str     # espeak variant ("klatt")
    sex: str
    pitch: int
    pitch_range: int
    rate: int
    noise_db: float
    utts: list[UttPlan] = field(default_factory=list)

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"

    @property
    def part(self) -> str:
        return "TRAIN" if self.split == "train" else "TEST"


class _SentencePools:
    """Disjoint train / dev / test sentence pools drawn in order (cycling, with a warning, when
    one runs out)."""

    def __init__(self, sentences: list[str], seed: int, per_speaker: int):
        order = list(range(len(sentences)))
        random.Random(f"synth_timit:{seed}:sentences").shuffle(order)
        self.sentences = sentences
        n = len(order)
        if n >= 10 * max(per_speaker, 1) * 3:  # big source: 80 / 10 / 10 by position
            pools = {"train": [i for k, i in enumerate(order) if k % 10 < 8],
                     "dev": [i for k, i in enumerate(order) if k % 10 == 8],
                     "test": [i for k, i in enumerate(order) if k % 10 == 9]}
        else:  # small source: one speaker's worth for dev and test, the rest for train
            if n < 3 * per_speaker:
                raise ValueError(f"{n} sentences are too few for {per_speaker} different sentences "
                                 f"per speaker in three disjoint splits")
            pools = {"dev": order[:per_speaker], "test": order[per_speaker:2 * per_speaker],
                     "train": order[2 * per_speaker:]}
        self.pools = pools
        self.cursor = {s: 0 for s in SPLITS}
        self.cycled: set[str] = set()

    def draw(self, split: str, avoid: set[int]) -> int:
        pool = self.pools[split]
        for _ in range(len(pool)):
            i = pool[self.cursor[split] % len(pool)]
            self.cursor[split] += 1
            if self.cursor[split] > len(pool):
                self.cycled.add(split)
            if i not in avoid:
                return i
        raise ValueError(f"{split}: not enough sentences")  # pragma: no cover - checked above


def _combos(seed: int, split: str, sex: str) -> list[tuple[str, str]]:
    """(variant, accent) pairs of a split and sex, in a seeded order that spreads both evenly."""
    variants = sorted(v for v, (s, _, sp) in VARIANTS.items() if sp == split and s == sex)
    accents = [a[0] for a in ACCENTS]
    rng = random.Random(f"synth_timit:{seed}:voices:{split}:{sex}")
    rng.shuffle(variants)
    acc = list(accents)
    rng.shuffle(acc)
    # a Latin-square walk: consecutive speakers differ in variant and accent
    out = []
    for r in range(len(accents)):
        for i, v in enumerate(variants):
            out.append((v, acc[(i + r) % len(acc)]))
    return out


def plan_speakers(n: int, seed: int, sentences: list[str], utts_per_speaker: int = 8
                  ) -> tuple[list[SpeakerPlan], set[str]]:
    """The first ``n`` speakers of the plan for ``seed`` (a prefix of the plan for any larger n),
    and the splits whose sentence pool had to be reused."""
    if utts_per_speaker < 1:
        raise ValueError("utts_per_speaker must be >= 1")
    pools = _SentencePools(sentences, seed, utts_per_speaker)
    accent_info = {a[0]: a for a in ACCENTS}
    split_count: Counter = Counter()
    sex_count: Counter = Counter()
    combos: dict[tuple[str, str], list[tuple[str, str]]] = {}
    plans = []
    for k in range(n):
        split = SPLIT_BLOCK[k % len(SPLIT_BLOCK)]
        j = split_count[split]
        split_count[split] += 1
        sex = "F" if j % 10 in FEMALE_SLOTS else "M"
        key = (split, sex)
        if key not in combos:
            combos[key] = _combos(seed, split, sex)
        jj = sex_count[key]
        sex_count[key] += 1
        variant, accent = combos[key][jj % len(combos[key])]
        digit = jj // len(combos[key])
        if digit > 9:
            raise ValueError(f"too many {split} speakers: the voice pool gives at most "
                             f"{10 * len(combos[key])} {'fe' if sex == 'F' else ''}male ones")
        _, code, _ = VARIANTS[variant]
        _, letter, dialect, _ = accent_info[accent]
        rng = random.Random(f"synth_timit:{seed}:speaker:{k}")
        sp = SpeakerPlan(index=k, id=f"{sex}{code}{letter}{digit}", split=split, dialect=dialect,
                         accent=accent, variant=variant, sex=sex,
                         pitch=rng.randint(*PITCH), pitch_range=rng.randint(*PITCH_RANGE),
                         rate=rng.randint(*RATE), noise_db=round(rng.uniform(*NOISE_DB), 2))
        level = rng.uniform(*LEVEL_DB)
        used: set[int] = set()
        for u in range(utts_per_speaker):
            i = pools.draw(split, used)
            used.add(i)
            kind = "SI" if u < N_SI else "SX"
            sp.utts.append(UttPlan(
                name=f"{kind}{i + 1}", text=sentences[i],
                rate=sp.rate + rng.randint(-RATE_JITTER, RATE_JITTER),
                lead=int(rng.uniform(*PAD_S) * SR_ESPEAK), trail=int(rng.uniform(*PAD_S) * SR_ESPEAK),
                level_db=round(level + rng.uniform(-LEVEL_JITTER_DB, LEVEL_JITTER_DB), 2),
                seed=rng.getrandbits(32)))
        plans.append(sp)
    return plans, pools.cycled


# ---------------------------------------------------------------------------------------------
# segmentation: espeak phoneme events -> TIMIT-61 segments

@dataclass
class _Item:
    start: int
    end: int
    labels: tuple[str, ...]
    word: int | None  # index of the espeak word event
    name: str = ""


def _quiet_tail(x: np.ndarray, lo: int, hi: int, thr: float) -> int:
    """Length of the run of samples with |x| <= thr that ends at hi (not reaching below lo)."""
    if hi <= lo:
        return 0
    loud = np.flatnonzero(np.abs(x[lo:hi].astype(np.int32)) > thr)
    return hi - lo if loud.size == 0 else hi - (lo + int(loud[-1]) + 1)


def _burst_onset(x: np.ndarray, s: int, e: int) -> int | None:
    """Where a stop's release starts inside its own segment [s, e) (closure voicing first): the
    first 4 ms frame, between 30% and 90% of the segment, that starts two frames in a row louder
    than BURST_RISE x the median of the segment's first 40%; None when there is none."""
    f = BURST_FRAME
    nf = (e - s) // f
    if nf < 6:
        return None
    frames = x[s:s + nf * f].astype(np.float64).reshape(nf, f)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    base = max(float(np.median(rms[:max(1, int(0.4 * nf))])), 1.0)
    loud = rms > BURST_RISE * base
    for i in range(int(math.ceil(0.3 * nf)), min(int(0.9 * nf), nf - 1)):
        if loud[i] and loud[i + 1]:
            return s + i * f
    return None


def timit_segments(x: np.ndarray, phonemes: list[tuple[str, int]], word_of: list[int | None],
                   accent: str, stats: Counter | None = None) -> list[tuple[int, int, str, int | None]]:
    """TIMIT-61 segments ``(start, end, phone, word event index or None)`` tiling ``[0, len(x))``.

    ``x``: the audio (int16, any padding included); ``phonemes``: espeak's ``(mnemonic, start)``
    events in the same sample positions; ``word_of``: the word event each phoneme belongs to."""
    stats = stats if stats is not None else Counter()
    n = len(x)
    peak = float(np.abs(x.astype(np.int32)).max()) if n else 0.0
    thr = QUIET_REL * peak
    min_closure = int(round(MIN_CLOSURE_S * SR_ESPEAK))
    from_pause = int(round(CLOSURE_FROM_PAUSE_S * SR_ESPEAK))

    # raw spans: each event to the next one; the stretch before the first event is silence
    items: list[_Item] = []
    prev = 0
    starts = []
    for name, s in phonemes:
        s = min(max(int(s), prev), n)  # monotone, inside the audio
        starts.append(s)
        prev = s
    if not starts or starts[0] > 0:
        items.append(_Item(0, starts[0] if starts else n, ("pau",), None, "_"))
    for i, (name, _) in enumerate(phonemes):
        s = starts[i]
        e = starts[i + 1] if i + 1 < len(starts) else n
        stats[f"espeak {name}"] += 1
        labels = map_phoneme(name, accent, stats)
        items.append(_Item(s, e, labels, None if labels == ("pau",) else word_of[i], name))

    # an r-coloured vowel before an r keeps only its vowel
    for a, b in zip(items, items[1:]):
        if len(a.labels) == 2 and a.labels[1] == "r" and b.labels[0] == "r":
            a.labels = a.labels[:1]
    # a post-vocalic l or r that espeak folded into the vowel takes the vowel's last part
    short = int(round(SHORT_LIQUID_S * SR_ESPEAK))
    for a, b in zip(items, items[1:]):
        if (b.labels in (("l",), ("r",)) and b.end - b.start < short and len(a.labels) == 1
                and a.labels[0] in VOWELS and a.end == b.start):
            cut = a.start + int(round((1 - LIQUID_SHARE) * (b.end - a.start)))
            if a.start < cut < b.start:
                a.end = b.start = cut
                stats["liquid: from the vowel before"] += 1
    # drop empty spans; adjacent pauses become one
    kept: list[_Item] = []
    for it in items:
        if it.end <= it.start:
            if it.labels != ("pau",):
                stats["dropped: zero-length espeak phoneme"] += 1
            continue
        if kept and it.labels == ("pau",) and kept[-1].labels == ("pau",):
            kept[-1].end = it.end
            continue
        kept.append(it)
    items = kept

    segs: list[list] = []  # [start, end, phone, word]
    for it in items:
        s, e, labels = it.start, it.end, it.labels
        if len(labels) == 2 and labels[0] in CLOSURES:
            closure, release = labels
            cut = None  # where the closure starts (before s) if taken from the previous segment
            if segs:
                p = segs[-1]
                plen = p[1] - p[0]
                if p[2] in SILENCES:
                    cl = min(from_pause, plen // 2)
                    if cl >= 1:
                        cut = s - cl
                        stats["closure: from pause"] += 1
                else:
                    q = _quiet_tail(x, p[0] + int(math.ceil(KEEP_PREVIOUS * plen)), s, thr)
                    if q >= min_closure:
                        cut = s - q
                        stats["closure: silent tail"] += 1
            if cut is not None:
                segs[-1][1] = cut
                segs.append([cut, s, closure, it.word])
                segs.append([s, e, release, it.word])
            elif e - s >= 2:
                m = _burst_onset(x, s, e)
                if m is None:
                    frac = CLOSURE_FRACTION if closure in VOICED_CLOSURES else CLOSURE_FRACTION_VOICELESS
                    m = s + int(round(frac * (e - s)))
                    stats["closure: own segment, fixed split"] += 1
                else:
                    stats["closure: own segment, at the burst"] += 1
                m = max(s + 1, min(e - 1, m))
                segs.append([s, m, closure, it.word])
                segs.append([m, e, release, it.word])
            else:
                segs.append([s, e, release, it.word])
                stats["closure: none (1 sample)"] += 1
        elif len(labels) >= 2 and e - s >= len(labels):
            w = [SPLIT_FIRST] + [(1 - SPLIT_FIRST) / (len(labels) - 1)] * (len(labels) - 1)
            bounds = [s] + [s + int(round(sum(w[:k + 1]) * (e - s))) for k in range(len(labels) - 1)] + [e]
            for k, lab in enumerate(labels):
                if bounds[k + 1] > bounds[k]:
                    segs.append([bounds[k], bounds[k + 1], lab, it.word])
        else:
            segs.append([s, e, labels[0], it.word])

    segs = [sg for sg in segs if sg[1] > sg[0]]
    # silences at the edges are h#
    speech = [i for i, sg in enumerate(segs) if sg[2] not in SILENCES]
    for i, sg in enumerate(segs):
        if sg[2] in SILENCES:
            sg[3] = None
            if not speech or i < speech[0] or i > speech[-1]:
                sg[2] = "h#"
    return [tuple(sg) for sg in _merge_silences(segs)]


def _merge_silences(segs: list[list]) -> list[list]:
    out: list[list] = []
    for sg in segs:
        if out and sg[2] in SILENCES and out[-1][2] == sg[2] and out[-1][1] == sg[0]:
            out[-1][1] = sg[1]
        else:
            out.append(list(sg))
    return out


def to_16k(pos: int) -> int:
    """A 22,050 Hz sample position at 16 kHz: round(pos * 320 / 441), halves up."""
    return (2 * pos * _UP + _DOWN) // (2 * _DOWN)


def convert_segments(segs: list[tuple[int, int, str, int | None]], n16: int
                     ) -> list[tuple[int, int, str, int | None]]:
    """22,050 Hz segments tiling [0, n22) -> 16 kHz segments tiling [0, n16) exactly."""
    out = []
    for i, (s, e, lab, w) in enumerate(segs):
        s2 = 0 if i == 0 else min(to_16k(s), n16)
        e2 = n16 if i == len(segs) - 1 else min(to_16k(e), n16)
        if e2 > s2:
            out.append([s2, e2, lab, w])
    return [tuple(sg) for sg in _merge_silences(out)]


def word_segments(text: str, segs: list[tuple[int, int, str, int | None]], words: list,
                  stats: Counter | None = None) -> list[tuple[int, int, str]]:
    """.WRD entries ``(start, end, word)`` for the words of ``text``.

    ``segs`` carry the index of the espeak word event each phone came from; ``words`` are the
    word events (:class:`data_prep.espeak.WordEvent`, text positions 0-based)."""
    stats = stats if stats is not None else Counter()
    tokens = [(m.start(), m.end(), m.group(0).lower()) for m in _WORD_RE.finditer(text)]
    if not tokens:
        return []
    # word event -> token
    ev_tok: dict[int, int] = {}
    for k, w in enumerate(words):
        pos = w.text_position
        t = next((i for i, (a, b, _) in enumerate(tokens) if a <= pos < b), None)
        if t is None:
            t = next((i for i, (a, _, _) in enumerate(tokens) if a >= pos), len(tokens) - 1)
        ev_tok[k] = t
    # token -> its phone segments (indices into segs)
    tok_segs: dict[int, list[int]] = {}
    for i, (_, _, lab, w) in enumerate(segs):
        if w is None or lab in SILENCES:
            continue
        tok_segs.setdefault(ev_tok.get(w, 0), []).append(i)
    # tokens without phones of their own share those of the previous token that has some
    groups: list[list[int]] = []
    for t in range(len(tokens)):
        if t in tok_segs or not groups:
            groups.append([t])
        else:
            groups[-1].append(t)
    out = []
    for g in groups:
        owner = next((t for t in g if t in tok_segs), None)
        if owner is None:
            stats["words: no phones"] += len(g)
            continue
        idx = sorted(tok_segs[owner])
        if len(g) == 1:
            out.append((segs[idx[0]][0], segs[idx[-1]][1], tokens[g[0]][2]))
            continue
        stats["words: shared phones (approximate)"] += len(g)
        letters = [len(tokens[t][2]) for t in g]
        total = sum(letters)
        cuts = [0]
        acc = 0
        for L in letters[:-1]:
            acc += L
            c = int(round(acc / total * len(idx)))
            cuts.append(min(max(c, cuts[-1] + 1 if cuts[-1] < len(idx) - 1 else cuts[-1]), len(idx)))
        cuts.append(len(idx))
        for t, a, b in zip(g, cuts, cuts[1:]):
            if b > a:
                out.append((segs[idx[a]][0], segs[idx[b - 1]][1], tokens[t][2]))
            else:
                stats["words: no phones"] += 1
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# synthesis of one speaker (runs in a forked child, see espeak.run_isolated)

@dataclass
class UttResult:
    name: str
    text: str
    audio: np.ndarray                      # int16, 16 kHz
    phn: list[tuple[int, int, str]]
    wrd: list[tuple[int, int, str]]


def _resample(x: np.ndarray) -> np.ndarray:
    import torch
    import torchaudio.functional as AF

    torch.set_num_threads(1)
    y = AF.resample(torch.from_numpy(x.astype(np.float32) / 32768.0), SR_ESPEAK, SR)
    return y.numpy().astype(np.float64)


def synth_utterance(sp: SpeakerPlan, up: UttPlan, stats: Counter) -> UttResult:
    """Synthesize one planned utterance: 16 kHz audio, its TIMIT-61 segments and words."""
    syn = espeak.synthesize_events(up.text, sp.voice, rate=up.rate, pitch=sp.pitch,
                                   range_=sp.pitch_range, seed=up.seed)
    x = np.concatenate([np.zeros(up.lead, np.int16), syn.samples, np.zeros(up.trail, np.int16)])
    phonemes = [(name, s + up.lead) for name, s in syn.phonemes]
    word_of: list[int | None] = []
    k = -1
    for i in range(len(phonemes)):
        while k + 1 < len(syn.words) and syn.words[k + 1].phoneme_index <= i:
            k += 1
        word_of.append(k if k >= 0 else None)
    segs22 = timit_segments(x, phonemes, word_of, sp.accent, stats)

    y = _resample(x)
    n16 = len(y)
    segs = convert_segments(segs22, n16)
    wrd = word_segments(up.text, segs, syn.words, stats)
    peak = float(np.abs(y).max()) or 1.0
    y *= 10.0 ** (up.level_db / 20.0) / peak
    rng = np.random.default_rng(up.seed)
    y += rng.standard_normal(n16) * 10.0 ** (sp.noise_db / 20.0)
    audio = np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)
    phn = [(s, e, lab) for s, e, lab, _ in segs]
    check_tiling(phn, n16, f"{sp.id}/{up.name}")
    return UttResult(up.name, up.text, audio, phn, wrd)


def check_tiling(phn: list[tuple[int, int, str]], n: int, what: str = "") -> None:
    """Raise ValueError unless the segments tile [0, n) exactly with TIMIT-61 phones."""
    if not phn or phn[0][0] != 0 or phn[-1][1] != n:
        raise ValueError(f"{what}: segments do not cover [0, {n})")
    for (s, e, lab), nxt in zip(phn, phn[1:] + [(n, n, "")]):
        if not (s < e == nxt[0]):
            raise ValueError(f"{what}: segment {s} {e} {lab} is empty or not contiguous")
        if lab not in TIMIT61:
            raise ValueError(f"{what}: {lab!r} is not a TIMIT-61 phone")


def _synth_speaker_child(sp: SpeakerPlan) -> tuple[list[UttResult], Counter]:
    stats: Counter = Counter()
    return [synth_utterance(sp, up, stats) for up in sp.utts], stats


def _prepare_parent() -> None:
    """Load what the children need (espeak-ng initialised, torchaudio imported) once, here."""
    espeak.engine()
    import torchaudio.functional  # noqa: F401  (imported before forking, not in every child)


def synth_speaker(sp: SpeakerPlan) -> tuple[SpeakerPlan, list[UttResult], Counter]:
    """All utterances of a speaker, synthesized in a fresh forked child (reproducible)."""
    _prepare_parent()
    results, stats = espeak.run_isolated(_synth_speaker_child, sp)
    return sp, results, stats


def _worker_init() -> None:
    _prepare_parent()


# ---------------------------------------------------------------------------------------------
# writing

def write_utterance(spk_dir: Path, r: UttResult) -> None:
    spk_dir.mkdir(parents=True, exist_ok=True)
    base = spk_dir / r.name
    sf.write(str(base) + ".WAV", r.audio, SR, format="NIST", subtype="PCM_16")
    with open(str(base) + ".PHN", "w", encoding="ascii", newline="\n") as f:
        f.writelines(f"{s} {e} {lab}\n" for s, e, lab in r.phn)
    with open(str(base) + ".WRD", "w", encoding="ascii", newline="\n") as f:
        f.writelines(f"{s} {e} {w}\n" for s, e, w in r.wrd)
    with open(str(base) + ".TXT", "w", encoding="ascii", newline="\n") as f:
        f.write(f"0 {len(r.audio)} {r.text}\n")


def _speaker_dir(out: Path, sp: SpeakerPlan) -> Path:
    return out / sp.part / f"DR{sp.dialect}" / sp.id


def build_corpus(out: str | Path, hours: float = 3.2, seed: int = 0, jobs: int = 2,
                 speakers: int | None = None, utts_per_speaker: int = 8, text: str = "auto",
                 progress: bool = True) -> dict:
    """Write the corpus to ``out``; returns a summary (also written to ``synth_info.json``).

    Builds speakers in plan order until ``hours`` of audio are written, or exactly ``speakers``
    speakers when that is given.  Raises :class:`data_prep.espeak.EspeakNotFound` without
    espeak-ng, FileExistsError when ``out`` already holds a TRAIN or TEST folder."""
    out = Path(out)
    for part in ("TRAIN", "TEST"):
        if (out / part).exists():
            raise FileExistsError(f"{out / part} exists: remove it or choose another --out")
    espeak.engine()  # fail early, with the install hint
    t0 = time.time()
    source, sentences = load_sentences(text)
    if speakers is not None:
        n_plan = speakers
    else:
        # generous bound (>= 1 s per utterance); the build stops at the hours target
        n_plan = max(1, int(math.ceil(hours * 3600 / (1.0 * utts_per_speaker))))
    try:
        plans, cycled = plan_speakers(n_plan, seed, sentences, utts_per_speaker)
    except ValueError:
        if speakers is not None:
            raise
        plans, cycled = _plan_as_many(n_plan, seed, sentences, utts_per_speaker)
    target_s = None if speakers is not None else hours * 3600.0

    from tqdm import tqdm

    bar = tqdm(total=round(target_s) if target_s else len(plans) * utts_per_speaker,
               unit="s" if target_s else "utt", desc="synth_timit audio" if target_s else "synth_timit",
               disable=not progress,
               dynamic_ncols=True, smoothing=0.1)
    stats: Counter = Counter()
    written: list[tuple[SpeakerPlan, float]] = []
    total_s = 0.0
    n_utts = 0

    def consume(results_iter) -> None:
        nonlocal total_s, n_utts
        for sp, results, st in results_iter:
            stats.update(st)
            dur = 0.0
            spk_dir = _speaker_dir(out, sp)
            for r in results:
                write_utterance(spk_dir, r)
                dur += len(r.audio) / SR
            n_utts += len(results)
            total_s += dur
            written.append((sp, dur))
            done = min(int(total_s), bar.total) if target_s else n_utts
            bar.update(done - bar.n)
            if target_s is not None and total_s >= target_s:
                return

    try:
        # always worker processes, started fresh ("spawn"): they fork one child per speaker, which
        # is only safe from a process that has not started threads (torch, tqdm) of its own
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(max(1, jobs), initializer=_worker_init) as pool:
            consume(pool.imap(synth_speaker, plans, chunksize=1))
    finally:
        bar.close()

    if target_s is not None and total_s < target_s:
        print(f"{PROG}: warning: the plan ran out at {total_s / 3600:.2f} h "
              f"(< {hours} h); a larger target needs more voices", file=sys.stderr)
    elapsed = time.time() - t0
    summary = _write_meta(out, written, stats, dict(
        seed=seed, hours_target=hours if speakers is None else None, speakers_requested=speakers,
        utts_per_speaker=utts_per_speaker, text_source=source, n_sentences=len(sentences),
        sentences_reused_in=sorted(cycled & {sp.split for sp, _ in written}),
        jobs=jobs, build_seconds=round(elapsed, 1), n_utterances=n_utts,
        audio_hours=round(total_s / 3600, 4)))
    _report(summary, elapsed)
    return summary


def _plan_as_many(n: int, seed: int, sentences: list[str], utts: int):
    lo, hi = 1, n
    while lo < hi:  # the largest plan the voice pool allows
        mid = (lo + hi + 1) // 2
        try:
            plan_speakers(mid, seed, sentences, utts)
            lo = mid
        except ValueError:
            hi = mid - 1
    return plan_speakers(lo, seed, sentences, utts)


def _write_meta(out: Path, written: list[tuple[SpeakerPlan, float]], stats: Counter, info: dict) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    by_split = {s: sorted(sp.id.lower() for sp, _ in written if sp.split == s) for s in SPLITS}
    header = "# {} speakers of the synthetic TIMIT ({}), generated by data_prep.synth_timit\n"
    for name, split in (("dev_spk.list", "dev"), ("core_test_spk.list", "test")):
        (out / name).write_text(header.format("dev" if split == "dev" else "core test", "TEST")
                                + "".join(f"{s}\n" for s in by_split[split]))
    cols = ["id", "split", "part", "dialect", "accent", "variant", "voice", "sex", "pitch",
            "pitch_range", "rate", "noise_db", "utterances", "seconds"]
    rows = ["\t".join(cols)]
    for sp, dur in sorted(written, key=lambda t: t[0].index):
        rows.append("\t".join(str(v) for v in (sp.id, sp.split, sp.part, f"DR{sp.dialect}", sp.accent,
                                               sp.variant, sp.voice, sp.sex, sp.pitch, sp.pitch_range,
                                               sp.rate, sp.noise_db, len(sp.utts), round(dur, 3))))
    (out / "speakers.tsv").write_text("\n".join(rows) + "\n")
    splits = {}
    for s in SPLITS:
        sps = [(sp, d) for sp, d in written if sp.split == s]
        splits[s] = dict(speakers=len(sps), utterances=sum(len(sp.utts) for sp, _ in sps),
                         hours=round(sum(d for _, d in sps) / 3600, 4),
                         variants=sorted({sp.variant for sp, _ in sps}))
    espeak_counts = {k[len("espeak "):]: v for k, v in sorted(stats.items()) if k.startswith("espeak ")}
    summary = dict(info, speakers=len(written), splits=splits, espeak_ng=espeak.version(),
                   espeak_phonemes=espeak_counts,
                   notes={k: v for k, v in sorted(stats.items()) if not k.startswith("espeak ")})
    (out / "synth_info.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _report(summary: dict, elapsed: float) -> None:
    n = summary["n_utterances"]
    sp = summary["splits"]
    print(f"{PROG}: wrote {n} utterances, {summary['audio_hours']:.2f} h of audio, "
          f"{summary['speakers']} speakers (train {sp['train']['speakers']}, dev {sp['dev']['speakers']}, "
          f"core test {sp['test']['speakers']}) in {elapsed:.1f} s "
          f"({1000 * elapsed / max(n, 1):.0f} ms per utterance, {summary['jobs']} jobs)", file=sys.stderr)
    notes = summary["notes"]
    unknown = {k: v for k, v in notes.items() if k.startswith("unknown")}
    if unknown:
        print(f"{PROG}: warning: espeak phonemes not in the map (mapped to the nearest): "
              + ", ".join(f"{k[len('unknown espeak phoneme '):]} x{v}" for k, v in unknown.items()),
              file=sys.stderr)
    if summary["sentences_reused_in"]:
        print(f"{PROG}: warning: the {summary['text_source']} sentences ran out; sentences repeat in "
              f"{', '.join(summary['sentences_reused_in'])}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="corpus directory to create")
    ap.add_argument("--hours", type=float, default=3.2, help="audio to generate, in hours (default 3.2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the plan (default 0)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--speakers", type=int, help="generate exactly this many speakers (ignores --hours)")
    ap.add_argument("--utts-per-speaker", type=int, default=8, help="utterances per speaker (default 8)")
    ap.add_argument("--text", default="auto", choices=("auto", "wordnet", "fortunes", "builtin"),
                    help="sentence source (default auto: wordnet-base, else fortunes, else built-in)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        build_corpus(args.out, hours=args.hours, seed=args.seed, jobs=args.jobs, speakers=args.speakers,
                     utts_per_speaker=args.utts_per_speaker, text=args.text, progress=not args.quiet)
    except espeak.EspeakNotFound as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
