"""Plain English sentences for synthetic speech (:mod:`data_prep.synth_timit`): WordNet's example
sentences, the Debian ``fortunes`` or a built-in list, normalised to 5-15 words of letters and
light punctuation.
"""

from __future__ import annotations

import re
from pathlib import Path

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

WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*'?")
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
    words = WORD_RE.findall(s)
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
