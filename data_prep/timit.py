"""Prepare TIMIT (LDC93S1) for phone recognition: train / dev / core-test manifests.

Layout (as distributed; the root may also be ``corpus/TIMIT`` or ``corpus/timit``, and every
folder and file name may be upper- or lower-case)::

    corpus/TRAIN/DR1/FCJF0/SA1.WAV        NIST SPHERE audio, 16 kHz 16 bit (soundfile reads it)
                           SA1.PHN        "<start> <end> <phone>" per line, sample-exact
                           SA1.WRD        "<start> <end> <word>"  per line
                           SA1.TXT        "<start> <end> <sentence>"
    corpus/TEST/DR1/MDAB0/SI1039.WAV ...

(``SA1.WAV.wav`` RIFF copies, as in some re-distributions, are used when no ``SA1.WAV`` is there.)

* The SA sentences (``sa1``, ``sa2``: the same two sentences read by every speaker) are dropped,
  as in all standard setups; SI and SX sentences are kept.
* ``train``: every TRAIN speaker (462 speakers, 3696 utterances in the real corpus).
* ``dev``: the TEST speakers of the 50-speaker development list (400 utterances).
* ``test``: the core test set, the 24 TEST speakers of the core list (192 utterances).
  The other 94 TEST speakers are in no split.  Both lists ship in ``recog/resources/``
  (``timit_dev_spk.list``, ``timit_core_test_spk.list``) and can be replaced with
  ``--dev-spk`` / ``--core-spk`` (one speaker id per line, ``#`` comments allowed).

Speaker id: the speaker folder, lower-cased (``mcmj0``); utterance id ``<speaker>_<utt>``
lower-cased (``mcmj0_si1077``).  Each manifest record has ``path`` (the audio file), ``text``
(the .PHN phones in the ``--phones`` set: ``61`` keeps TIMIT's symbols including ``h#``,
``pau``, ``epi`` and ``q``; ``60`` deletes ``q``; ``48`` and ``39`` fold with
:mod:`recog.phones`, deleting ``q``), ``speaker``, and the extra fields ``phn`` (path of the
.PHN file, for boundary scoring), ``wrd`` and ``sentence`` (path of the .WRD file and the
.TXT sentence, when present) and ``dialect`` (``dr1``..``dr8``).

Besides ``manifest.jsonl`` and ``text``, every split folder gets ``text.39``: the references
folded to the 39-phone scoring set (fold hypotheses with :func:`recog.phones.fold_text` before
scoring against it).  ``tokens.txt`` (unit ``phone``) is built from the training transcripts.

Bad data -- audio without a .PHN, a .PHN without audio, unreadable audio, a malformed .PHN or one
with an unknown phone -- is reported on stderr (naming the file) and skipped.

Usage::

    python -m data_prep.timit --corpus DIR --out DIR [--phones 61|60|48|39]
        [--dev-spk LIST] [--core-spk LIST] [--map PHONE_MAP]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from recog.manifest import Utterance, read_lines, write_text
from recog.phones import TARGETS, PhoneMap, PhoneMapError, data_path, load_phone_map

from .common import Reporter, normalize_text, write_all

PROG = "data_prep.timit"
DEV_LIST = "timit_dev_spk.list"
CORE_LIST = "timit_core_test_spk.list"
#: audio file endings, best first (compared lower-case)
AUDIO_EXTS = (".wav", ".sph", ".flac", ".wav.wav")
_UTT_RE = re.compile(r"^s[aix]\d+$")
_DR_RE = re.compile(r"^dr\d+$")
SPLITS = ("train", "dev", "test")


@dataclass
class TimitFile:
    """One TIMIT utterance found on disk."""

    id: str
    speaker: str
    utt: str  # e.g. "si648"
    dialect: str  # "dr1".."dr8"
    part: str  # "train" or "test" (the corpus folder)
    audio: Path | None
    phn: Path | None
    wrd: Path | None
    txt: Path | None

    @property
    def kind(self) -> str:
        return self.utt[:2]


def _subdirs(d: Path) -> dict[str, Path]:
    """Sub-folders of d by lower-cased name (first in sorted order wins)."""
    out: dict[str, Path] = {}
    for p in sorted(d.iterdir()):
        if p.is_dir():
            out.setdefault(p.name.lower(), p)
    return out


def find_root(corpus: Path) -> Path:
    """The folder holding TRAIN/ and TEST/: corpus itself or one sub-folder (TIMIT/, data/, ...)."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise FileNotFoundError(f"{corpus}: corpus directory not found")
    cands = [corpus] + [d for _, d in sorted(_subdirs(corpus).items())]
    for d in cands:
        sub = _subdirs(d)
        if "train" in sub or "test" in sub:
            return d
    raise FileNotFoundError(f"{corpus}: no TRAIN/ or TEST/ folder in it or in a sub-folder")


def read_phn(path: str | Path) -> list[tuple[int, int, str]]:
    """A .PHN (or .WRD) file as ``[(start_sample, end_sample, label), ...]``.

    Raises ValueError naming the file and line for a malformed line."""
    segs = []
    for lineno, line in enumerate(read_lines(path, "ascii"), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise ValueError(f"{path}:{lineno}: expected '<start> <end> <label>', got {line.strip()!r}")
        start, end = int(parts[0]), int(parts[1])
        if end < start:
            raise ValueError(f"{path}:{lineno}: end {end} before start {start}")
        segs.append((start, end, parts[2]))
    if not segs:
        raise ValueError(f"{path}: no segments")
    return segs


def read_txt(path: str | Path) -> str:
    """The sentence of a .TXT file (``<start> <end> <sentence>``), whitespace normalised."""
    with open(path, encoding="latin-1") as f:
        parts = f.read().split(maxsplit=2)
    if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
        return normalize_text(parts[2])
    return normalize_text(" ".join(parts))


def read_speaker_list(path: str | Path) -> list[str]:
    """Speaker ids, one per line, lower-cased; blank lines and ``#`` comments skipped.
    A path-like entry (``TEST/DR1/MDAB0``) gives its last component."""
    out = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            entry = line.split("#", 1)[0].strip()
            if entry:
                out.append(entry.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower())
    return out


def scan_corpus(root: Path, rep: Reporter) -> list[TimitFile]:
    """Every SA/SI/SX utterance under root/{TRAIN,TEST}/DR*/<speaker>/, with its files."""
    found: list[TimitFile] = []
    speakers_seen: dict[str, Path] = {}
    top = _subdirs(root)
    for part in ("train", "test"):
        if part not in top:
            continue
        for dr_name, dr in sorted(_subdirs(top[part]).items()):
            if not _DR_RE.match(dr_name):
                continue
            for spk, spk_dir in sorted(_subdirs(dr).items()):
                if spk in speakers_seen:
                    rep.warn("duplicate speaker",
                             f"{spk_dir}: speaker {spk!r} already found in {speakers_seen[spk]}; skipped")
                    continue
                speakers_seen[spk] = spk_dir
                found.extend(_scan_speaker(spk_dir, spk, dr_name, part, rep))
    return found


def _scan_speaker(spk_dir: Path, spk: str, dialect: str, part: str, rep: Reporter) -> list[TimitFile]:
    files: dict[str, dict[str, Path]] = {}
    for p in sorted(spk_dir.iterdir()):
        if not p.is_file():
            continue
        low = p.name.lower()
        stem, dot, _ = low.partition(".")
        if not dot:
            continue
        ext = low[len(stem):]
        files.setdefault(stem, {}).setdefault(ext, p)
    out = []
    for stem, exts in sorted(files.items()):
        if not _UTT_RE.match(stem):
            continue
        audio = next((exts[e] for e in AUDIO_EXTS if e in exts), None)
        out.append(TimitFile(id=f"{spk}_{stem}", speaker=spk, utt=stem, dialect=dialect, part=part,
                             audio=audio, phn=exts.get(".phn"), wrd=exts.get(".wrd"),
                             txt=exts.get(".txt")))
    if not out:
        rep.warn("empty speaker", f"{spk_dir}: no TIMIT utterances (SA*/SI*/SX* files)")
    return out


def _utterance(tf: TimitFile, target: int, pm: PhoneMap, rep: Reporter) -> Utterance | None:
    """The manifest record of one utterance, or None (with a warning) when it is unusable."""
    if tf.phn is None:
        where = tf.audio if tf.audio is not None else tf.txt or tf.wrd
        rep.warn("missing phn", f"{where}: no .PHN transcription for {tf.id}; skipped")
        return None
    if tf.audio is None:
        rep.warn("missing audio", f"{tf.phn}: no audio (.WAV) for {tf.id}; skipped")
        return None
    try:
        info = sf.info(str(tf.audio))
        if info.frames <= 0:
            raise RuntimeError("no samples")
    except Exception as e:  # libsndfile errors, empty files, ...
        rep.warn("unreadable audio", f"{tf.audio}: cannot read audio ({e}); skipped")
        return None
    try:
        segs = read_phn(tf.phn)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        rep.warn("bad phn", f"{tf.phn}: cannot use ({e}); skipped")
        return None
    phones = [s[2] for s in segs]
    unknown = sorted(set(phones) - set(pm.rows))  # every symbol must be one of TIMIT's 61
    if unknown:
        rep.warn("bad phn", f"{tf.phn}: phone(s) not in TIMIT's 61-symbol set: {' '.join(unknown)}; skipped")
        return None
    text = " ".join(pm.fold(phones, target))
    if not text:
        rep.warn("empty phn", f"{tf.phn}: no phones left after folding to {target}; skipped")
        return None
    if info.samplerate != 16000:
        rep.warn("sample rate", f"{tf.audio}: {info.samplerate} Hz, TIMIT is 16000 Hz (kept)")
    if segs[-1][1] > info.frames:
        rep.warn("phn past audio",
                 f"{tf.phn}: last segment ends at sample {segs[-1][1]}, audio has {info.frames} (kept)")
    extra: dict = {"phn": str(tf.phn.absolute())}
    if tf.wrd is not None:
        extra["wrd"] = str(tf.wrd.absolute())
    if tf.txt is not None:
        try:
            extra["sentence"] = read_txt(tf.txt)
        except OSError as e:
            rep.warn("unreadable txt", f"{tf.txt}: cannot read ({e}); sentence left out")
    extra["dialect"] = tf.dialect
    return Utterance(id=tf.id, path=str(tf.audio.absolute()), text=text, speaker=tf.speaker, extra=extra)


def prepare_timit(corpus: Path, out: Path, phones: int = 61,
                  dev_spk: Path | list[str] | None = None, core_spk: Path | list[str] | None = None,
                  phone_map: PhoneMap | None = None) -> dict[str, list[Utterance]]:
    """Prepare ``corpus`` into ``out/{train,dev,test}``; returns the utterances of each split.

    ``dev_spk`` / ``core_spk``: a speaker-list file or a list of ids (default: the packaged
    lists).  Raises FileNotFoundError when the corpus or a list is missing (a setup error)."""
    corpus, out = Path(corpus), Path(out)
    if phones not in TARGETS:
        raise ValueError(f"phones must be one of {TARGETS}, not {phones!r}")
    rep = Reporter(PROG)
    pm = phone_map or load_phone_map()
    lists: dict[str, list[str]] = {}
    for name, given, default in (("dev", dev_spk, DEV_LIST), ("test", core_spk, CORE_LIST)):
        if given is None or isinstance(given, (str, Path)):
            p = Path(given) if given is not None else data_path(default)
            if not p.is_file():
                raise FileNotFoundError(f"{p}: {name} speaker list not found")
            lists[name] = read_speaker_list(p)
        else:
            lists[name] = [s.lower() for s in given]
    both = sorted(set(lists["dev"]) & set(lists["test"]))
    if both:
        rep.warn("list overlap", f"speaker(s) in both the dev and the core-test list: {' '.join(both)}; "
                                 f"kept in test only")
        lists["dev"] = [s for s in lists["dev"] if s not in both]

    root = find_root(corpus)
    found = scan_corpus(root, rep)
    if not found:
        rep.warn("no utterances", f"{root}: no TRAIN|TEST/DR*/<speaker>/ utterances found")

    split_of_spk: dict[str, str] = {}
    for name in ("dev", "test"):
        for s in lists[name]:
            split_of_spk[s] = name
    test_spk = {tf.speaker for tf in found if tf.part == "test"}
    train_spk = {tf.speaker for tf in found if tf.part == "train"}
    for name, label in (("dev", "dev"), ("test", "core-test")):
        missing = [s for s in lists[name] if s not in test_spk]
        if missing:
            in_train = [s for s in missing if s in train_spk]
            rep.warn("missing listed speaker",
                     f"{len(missing)} of {len(lists[name])} {label} speakers are not in {root}/TEST: "
                     f"{' '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"
                     + (f" ({len(in_train)} of them are TRAIN speakers)" if in_train else ""))

    result: dict[str, list[Utterance]] = {s: [] for s in SPLITS}
    excluded_spk: set[str] = set()
    n_sa = 0
    for tf in found:
        if tf.part == "train":
            split = "train"
        else:
            split = split_of_spk.get(tf.speaker)
            if split is None:
                excluded_spk.add(tf.speaker)
                continue
        if tf.kind == "sa":
            n_sa += 1
            continue
        u = _utterance(tf, phones, pm, rep)
        if u is not None:
            result[split].append(u)
    for utts in result.values():
        utts.sort(key=lambda u: u.id)

    rep.info(f"dropped {n_sa} SA utterances; {len(excluded_spk)} TEST speaker(s) in neither the dev "
             f"nor the core-test list left out")
    for name, utts in result.items():
        rep.info(f"{name}: {len({u.speaker for u in utts})} speakers, {len(utts)} utterances")
    write_all(out, result, rep, unit="phone")
    for name, utts in result.items():
        write_text(out / name / "text.39", sorted((u.id, pm.fold_text(u.text, 39)) for u in utts))
    rep.summary(result, out)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep timit", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="TIMIT root (holding TRAIN/ and TEST/)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (train/ dev/ test/ + tokens.txt)")
    ap.add_argument("--phones", type=int, choices=TARGETS, default=61,
                    help="label set of the transcripts (default 61: TIMIT's own symbols)")
    ap.add_argument("--dev-spk", type=Path, help=f"dev speaker list (default: packaged {DEV_LIST})")
    ap.add_argument("--core-spk", type=Path, help=f"core test speaker list (default: packaged {CORE_LIST})")
    ap.add_argument("--map", type=Path, help="phone map (default: packaged Kaldi phones.60-48-39.map)")
    args = ap.parse_args(argv)
    try:
        pm = load_phone_map(args.map) if args.map else None
        prepare_timit(args.corpus, args.out, phones=args.phones, dev_spk=args.dev_spk,
                      core_spk=args.core_spk, phone_map=pm)
    except (FileNotFoundError, PhoneMapError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
