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
same formant table (e.g. iven2/3/4) count as one voice and stay together.  See ``VARIANTS`` in
:mod:`data_prep.synth_timit_plan`:

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
closures (see :mod:`data_prep.timit_segments`).

Speakers cycle through a block of 20: 16 train, 2 dev, 2 core test (dev at positions 1 and 11,
core at 3 and 13), and within a split every 10 speakers 3 are female (positions 2, 5, 8).

Phones and words (.PHN, .WRD): espeak-ng's phoneme and word events, mapped to TIMIT-61 by
:mod:`data_prep.timit_phones` and timed by :mod:`data_prep.timit_segments` (see there).  Speakers
and sentences are planned by :mod:`data_prep.synth_timit_plan`; the sentences come from
:mod:`data_prep.sentences`.

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
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import espeak
from .sentences import load_sentences
from .synth_timit_plan import SPLITS, SpeakerPlan, UttPlan, plan_speakers
from .timit_segments import SR, SR_ESPEAK, check_tiling, convert_segments, timit_segments, word_segments

PROG = "data_prep.synth_timit"

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
