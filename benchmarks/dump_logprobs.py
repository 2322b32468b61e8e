#!/usr/bin/env python
"""Save a packaged model's log-probabilities on a data set, for ``benchmarks/decode.py --logits``.

    python benchmarks/dump_logprobs.py --model pretrained/hooker --data recipes/hooker/data/test \
        --out exp/logits/hooker-test

writes ``OUT/<id>.npy`` (float32 (T, V) log posteriors, exactly what ``recog decode`` searches),
``OUT/text`` (the manifest's references, Kaldi style), ``OUT/tokens.txt`` (the model's symbol
table) and ``OUT/meta.json``.  Features come from the manifest's cached ``feats`` when present,
else from the files, with the model's own settings (:meth:`recog.infer.Transcriber.manifest_features`);
utterances that cannot be read or are too short for the model are skipped and reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from recog.data import Example
from recog.features import FeatureError
from recog.infer import Transcriber
from recog.manifest import read_manifest, write_text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="packaged model (file or folder)")
    ap.add_argument("--data", required=True, help="manifest.jsonl or the folder holding it")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--limit", type=int, default=0, help="first N utterances only")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    tr = Transcriber(args.model, beam=0, batch_size=args.batch_size, device=args.device)
    utts = read_manifest(args.data)
    if args.limit:
        utts = utts[: args.limit]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    refs: list[tuple[str, str]] = []
    skipped: list[str] = []
    pending: list[Example] = []
    t0 = time.perf_counter()

    def flush() -> None:
        if not pending:
            return
        for e, lp in zip(pending, tr.log_probs(pending)):
            np.save(out / f"{e.id}.npy", lp.numpy().astype(np.float32))
            refs.append((e.id, e.text))
        pending.clear()

    for u in utts:
        if "/" in u.id or u.id.startswith("."):
            skipped.append(f"{u.id}: id not usable as a file name")
            continue
        try:
            feats = tr.manifest_features(u)
            n_out = int(tr.recogniser.model.output_lengths(torch.tensor([feats.shape[0]]))[0])
            if feats.shape[0] < 1 or n_out < 1:
                raise FeatureError(f"{u.path}: too short ({feats.shape[0]} frames)")
        except (FeatureError, OSError, ValueError) as e:
            skipped.append(f"{u.id}: {e}")
            continue
        pending.append(Example(u.id, feats, [], u.text or ""))
        if len(pending) >= args.batch_size:
            flush()
    flush()

    write_text(out / "text", refs)
    tr.recogniser.symbols.write(out / "tokens.txt")
    meta = {
        "model": str(args.model), "data": str(args.data), "utterances": len(refs), "skipped": skipped,
        "unit": tr.recogniser.symbols.unit, "vocab": len(tr.recogniser.symbols), "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"{len(refs)} utterances -> {out} ({len(skipped)} skipped)")
    for s in skipped[:20]:
        print(f"  skipped {s}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
