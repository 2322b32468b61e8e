"""Prepare LJSpeech clips with Montreal-Forced-Aligner TextGrids for phone recognition.

Layout::

    corpus/flac/<id>.flac            audio (or corpus/wavs/<id>.wav, as LJSpeech ships it)
    corpus/TextGrid/<id>.TextGrid    MFA alignment with a "phones" tier (ARPAbet with stress)
    corpus/metadata*.csv             optional: "id|text|normalized text" -> field "sentence"

Labels: the phones tier mapped with an ARPAbet -> TIMIT-39 map (default: the packaged
``recog/resources/arpabet_to_timit39.map``; format ``SOURCE<TAB>TARGET`` per line, ``#`` comments,
an empty SOURCE is the empty interval, TARGET ``<del>`` drops the segment).  A phone missing from
the map is looked up again without its stress digit (``AH0`` -> ``AH``).

* Silence (``sil``, ``sp`` and empty intervals, all mapped to ``sil``) is **not** a label: the
  transcript holds no silence tokens, only the spoken phones.  Silence is left to the CTC blank,
  and the 39-phone scoring of TIMIT-style references would fold or ignore it anyway.
* ``spn`` (MFA's spoken noise / out-of-vocabulary word) maps to ``<del>``.  An utterance with
  ``spn`` has speech its labels do not cover, so by default the whole utterance is skipped
  (counted on stderr); ``--keep-spn`` keeps it with the ``spn`` stretch unlabelled.

Each record has ``text`` (the 39-set phones, space-separated), ``speaker`` (``lj``) and the extra
fields ``segments`` -- ``[[start_s, end_s, phone39], ...]`` for the labelled (non-silence) phones,
in order, for boundary scoring -- ``textgrid`` (its path) and, when a metadata file is there,
``sentence`` (the normalized transcription).

Splits, deterministic and disjoint: all clip ids that have audio, sorted; every 10th (the 10th,
20th, ...) goes to ``test``; of the rest, every 20th (5 %) to ``valid``; the others to ``train``.
The split of a clip depends only on the set of audio files, not on which clips are later skipped.

Bad data -- audio without a TextGrid, unreadable audio, a TextGrid that cannot be parsed or has no
phones tier, a phone the map lacks, nothing left to label -- is reported on stderr and skipped.

Usage::

    python -m data_prep.ljspeech --corpus DIR --out DIR [--map MAP] [--keep-spn]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import soundfile as sf

from recog.lexicon import DEFAULT_MAP, DELETE, SILENCE, map_phone, read_arpabet_map  # noqa: F401 - re-exported
from recog.manifest import Utterance

from .common import Reporter, normalize_text, write_all
from .textgrid import TextGridError, read_textgrid

PROG = "data_prep.ljspeech"
SPEAKER = "lj"
AUDIO_DIRS = ("flac", "wavs", "wav", "audio")
AUDIO_EXTS = (".flac", ".wav")
TEXTGRID_DIRS = ("TextGrid", "TextGrids", "textgrid", "textgrids", "alignments")
PHONE_TIERS = ("phones", "phone")
TEST_EVERY = 10
VALID_EVERY = 20


def assign_splits(ids: list[str]) -> dict[str, str]:
    """id -> "train" | "valid" | "test": sorted ids, every 10th to test, every 20th of the rest
    to valid."""
    out: dict[str, str] = {}
    rest = 0
    for i, uid in enumerate(sorted(ids)):
        if i % TEST_EVERY == TEST_EVERY - 1:
            out[uid] = "test"
        else:
            out[uid] = "valid" if rest % VALID_EVERY == VALID_EVERY - 1 else "train"
            rest += 1
    return out


def _find_dir(corpus: Path, names: tuple[str, ...]) -> Path | None:
    for n in names:
        if (corpus / n).is_dir():
            return corpus / n
    return None


def _read_metadata(corpus: Path, rep: Reporter) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted(corpus.glob("metadata*.csv")):
        try:
            with open(p, encoding="utf-8-sig") as f:
                for line in f:
                    parts = line.rstrip("\r\n").split("|")
                    if len(parts) >= 2 and parts[0]:
                        out.setdefault(parts[0], normalize_text(parts[-1]))
        except (OSError, UnicodeDecodeError) as e:
            rep.warn("bad metadata", f"{p}: cannot read ({e}); sentences left out")
    return out


def segments_from_textgrid(path: Path, table: dict[str, str]) -> tuple[list[list], list[str], bool]:
    """(segments [[start, end, phone]] of the labelled phones, unknown phones, has deleted ones)."""
    tg = read_textgrid(path)
    tier = None
    for name in PHONE_TIERS:
        tier = tg.get(name)
        if tier is not None:
            break
    if tier is None:
        tier = next((t for t in tg.tiers if "phone" in t.name.lower()), None)
    if tier is None or not tier.is_interval:
        raise TextGridError(f"{path}: no phones interval tier (tiers: {', '.join(tg.names) or 'none'})")
    segs: list[list] = []
    unknown: list[str] = []
    deleted = False
    for iv in tier.intervals:
        tgt = map_phone(iv.text, table)
        if tgt is None:
            unknown.append(iv.text.strip())
        elif tgt == DELETE:
            deleted = True
        elif tgt != SILENCE:
            segs.append([round(iv.xmin, 6), round(iv.xmax, 6), tgt])
    return segs, unknown, deleted


def prepare_ljspeech(corpus: Path, out: Path, map_path: Path | None = None, keep_spn: bool = False,
                     textgrids: Path | None = None) -> dict[str, list[Utterance]]:
    """Prepare ``corpus`` into ``out/{train,valid,test}``; returns the utterances of each split.
    Raises FileNotFoundError when the corpus, its audio or TextGrid folder or the map is missing."""
    corpus, out = Path(corpus), Path(out)
    rep = Reporter(PROG)
    if not corpus.is_dir():
        raise FileNotFoundError(f"{corpus}: corpus directory not found")
    audio_dir = _find_dir(corpus, AUDIO_DIRS) or corpus
    tg_dir = Path(textgrids) if textgrids is not None else _find_dir(corpus, TEXTGRID_DIRS)
    if tg_dir is None or not tg_dir.is_dir():
        raise FileNotFoundError(f"{corpus}: no TextGrid folder ({' '.join(TEXTGRID_DIRS)})")
    if map_path is not None and not Path(map_path).is_file():
        raise FileNotFoundError(f"{map_path}: phone map not found")
    table = read_arpabet_map(map_path)

    audio: dict[str, Path] = {}
    for p in sorted(audio_dir.iterdir()):
        if p.is_file() and p.suffix.lower() in AUDIO_EXTS:
            if p.stem in audio:
                rep.warn("duplicate audio", f"{p}: clip {p.stem!r} already has {audio[p.stem]}; ignored")
                continue
            audio[p.stem] = p
    if not audio:
        raise FileNotFoundError(f"{audio_dir}: no audio files ({' '.join(AUDIO_EXTS)})")
    grids = {p.stem: p for p in sorted(tg_dir.iterdir()) if p.is_file() and p.suffix.lower() == ".textgrid"}
    for uid in sorted(set(grids) - set(audio)):
        rep.warn("textgrid without audio", f"{grids[uid]}: no audio for clip {uid!r}; skipped")
    sentences = _read_metadata(corpus, rep)

    split_of = assign_splits(list(audio))
    result: dict[str, list[Utterance]] = {"train": [], "valid": [], "test": []}
    n_spn = 0
    for uid in sorted(audio):
        wav = audio[uid]
        tg = grids.get(uid)
        if tg is None:
            rep.warn("missing textgrid", f"{wav}: no {uid}.TextGrid in {tg_dir}; skipped")
            continue
        try:
            info = sf.info(str(wav))
            if info.frames <= 0:
                raise RuntimeError("no samples")
        except Exception as e:
            rep.warn("unreadable audio", f"{wav}: cannot read audio ({e}); skipped")
            continue
        try:
            segs, unknown, deleted = segments_from_textgrid(tg, table)
        except (OSError, TextGridError) as e:
            rep.warn("bad textgrid", f"{tg}: {e}; skipped" if str(tg) not in str(e) else f"{e}; skipped")
            continue
        if unknown:
            rep.warn("unknown phone", f"{tg}: phone(s) not in the map: {' '.join(sorted(set(unknown)))}; skipped")
            continue
        if deleted and not keep_spn:
            n_spn += 1
            continue
        if not segs:
            rep.warn("no phones", f"{tg}: no phones left once silence is dropped; skipped")
            continue
        dur = info.frames / info.samplerate
        if segs[-1][1] > dur + 0.05:
            rep.warn("alignment past audio",
                     f"{tg}: last phone ends at {segs[-1][1]:.3f}s, audio is {dur:.3f}s (kept)")
        extra: dict = {"segments": segs, "textgrid": str(tg.absolute())}
        if uid in sentences:
            extra["sentence"] = sentences[uid]
        result[split_of[uid]].append(Utterance(
            id=uid, path=str(wav.absolute()), text=" ".join(s[2] for s in segs), speaker=SPEAKER,
            extra=extra))
    if n_spn:
        rep.info(f"skipped {n_spn} clip(s) with spoken noise / OOV ('spn'); --keep-spn keeps them")
    write_all(out, result, rep, unit="phone")
    rep.summary(result, out)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep ljspeech", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="folder with flac/ (or wavs/) and TextGrid/")
    ap.add_argument("--out", type=Path, required=True, help="output directory (train/ valid/ test/ + tokens.txt)")
    ap.add_argument("--textgrids", type=Path, help="TextGrid folder (default: corpus/TextGrid)")
    ap.add_argument("--map", type=Path, help=f"ARPAbet -> phone map (default: packaged {DEFAULT_MAP})")
    ap.add_argument("--keep-spn", action="store_true",
                    help="keep clips with spoken noise ('spn'), leaving that stretch unlabelled")
    args = ap.parse_args(argv)
    try:
        prepare_ljspeech(args.corpus, args.out, map_path=args.map, keep_spn=args.keep_spn,
                         textgrids=args.textgrids)
    except (FileNotFoundError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
