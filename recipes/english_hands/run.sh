#!/usr/bin/env bash
# One handwriting model for English hands it has never seen: the Hooker letters (one real hand,
# lines re-cut from the pages) and the synthetic IAM-layout corpus (162 handwriting-style font
# families from Debian and Google Fonts; the validation and test families never trained on) in
# mixed batches, with writer-style augmentation (train.writer_style: baseline wobble, margins, ink
# and paper texture, blur, JPEG) on top of the usual distortions, and the dewarp and deslant normalisations.
#
#   recipes/english_hands/run.sh --hooker DIR --synth DIR [--synth-lines 40000] [--fold-valid true]
#        [--weights hooker=1,synth=0.33] [--valid-synth 0.1] [--init MODEL] [--conf conf/bilstm.yaml]
#        [--tag NAME] [--work DIR] [--stage N] [--stop-stage M] [key=value ...]
#
# --hooker: a folder of line images + .gt.txt with train.lst/valid.lst/test.lst (recipes/hooker
# stage 0 cuts it from github.com/jschaefer738b/JosephHookerHTR); --fold-valid true also trains on
# 26 of its 34 valid pages (recipes/hooker/lists), as pretrained/hooker did.  --synth: an IAM-layout
# corpus (ascii/lines.txt, lines/, splits/); stage 0 generates it there with --synth-lines N
# (`python -m data_prep.synth_lines --google-fonts --install-fonts`, seed 0) when it is missing.
# Stages: 0 synthetic corpus, 1 data, 2 features (line lengths for batching and the valid error),
# 3 symbol table (the union of the corpora's) and mixes (train with --weights; valid: all Hooker valid
# lines and a seeded --valid-synth share of the synthetic ones), 4 train, 5 decode (recog transcribe
# on the original images of hooker/valid, hooker/test, synth/test), 6 score (CER and WER per set),
# 7 package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hooker= synth= synth_lines=0 fold_valid=false
weights=hooker=1,synth=0.33 valid_synth=0.1
stage=0 stop_stage=7
conf=$here/conf/bilstm.yaml
tag= work=$here package_dir= init=
. "$here/../parse_options.sh"
[ -n "$hooker" ] && [ -n "$synth" ] || { echo "usage: $0 --hooker DIR --synth DIR (--help)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}
weight() { local w; w=$(tr ',' '\n' <<<"$weights" | sed -n "s/^$1=//p"); echo "${w:-1}"; }

. "$here/../stages.sh"

if run_stage 0 && [ ! -f "$synth/ascii/lines.txt" ]; then
  [ "$synth_lines" -gt 0 ] || { echo "$0: $synth holds no corpus (ascii/lines.txt): give --synth-lines N to generate it" >&2; exit 2; }
  echo "stage 0: synthetic corpus ($synth_lines lines) -> $synth"
  python3 -m data_prep.synth_lines --google-fonts --install-fonts --lines "$synth_lines" --ratios 0.9,0.05,0.05 \
    --seed 0 --out "$synth"
fi
if run_stage 1; then
  echo "stage 1: data"
  if [ -f "$data/hooker/tokens.txt" ]; then echo "  hooker: exists, skipped"
  elif [ "$fold_valid" = true ]; then
    mkdir -p "$data"; cat "$hooker/train.lst" "$here/../hooker/lists/valid_fold.lst" > "$data/hooker_train.lst"
    recog prep lines --corpus "$hooker" --train "$data/hooker_train.lst" --valid "$here/../hooker/lists/valid_held.lst" \
      --out "$data/hooker"
  else
    recog prep lines --corpus "$hooker" --out "$data/hooker"
  fi
  if [ -f "$data/synth/tokens.txt" ]; then echo "  synth: exists, skipped"
  else
    recog prep iam --corpus "$synth" --train "$synth/splits/train.txt" --valid "$synth/splits/valid.txt" \
      --test "$synth/splits/test.txt" --out "$data/synth"
  fi
fi
if run_stage 2; then extract_features 2 "" hooker/train hooker/valid synth/train synth/valid; fi
if run_stage 3; then
  echo "stage 3: symbol table, mixes (weights $weights; valid: synthetic share $valid_synth)"
  python3 - "$data/tokens.txt" "$data/hooker/tokens.txt" "$data/synth/tokens.txt" <<'PY'
import sys
from recog.tokens import SymbolTable
tables = [SymbolTable.read(p) for p in sys.argv[2:]]
union = list(dict.fromkeys(s for t in tables for s in t.symbols))     # blank first, then first-seen order
SymbolTable(union, tables[0].unit).write(sys.argv[1])
print(f"  {len(union)} symbols ({', '.join(f'{len(t)}' for t in tables)} in the inputs)")
PY
  recog prep mix --in "hooker=$feats/hooker/train:$(weight hooker)" --in "synth=$feats/synth/train:$(weight synth)" \
    --tokens "$data/tokens.txt" --out "$feats/train_mix"
  recog prep mix --in "hooker=$feats/hooker/valid" --in "synth=$feats/synth/valid:$valid_synth" \
    --tokens "$data/tokens.txt" --out "$feats/valid_mix"
fi
if run_stage 4; then
  echo "stage 4: train -> $exp"
  extra=(); [ -n "$init" ] && extra=(--init "$init")
  recog train --config "$conf" --train "$feats/train_mix" --valid "$feats/valid_mix" --tokens "$data/tokens.txt" \
    --exp "$exp" "${extra[@]}" "${overrides[@]}"
fi
if run_stage 5; then decode_images 5 hooker/valid hooker/test synth/test; fi
if run_stage 6; then score_text 6 hooker/valid hooker/test synth/test; fi
if run_stage 7; then package_model 7 english_hands; fi
