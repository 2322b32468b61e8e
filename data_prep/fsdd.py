"""Prepare the Free Spoken Digit Dataset (FSDD) with speaker-held-out splits.

Layout::

    corpus/flac/{digit}_{speaker}_{index}.flac     (or .wav; also corpus/recordings/ as in the
                                                    FSDD repository, or corpus/ itself)

The transcript is the digit word's pronunciation in TIMIT-39 phones (:data:`LEXICON`), so a
phone model trained on TIMIT or LJSpeech can be scored on it; the extra field ``digit`` holds the
digit (0-9) for sequence-to-label classification.  The lexicon is CMUdict's first pronunciation
folded to the 39 set (stress dropped, ``AO -> aa``):

    zero  Z IH1 R OW0  -> z ih r ow      five   F AY1 V        -> f ay v
    one   W AH1 N      -> w ah n         six    S IH1 K S      -> s ih k s
    two   T UW1        -> t uw           seven  S EH1 V AH0 N  -> s eh v ah n
    three TH R IY1     -> th r iy        eight  EY1 T          -> ey t
    four  F AO1 R      -> f aa r         nine   N AY1 N        -> n ay n

(No digit word has an ``ER``: "zero" is ``IH R``, two phones, in CMUdict.)

With ``--target digit`` the transcript is the digit's word instead (``zero`` .. ``nine``): the
label of a sequence-to-label model (``model.output: label``; ``recipes/fsdd_digits``), its
``tokens.txt`` the ten words.

Splits hold speakers out: ``--test-speakers a,b`` and ``--valid-speakers c`` name them; by
default the alphabetically last speaker is ``test``, the last of the remaining ones ``valid``, and
every other speaker ``train``.  An empty ``--valid-speakers ''`` means no valid split.

Files whose name does not match ``{digit}_{speaker}_{index}`` and unreadable audio are reported
on stderr and skipped.

Usage::

    python -m data_prep.fsdd --corpus DIR --out DIR [--test-speakers a,b] [--valid-speakers c]
        [--target phones|digit]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import soundfile as sf

from recog.manifest import Utterance

from .common import Reporter, write_all

PROG = "data_prep.fsdd"
AUDIO_DIRS = ("flac", "recordings", "wav", "wavs")
AUDIO_EXTS = (".flac", ".wav")
_NAME = re.compile(r"^(\d+)_([A-Za-z0-9-]+)_(\d+)$")

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: digit -> pronunciation in TIMIT-39 phones (CMUdict, stress dropped, folded to the 39 set)
LEXICON: dict[int, str] = {
    0: "z ih r ow",
    1: "w ah n",
    2: "t uw",
    3: "th r iy",
    4: "f aa r",
    5: "f ay v",
    6: "s ih k s",
    7: "s eh v ah n",
    8: "ey t",
    9: "n ay n",
}


def parse_name(stem: str) -> tuple[int, str, int] | None:
    """``"7_jackson_32"`` -> ``(7, "jackson", 32)``; None if the name does not fit."""
    m = _NAME.match(stem)
    if not m:
        return None
    return int(m.group(1)), m.group(2), int(m.group(3))


def _split_arg(s: str | list[str] | None) -> list[str] | None:
    if s is None:
        return None
    if isinstance(s, str):
        return [x.strip() for x in s.split(",") if x.strip()]
    return list(s)


def assign_speakers(speakers: list[str], test: list[str] | None = None,
                    valid: list[str] | None = None) -> dict[str, str]:
    """speaker -> split. Raises ValueError for a named speaker that is not in the corpus."""
    spk = sorted(set(speakers))
    for name, given in (("test", test), ("valid", valid)):
        unknown = [s for s in (given or []) if s not in spk]
        if unknown:
            raise ValueError(f"{name} speaker(s) not in the corpus: {' '.join(unknown)} "
                             f"(speakers: {' '.join(spk)})")
    if test is None:
        test = spk[-1:]
    rest = [s for s in spk if s not in test]
    if valid is None:
        valid = rest[-1:] if len(rest) > 1 else []
    both = set(test) & set(valid)
    if both:
        raise ValueError(f"speaker(s) both in test and valid: {' '.join(sorted(both))}")
    return {s: "test" if s in test else "valid" if s in valid else "train" for s in spk}


TARGETS = ("phones", "digit")


def prepare_fsdd(corpus: Path, out: Path, test_speakers: str | list[str] | None = None,
                 valid_speakers: str | list[str] | None = None, target: str = "phones") -> dict[str, list[Utterance]]:
    """Prepare ``corpus`` into ``out/{train,valid,test}``; returns the utterances of each split.
    ``target``: ``phones`` (the pronunciation) or ``digit`` (the digit's word, a label).
    Raises FileNotFoundError (no corpus / no audio) or ValueError (a named speaker is unknown)."""
    if target not in TARGETS:
        raise ValueError(f"target {target!r}: use one of {', '.join(TARGETS)}")
    corpus, out = Path(corpus), Path(out)
    rep = Reporter(PROG)
    if not corpus.is_dir():
        raise FileNotFoundError(f"{corpus}: corpus directory not found")
    audio_dir = next((corpus / d for d in AUDIO_DIRS if (corpus / d).is_dir()), corpus)
    files: dict[str, Path] = {}
    for p in sorted(audio_dir.iterdir()):
        if not p.is_file() or p.suffix.lower() not in AUDIO_EXTS:
            continue
        if p.stem in files:
            rep.warn("duplicate", f"{p}: {p.stem!r} already read from {files[p.stem]}; ignored")
            continue
        files[p.stem] = p
    if not files:
        raise FileNotFoundError(f"{audio_dir}: no audio files ({' '.join(AUDIO_EXTS)})")

    parsed: dict[str, tuple[int, str, int]] = {}
    for stem, p in files.items():
        info = parse_name(stem)
        if info is None:
            rep.warn("bad name", f"{p}: name is not {{digit}}_{{speaker}}_{{index}}; skipped")
        elif info[0] not in LEXICON:
            rep.warn("bad digit", f"{p}: digit {info[0]} is not 0-9; skipped")
        else:
            parsed[stem] = info
    split_of = assign_speakers([v[1] for v in parsed.values()], _split_arg(test_speakers),
                               _split_arg(valid_speakers))

    result: dict[str, list[Utterance]] = {"train": [], "valid": [], "test": []}
    for stem, (digit, spk, _idx) in sorted(parsed.items()):
        p = files[stem]
        try:
            info = sf.info(str(p))
            if info.frames <= 0:
                raise RuntimeError("no samples")
        except Exception as e:
            rep.warn("unreadable audio", f"{p}: cannot read audio ({e}); skipped")
            continue
        extra: dict = {"digit": digit}
        if target == "digit":  # what a label model trains on
            extra["label"] = WORDS[digit]
        text = LEXICON[digit] if target == "phones" else WORDS[digit]
        result[split_of[spk]].append(Utterance(id=stem, path=str(p.absolute()), text=text, speaker=spk, extra=extra))
    for name, utts in result.items():
        spk = sorted({u.speaker for u in utts})
        rep.info(f"{name}: {len(utts)} recordings of {len(spk)} speaker(s) {' '.join(spk)}")
    if not result["valid"]:
        del result["valid"]
    write_all(out, result, rep, unit="phone" if target == "phones" else "word")
    rep.summary(result, out)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep fsdd", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="FSDD folder (with flac/ or recordings/)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (train/ valid/ test/ + tokens.txt)")
    ap.add_argument("--test-speakers", help="comma-separated test speakers (default: alphabetically last)")
    ap.add_argument("--valid-speakers",
                    help="comma-separated valid speakers (default: last of the others; '' for none)")
    ap.add_argument("--target", choices=TARGETS, default="phones",
                    help="phones: the digit word's pronunciation (CTC); digit: the word itself, a label")
    args = ap.parse_args(argv)
    try:
        prepare_fsdd(args.corpus, args.out, args.test_speakers, args.valid_speakers, args.target)
    except (FileNotFoundError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
