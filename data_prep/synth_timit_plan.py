"""The plan of a synthetic TIMIT (:mod:`data_prep.synth_timit`): its speakers (espeak-ng voice,
accent, pitch, rate, level, noise) and each one's sentences.  The plan is a function of the seed
and the sentences only, so the plan for n speakers is a prefix of the plan for any larger n.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from .timit_segments import SR_ESPEAK

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
