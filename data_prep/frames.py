"""Frame labels for framewise phone classification (``model.output: frame``; Graves & Schmidhuber
2005): every feature frame of a features folder gets the phone whose segment covers the frame's
centre.

Frame t of the features (``recog features``: ``frame_length_ms`` L, ``frame_shift_ms`` S, read
from the folder's ``features.json``) covers [t S, t S + L) ms; its label is that of the segment
holding its centre, t S + L / 2.  Phone times come from each record's

* ``segments``: ``[[start_s, end_s, phone], ...]`` in seconds (LJSpeech with MFA alignments), or
* ``phn``: a TIMIT ``.PHN`` file (sample offsets at the audio's rate), its 61 phones folded to
  ``--phones`` (39: closures and pauses become ``sil``; ``q``, which the 39 set deletes, takes the
  label of the phone before it).

A frame outside every segment (MFA leaves silences out) is labelled ``--gap`` (``sil``).  The
output folder is the input's manifest with ``frame_labels`` (and ``text``, the same labels, the
reference ``recog score --unit label`` reads), the input's ``features.json`` and ``cmvn.pt``, and
``tokens.txt`` of the labels seen (``--tokens-from`` a training folder's table instead, so every
split shares one).  A record without times, or whose cached features are missing, is reported
and skipped.

    recog prep frames --data FEATS/train --out FRAMES/train [--phones 39] [--gap sil]
"""

from __future__ import annotations

import argparse
import bisect
import json
import shutil
import sys
from pathlib import Path

import soundfile as sf

from recog.manifest import Utterance, read_manifest
from recog.phones import fold
from recog.tokens import SymbolTable

from .common import Reporter, run_reporting_errors, write_split, write_tokens
from .timit import read_phn

PROG = "recog prep frames"


def segments_of(u: Utterance, phones: int) -> list[tuple[float, float, str]]:
    """The record's phone segments in seconds, ``[(start, end, phone), ...]`` in time order.
    Raises ValueError when it has none (no ``segments``, no ``phn``)."""
    if u.extra.get("segments"):
        return sorted((float(a), float(b), str(p)) for a, b, p in u.extra["segments"])
    phn = u.extra.get("phn")
    if not phn:
        raise ValueError("no phone times (neither 'segments' nor 'phn')")
    rate = sf.info(u.path).samplerate
    out: list[tuple[float, float, str]] = []
    for a, b, p in read_phn(phn):
        folded = fold([p], phones)
        label = folded[0] if folded else (out[-1][2] if out else "sil")
        out.append((a / rate, b / rate, label))
    return out


def frame_labels(segs: list[tuple[float, float, str]], n: int, length_ms: float, shift_ms: float,
                 gap: str) -> list[str]:
    """The label of each of ``n`` frames: the segment holding the frame's centre, else ``gap``."""
    starts = [s for s, _, _ in segs]
    labels = []
    for t in range(n):
        c = (t * shift_ms + length_ms / 2) / 1000.0
        i = bisect.bisect_right(starts, c) - 1
        labels.append(segs[i][2] if i >= 0 and c < segs[i][1] else gap)
    return labels


def prepare_frames(data: Path, out: Path, phones: int = 39, gap: str = "sil", tokens_from: Path | None = None
                   ) -> list[Utterance]:
    """Write ``out`` (see the module docstring); returns the records written."""
    data, out = Path(data), Path(out)
    rep = Reporter(PROG)
    settings = data / "features.json"
    if not settings.exists():
        raise FileNotFoundError(f"{settings}: not a features folder (recog features writes it)")
    audio = json.loads(settings.read_text()).get("audio") or {}
    length_ms, shift_ms = float(audio.get("frame_length_ms", 25.0)), float(audio.get("frame_shift_ms", 10.0))
    kept: list[Utterance] = []
    for u in read_manifest(data / "manifest.jsonl"):
        if not u.num_frames:
            rep.warn("no frames", f"{u.id}: no cached features (num_frames) in {data}; skipped")
            continue
        try:
            segs = segments_of(u, phones)
        except (ValueError, OSError, RuntimeError) as e:
            rep.warn("no times", f"{u.id}: {e}; skipped")
            continue
        labels = frame_labels(segs, int(u.num_frames), length_ms, shift_ms, gap)
        extra = {k: v for k, v in u.extra.items() if k != "segments"}
        extra["frame_labels"] = " ".join(labels)
        kept.append(Utterance(id=u.id, path=u.path, text=" ".join(labels), speaker=u.speaker, feats=u.feats,
                              num_frames=u.num_frames, extra=extra))
    if not kept:
        raise ValueError(f"{data}: no record could be labelled")
    write_split(out.parent, out.name, kept)
    for name in ("features.json", "cmvn.pt"):
        if (data / name).exists():
            shutil.copyfile(data / name, out / name)
    if tokens_from:
        SymbolTable.read(tokens_from).write(out / "tokens.txt")
    else:
        write_tokens(out, kept, unit="word")
    rep.summary({out.name: kept}, out)
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a features folder (recog features --out)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (manifest, text, tokens.txt)")
    ap.add_argument("--phones", type=int, choices=[61, 60, 48, 39], default=39, help="TIMIT .PHN phones folded to")
    ap.add_argument("--gap", default="sil", help="label of frames outside every segment")
    ap.add_argument("--tokens-from", type=Path, help="tokens.txt to copy instead of the labels seen here")
    args = ap.parse_args(argv)
    return run_reporting_errors(PROG, lambda: prepare_frames(args.data, args.out, args.phones, args.gap,
                                                             args.tokens_from))


if __name__ == "__main__":
    sys.exit(main())
