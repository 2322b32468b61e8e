#!/usr/bin/env bash
# IAM text lines with recog: the real IAM database, or a synthetic corpus in its layout
# (python -m data_prep.synth_lines --out DIR).
#
#   recipes/iam/run.sh --corpus DIR [--lists DIR] [--conf conf/bilstm.yaml] [--stage N] [--stop-stage M] [key=value ...]
#
# Split lists: DIR/{train,valid,test}.txt (line or form ids).  Default: CORPUS/splits/ (what the
# synthetic generator writes); for real IAM point --lists at the Aachen/RWTH line split.
# Stages: 1 data, 2 features, 3 train, 4 decode, 5 score (CER, WER), 6 package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${IAM:-}
stage=1 stop_stage=6
conf=$here/conf/bilstm.yaml
tag= work=$here package_dir= lists= init=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (with ascii/lines.txt and lines/)" >&2; exit 2; }
lists=${lists:-$corpus/splits}
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  if [ -f "$data/tokens.txt" ]; then echo "stage 1: $data exists, skipped"; else
    echo "stage 1: data (lists from $lists)"
    recog prep iam --corpus "$corpus" --out "$data" \
      --train "$lists/train.txt" --valid "$lists/valid.txt" --test "$lists/test.txt"
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
  echo "stage 4: decode (greedy)"
  for s in valid test; do
    mkdir -p "$exp/decode_$s"
    recog decode --model "$exp/best.pt" --data "$feats/$s" --out "$exp/decode_$s/hyp.txt" || true
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
  recog package "$exp" "$package_dir" --meta recipe=recipes/iam --meta config="$(basename "$conf")"
fi
