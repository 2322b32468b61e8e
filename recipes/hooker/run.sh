#!/usr/bin/env bash
# Joseph Hooker letters (handwritten lines, images + .gt.txt, split lists) with recog.
#
#   recipes/hooker/run.sh --corpus /path/to/hooker [--stage N] [--stop-stage M] [--conf conf/bilstm.yaml]
#                         [--init MODEL] [--tag NAME] [--work DIR] [key=value overrides]
#
# Stages: 1 data, 2 features, 3 train, 4 decode, 5 score, 6 package.  Re-running skips stages whose
# output is complete; training resumes from exp/<tag>/last.pt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${HOOKER:-}
stage=1
stop_stage=6
conf=$here/conf/bilstm.yaml
tag=
work=$here
package_dir=
init=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (the Hooker folder with lines/ and train.lst ...)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$work/exp/$tag/package}
mkdir -p "$work"

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  if [ -f "$data/tokens.txt" ]; then echo "stage 1: $data exists, skipped"; else
    echo "stage 1: data"
    recog prep lines --corpus "$corpus" --out "$data"
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "stage 2: features"
  for s in train valid test; do
    if [ -f "$feats/$s/manifest.jsonl" ]; then echo "  $s done, skipped"; continue; fi
    recog features --config "$conf" --data "$data/$s" --out "$feats/$s" "${overrides[@]}"
  done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "stage 3: train -> $exp"
  extra=(); [ -n "$init" ] && extra=(--init "$init")
  recog train --config "$conf" --train "$feats/train" --valid "$feats/valid" --tokens "$data/tokens.txt" \
    --exp "$exp" "${extra[@]}" "${overrides[@]}"
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  echo "stage 4: decode (greedy) with recog transcribe on the original images"
  for s in valid test; do
    mkdir -p "$exp/decode_$s"
    jq_paths=$(python3 -c 'import json,sys; [print(json.loads(l)["path"]) for l in open(sys.argv[1])]' "$data/$s/manifest.jsonl")
    echo "$jq_paths" > "$exp/decode_$s/inputs.lst"
    recog transcribe --model "$exp/best.pt" --files-from "$exp/decode_$s/inputs.lst" --out "$exp/decode_$s/hyp.txt" || true
  done
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  echo "stage 5: score"
  for s in valid test; do
    for unit in char word; do
      recog score "$data/$s/text" "$exp/decode_$s/hyp.txt" --unit $unit --confusions 0 | tee "$exp/decode_$s/score_$unit.txt"
    done
  done
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  echo "stage 6: package -> $package_dir"
  recog package "$exp" "$package_dir" --meta recipe=recipes/hooker --meta config="$(basename "$conf")"
fi
