"""Training-data clean-up with a trained model (``recog filter``).

Line images cut from page scans by polygons sometimes miss their text (a polygon that slid onto the
next line, a crop that cut the letters in half); audio transcripts sometimes belong to another
clip.  A model trained on the corpus still cannot read such an utterance after many epochs, while
it reads the good ones far better.  ``filter_manifest`` decodes a manifest greedily with a
model and splits it at an utterance error rate: the kept records go to a new manifest (the same
records, with the same cached features), the rejected ones to a report with their reference and
what the model read.  Kaldi's ``steps/cleanup`` does the same for speech.

Choose the threshold well above the model's error rate on its training data (the report of the
kept/rejected split is printed), and look at the rejected report before training on the result.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .features.cache import copy_settings
from .manifest import Utterance, write_manifest, write_text
from .metrics import distance, tokenize


@dataclass
class FilterResult:
    kept: list[Utterance]
    rejected: list[tuple[Utterance, float, str]]   # record, error rate (%), hypothesis
    failed: list[str]                               # records that could not be decoded


def utterance_error_rate(ref: str, hyp: str, unit: str) -> float:
    """Errors per reference unit, in per cent (an empty reference: 0 if the hypothesis is empty too,
    else 100)."""
    r, h = tokenize(ref, unit), tokenize(hyp, unit)
    if not r:
        return 0.0 if not h else 100.0
    return 100.0 * distance(r, h) / len(r)


def filter_manifest(model: str | Path, data: str | Path, out: str | Path, max_er: float,
                    batch_size: int = 16, log=print, device: str = "cpu", precision: str = "fp32",
                    progress: bool = False) -> FilterResult:
    """Decode ``data`` (a manifest or its folder) greedily with ``model``; write the records whose
    error rate is at most ``max_er`` (per cent) to ``out/manifest.jsonl`` and ``out/text``, the
    others to ``out/rejected.tsv`` (id, error rate, reference, hypothesis; worst first).  A record
    that cannot be decoded is reported and left out.  ``cmvn.pt`` next to the manifest is copied
    so that ``recog train --train out`` finds the same normalisation.  ``precision``: the
    network's (recog.precision); ``progress``: a bar on stderr (recog.progress)."""
    from .infer import Transcriber

    if not 0 <= max_er:
        raise ValueError(f"--max-er must be >= 0 (per cent), got {max_er}")
    data = Path(data)
    manifest = data / "manifest.jsonl" if data.is_dir() else data
    out = Path(out)
    if out.resolve() == manifest.parent.resolve():
        raise ValueError(f"{out}: the output folder must differ from the input manifest's folder")
    tr = Transcriber(model, beam=0, batch_size=batch_size, device=device, precision=precision, progress=progress)
    if tr.output != "ctc":
        raise ValueError(f"{model}: recog filter compares transcripts; this is a model.output={tr.output} model")
    utts = tr.read_manifest(manifest)
    no_text = [u for u in utts if u.text is None]
    for u in no_text:
        log(f"error: {manifest}: record {u.id} has no transcript to compare with; left out")
    utts = [u for u in utts if u.text is not None]
    unit = tr.recogniser.symbols.unit
    results, failed = tr.transcribe_manifest(utts, on_error=lambda e: log(f"error: {e}"))
    failed = [f"{u.id}: no transcript" for u in no_text] + failed
    hyps = {uid: tr.recogniser.symbols.decode(hyp.tokens) for uid, hyp, *_ in results}
    kept, rejected = [], []
    for u in utts:
        if u.id not in hyps:
            continue
        er = utterance_error_rate(u.text, hyps[u.id], unit)
        if er <= max_er:
            kept.append(u)
        else:
            rejected.append((u, er, hyps[u.id]))
    rejected.sort(key=lambda r: (-r[1], r[0].id))
    write_manifest(out / "manifest.jsonl", kept)
    write_text(out / "text", [(u.id, u.text) for u in kept])
    with open(out / "rejected.tsv", "w", encoding="utf-8") as f:
        f.write("id\terror_rate\treference\thypothesis\n")
        for u, er, h in rejected:
            f.write(f"{u.id}\t{er:.1f}\t{u.text}\t{h}\n")
    if (manifest.parent / "cmvn.pt").exists():
        shutil.copyfile(manifest.parent / "cmvn.pt", out / "cmvn.pt")
    copy_settings(manifest.parent, out)
    log(f"{manifest}: kept {len(kept)}, rejected {len(rejected)} above {max_er:g}% {unit} errors"
        f"{f', {len(failed)} could not be decoded' if failed else ''} -> {out}")
    return FilterResult(kept, rejected, failed)
