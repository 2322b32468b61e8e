"""Read Kaldi data directories into recog manifests (``recog prep kaldi``), and write them back.

A Kaldi data dir holds, one ``<key> <value>`` per line:

    wav.scp     <recording-id> <audio path>        (paths: absolute, or relative to --root)
    segments    <utt-id> <recording-id> <start s> <end s>   optional; end -1 = to the end
    text        <utt-id> <transcript>               words, or phones with --unit phone and no lexicon
    utt2spk     <utt-id> <speaker>                  (or spk2utt <speaker> <utt> <utt> ...)
    spk2gender  <speaker> m|f                       optional
    spk2age     <speaker> <years>                   optional (speechocean762 has it)

Without ``segments`` each recording is one utterance with the recording's id.  With it, every
segment is cut out of its recording into ``<out>/wav/<utt-id>.wav`` (16-bit PCM at the source
rate), so the manifest points at plain files as for any other corpus.  A ``wav.scp`` entry that is a
command (``... |``) or an archive offset (``file.ark:123``) is reported and skipped: recog reads
files only.

Labels.  With ``--lexicon`` (CMUdict style: ``WORD PH1 PH2 ...``, tab or spaces; repeated words are
further pronunciations, of which the first is used) the words become ARPAbet phones, which are
folded to the TIMIT-39 set through ``--map`` (default: the packaged ARPAbet -> TIMIT-39 map, the one
``data_prep.ljspeech`` uses), so every English corpus shares one phone table.  An utterance with a
word the lexicon lacks is reported and skipped.  ``--word-prons FILE`` gives the pronunciation of
each word of each utterance instead (``<utt-id>.<word index> PH PH ...``, position tags such as
``AH0_B`` allowed: speechocean762's ``resource/text-phone``, its canonical phones); utterances it
does not cover fall back to the lexicon.  Without either the text is kept as it is (``--unit word``,
``char`` or ``phone``).

Splits.  Each ``--dir NAME=DIR`` becomes split NAME.  ``--valid-from NAME --valid-speakers N``
moves N speakers of split NAME (seeded, spread over gender and child/adult strata when those are
known) to ``valid``: a speaker-disjoint tuning slice, so that a test split stays untouched.

Out: ``<out>/<split>/{manifest.jsonl,text,utt2spk,spk2gender,spk2age}`` and ``<out>/tokens.txt``;
every record has ``speaker`` and, when known, the extra fields ``gender``, ``age`` and ``words``
(the word transcript).  ``--kaldi-out DIR`` also writes each split as a Kaldi data dir
(``text`` with the prepared labels, ``wav.scp`` with absolute paths, ``utt2spk``, ``spk2utt``,
``spk2gender``), which Kaldi, ESPnet and Lhotse read.

Bad data (a missing or unreadable recording, an utterance without text or speaker, a malformed
line, a segment outside its recording) is reported on stderr, naming the file and line, and skipped.

Usage::

    recog prep kaldi --dir train=SO762/train --dir test=SO762/test --lexicon SO762/resource/lexicon.txt \\
        --word-prons SO762/resource/text-phone --valid-from train --valid-speakers 12 --out data [--kaldi-out data/kaldi]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

import soundfile as sf

from recog.lexicon import phone_inventory, read_arpabet_map, read_lexicon, words_to_phones
from recog.manifest import Utterance
from recog.tokens import SymbolTable

from .common import Reporter, named_path, run_reporting_errors, write_all

PROG = "data_prep.kaldi"
CHILD_MAX_AGE = 12  # speakers aged 12 or less count as children (strata, and recog score --per-spk)


class KaldiTable:
    """A ``<key> <value...>`` file read into a dict; bad lines are reported by file and line."""

    def __init__(self, path: Path, rep: Reporter, min_fields: int = 2, max_fields: int | None = 2):
        self.path, self.rows, self.lines = path, {}, {}
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if "\ufffd" in line:
                    rep.warn("bad encoding", f"{path}:{lineno}: not UTF-8; line skipped")
                    continue
                if len(parts) < min_fields or (max_fields and len(parts) > max_fields):
                    want = f"{min_fields}" if max_fields == min_fields else f"at least {min_fields}"
                    rep.warn("malformed line", f"{path}:{lineno}: expected {want} fields, got {len(parts)}; skipped")
                    continue
                if parts[0] in self.rows:
                    rep.warn("duplicate key", f"{path}:{lineno}: {parts[0]!r} already on line {self.lines[parts[0]]}; skipped")
                    continue
                self.rows[parts[0]] = parts[1:]
                self.lines[parts[0]] = lineno

    def where(self, key: str) -> str:
        return f"{self.path}:{self.lines[key]}"


def _optional(d: Path, name: str, rep: Reporter, **kw) -> KaldiTable | None:
    return KaldiTable(d / name, rep, **kw) if (d / name).is_file() else None


def read_word_prons(path: Path, rep: Reporter) -> dict[str, dict[int, list[str]]]:
    """``<utt>.<k> phones`` lines -> {utt: {k: phones}}; malformed lines reported and skipped."""
    out: dict[str, dict[int, list[str]]] = defaultdict(dict)
    table = KaldiTable(Path(path), rep, max_fields=None)
    for key, phones in table.rows.items():
        utt, dot, k = key.rpartition(".")
        if not dot or not k.isdigit():
            rep.warn("malformed line", f"{table.where(key)}: key {key!r} is not <utt-id>.<word index>; skipped")
            continue
        out[utt][int(k)] = phones
    return out


class _Reader:
    """One Kaldi data dir -> utterances, with the recordings cut when there are segments."""

    def __init__(self, d: Path, root: Path, out: Path, rep: Reporter):
        self.d, self.root, self.out, self.rep = d, root, out, rep
        for name in ("wav.scp", "text"):
            if not (d / name).is_file():
                raise FileNotFoundError(f"{d}: not a Kaldi data dir ({name} missing)")
        self.wav = KaldiTable(d / "wav.scp", rep, max_fields=None)
        self.text = KaldiTable(d / "text", rep, min_fields=1, max_fields=None)
        self.segments = _optional(d, "segments", rep, min_fields=4, max_fields=4)
        self.spk = self._speakers()
        self.gender = _optional(d, "spk2gender", rep)
        self.age = _optional(d, "spk2age", rep)

    def _speakers(self) -> dict[str, str]:
        u2s = _optional(self.d, "utt2spk", self.rep)
        if u2s is not None:
            return {u: v[0] for u, v in u2s.rows.items()}
        s2u = _optional(self.d, "spk2utt", self.rep, max_fields=None)
        if s2u is None:
            raise FileNotFoundError(f"{self.d}: neither utt2spk nor spk2utt")
        return {u: s for s, us in s2u.rows.items() for u in us}

    def recording(self, rec: str) -> Path | None:
        value = " ".join(self.wav.rows[rec])
        if value.endswith("|"):
            self.rep.warn("piped wav.scp", f"{self.wav.where(rec)}: {rec} is a command ({value}); recog reads files only; skipped")
            return None
        p = Path(value)
        if not p.is_absolute():
            p = next((b / p for b in (self.root, Path.cwd()) if (b / p).exists()), self.root / p)
        if not p.is_file():
            why = "an archive offset, not a file" if ":" in p.name and p.suffix.split(":")[0] == ".ark" else "not found"
            self.rep.warn("missing audio", f"{self.wav.where(rec)}: {p}: {why}; skipped")
            return None
        return p

    def audio_of(self, uid: str) -> Path | None:
        if self.segments is None:
            if uid not in self.wav.rows:
                self.rep.warn("no recording", f"{self.text.where(uid)}: {uid} has no wav.scp entry; skipped")
                return None
            return self.recording(uid)
        if uid not in self.segments.rows:
            self.rep.warn("no segment", f"{self.text.where(uid)}: {uid} has no segments entry; skipped")
            return None
        rec, start, end = self.segments.rows[uid]
        if rec not in self.wav.rows:
            self.rep.warn("no recording", f"{self.segments.where(uid)}: recording {rec} not in wav.scp; skipped")
            return None
        src = self.recording(rec)
        return None if src is None else self._cut(uid, src, start, end)

    def _cut(self, uid: str, src: Path, start: str, end: str) -> Path | None:
        where = self.segments.where(uid)
        try:
            t0, t1 = float(start), float(end)
            info = sf.info(str(src))
        except ValueError:
            self.rep.warn("bad segment", f"{where}: times {start} {end} are not numbers; skipped")
            return None
        except Exception as e:  # noqa: BLE001 - soundfile raises several kinds on bad files
            self.rep.warn("unreadable audio", f"{src}: cannot read audio ({e}); skipped")
            return None
        dur = info.frames / info.samplerate
        t1 = dur if t1 < 0 else t1
        if not (0 <= t0 < t1) or t0 >= dur or t1 > dur + 0.01:
            self.rep.warn("bad segment", f"{where}: {t0}-{t1} s is not inside {src.name} (0-{dur:.3f} s); skipped")
            return None
        data, sr = sf.read(str(src), start=int(round(t0 * info.samplerate)),
                           stop=min(info.frames, int(round(t1 * info.samplerate))), dtype="float32")
        dst = self.out / "wav" / f"{uid}.wav"
        dst.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(dst), data, sr, subtype="PCM_16")
        return dst

    def utterances(self, labeller) -> list[Utterance]:
        utts = []
        for uid in sorted(self.text.rows):
            words = self.text.rows[uid]
            spk = self.spk.get(uid)
            if spk is None:
                self.rep.warn("no speaker", f"{self.text.where(uid)}: {uid} has no speaker in utt2spk; skipped")
                continue
            if not words:
                self.rep.warn("empty text", f"{self.text.where(uid)}: {uid} has an empty transcript; skipped")
                continue
            label, why = labeller(uid, words)
            if why:
                self.rep.warn("unlabelled", f"{self.text.where(uid)}: {uid}: {why}; skipped")
                continue
            path = self.audio_of(uid)
            if path is None:
                continue
            extra: dict = {"words": " ".join(words)}
            if self.gender and spk in self.gender.rows:
                extra["gender"] = self.gender.rows[spk][0].lower()
            if self.age and spk in self.age.rows and self.age.rows[spk][0].isdigit():
                extra["age"] = int(self.age.rows[spk][0])
            utts.append(Utterance(id=uid, path=str(path.absolute()), text=label, speaker=spk, extra=extra))
        return utts


def _stratum(u: Utterance) -> tuple:
    age = u.extra.get("age")
    return (u.extra.get("gender", "?"), "?" if age is None else age <= CHILD_MAX_AGE)


def split_speakers(utts: list[Utterance], n: int, seed: int) -> tuple[list[Utterance], list[Utterance]]:
    """Move ``n`` whole speakers out of ``utts``, dealt round-robin over the (gender, child)
    strata in seeded order; returns (kept, moved)."""
    first = {}
    for u in utts:
        first.setdefault(u.speaker, u)
    strata = defaultdict(list)
    for spk in sorted(first):
        strata[_stratum(first[spk])].append(spk)
    rng = random.Random(seed)
    for spks in strata.values():
        rng.shuffle(spks)
    order = [s for group in zip(*[strata[k] + [None] * len(first) for k in sorted(strata)]) for s in group if s]
    chosen = set(order[:n])
    return [u for u in utts if u.speaker not in chosen], [u for u in utts if u.speaker in chosen]


def write_speaker_files(d: Path, utts: list[Utterance]) -> None:
    """``utt2spk``, ``spk2utt`` and, where known, ``spk2gender`` and ``spk2age`` for ``utts``."""
    d.mkdir(parents=True, exist_ok=True)
    by_spk: dict[str, list[str]] = defaultdict(list)
    info: dict[str, dict] = {}
    for u in sorted(utts, key=lambda u: u.id):
        by_spk[u.speaker].append(u.id)
        info.setdefault(u.speaker, u.extra)
    (d / "utt2spk").write_text("".join(f"{u.id} {u.speaker}\n" for u in sorted(utts, key=lambda u: u.id)))
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(ids)}\n" for s, ids in sorted(by_spk.items())))
    for key in ("gender", "age"):
        rows = [f"{s} {e[key]}\n" for s, e in sorted(info.items()) if key in e]
        if rows:
            (d / f"spk2{key}").write_text("".join(rows))


def write_kaldi_dir(d: Path, utts: list[Utterance]) -> None:
    """A Kaldi data dir for ``utts``: text (the prepared labels), wav.scp and the speaker files."""
    d.mkdir(parents=True, exist_ok=True)
    ordered = sorted(utts, key=lambda u: u.id)
    (d / "text").write_text("".join(f"{u.id} {u.text}\n" for u in ordered))
    (d / "wav.scp").write_text("".join(f"{u.id} {u.path}\n" for u in ordered))
    write_speaker_files(d, utts)


def prepare_kaldi(dirs: dict[str, Path], out: Path, lexicon: Path | None = None, map_path: Path | None = None,
                  unit: str | None = None, root: Path | None = None, valid_from: str | None = None,
                  valid_speakers: int = 0, seed: int = 0, kaldi_out: Path | None = None,
                  word_prons: Path | None = None) -> dict[str, list[Utterance]]:
    out = Path(out)
    rep = Reporter(PROG)
    phones = lexicon is not None or word_prons is not None
    if phones:
        lex = read_lexicon(Path(lexicon)) if lexicon is not None else {}
        prons = read_word_prons(Path(word_prons), rep) if word_prons is not None else {}
        table = read_arpabet_map(map_path)
        unit = unit or "phone"

        def labeller(uid, words):
            seq, why = words_to_phones(words, lex, table, prons.get(uid))
            return " ".join(seq), why or ("" if seq else "no phones once silence is dropped")
    else:
        unit = unit or "word"

        def labeller(uid, words):
            return " ".join(words), ""
    splits: dict[str, list[Utterance]] = {}
    for name, d in dirs.items():
        d = Path(d)
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: data dir not found")
        splits[name] = _Reader(d, Path(root) if root else d.parent, out, rep).utterances(labeller)
    if valid_from:
        if valid_from not in splits:
            raise ValueError(f"--valid-from {valid_from}: no such split (have {', '.join(splits)})")
        splits[valid_from], splits["valid"] = split_speakers(splits[valid_from], valid_speakers, seed)
    write_all(out, splits, rep, unit=unit)
    if phones and splits.get("train"):
        # every phone the map can give, not only those in train: English corpora share one table
        SymbolTable(phone_inventory(table), "phone").write(out / "tokens.txt")
    for name, utts in splits.items():
        write_speaker_files(out / name, utts)
        if kaldi_out is not None:
            write_kaldi_dir(Path(kaldi_out) / name, utts)
    rep.summary(splits, out)
    return splits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep kaldi", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=named_path, action="append", required=True, metavar="NAME=DIR",
                    help="a Kaldi data dir read as split NAME (repeat: --dir train=... --dir test=...)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (<split>/manifest.jsonl ... + tokens.txt)")
    ap.add_argument("--lexicon", type=Path, help="word -> ARPAbet pronunciations; labels become TIMIT-39 phones")
    ap.add_argument("--word-prons", type=Path, metavar="FILE",
                    help="per-utterance word pronunciations, <utt>.<k> PH ... (speechocean762: resource/text-phone)")
    ap.add_argument("--map", type=Path, help="ARPAbet -> phone map (default: the packaged ARPAbet -> TIMIT-39 map)")
    ap.add_argument("--unit", choices=["phone", "word", "char"], help="label unit (default: phone with --lexicon, else word)")
    ap.add_argument("--root", type=Path, help="where relative wav.scp paths start (default: the data dir's parent)")
    ap.add_argument("--valid-from", metavar="NAME", help="move --valid-speakers speakers of this split to 'valid'")
    ap.add_argument("--valid-speakers", type=int, default=0, help="how many speakers (default 0)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the speaker choice (default 0)")
    ap.add_argument("--kaldi-out", type=Path, help="also write every split as a Kaldi data dir here")
    args = ap.parse_args(argv)
    if args.valid_speakers < 0:
        ap.error("--valid-speakers must be >= 0")
    return run_reporting_errors(PROG, lambda: prepare_kaldi(
        dict(args.dir), args.out, args.lexicon, args.map, args.unit, args.root, args.valid_from,
        args.valid_speakers, args.seed, args.kaldi_out, args.word_prons))


if __name__ == "__main__":
    sys.exit(main())
