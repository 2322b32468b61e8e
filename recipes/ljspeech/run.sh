#!/usr/bin/env bash
# Real speech: LJSpeech clips with Montreal-Forced-Aligner TextGrids, phones folded to TIMIT-39.
# Splits by clip id (every 10th clip is test, 5% of the rest valid); no clip is in two splits.
#
#   recipes/ljspeech/run.sh --corpus DIR [--init MODEL] [--conf conf/finetune.yaml] [--tag NAME]
#                           [--stage N] [--stop-stage M] [key=value ...]
#
# Stages: 1 data, 2 features (+ CMVN), 3 train, 4 decode, 5 score (PER), 6 align (per-phone boundary
# offsets fitted on train; test boundaries vs MFA), 7 package (model.pt + boundary_offsets.json).
# --init starts from another model (e.g. the synthetic-TIMIT one): its encoder is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${LJSPEECH:-}
stage=1 stop_stage=7
conf=$here/conf/finetune.yaml
tag= work=$here package_dir= init=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (with flac/ or wavs/ and TextGrid/)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  if [ -f "$data/tokens.txt" ]; then echo "stage 1: $data exists, skipped"; else
    echo "stage 1: data"
    recog prep ljspeech --corpus "$corpus" --out "$data"
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "stage 2: features"
  for s in train valid test; do
    if [ -f "$feats/$s/manifest.jsonl" ]; then echo "  $s done, skipped"; continue; fi
    cmvn=(); [ $s = train ] && cmvn=(--cmvn)
    recog features --config "$conf" --data "$data/$s" --out "$feats/$s" "${cmvn[@]}" "${overrides[@]}"
  done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "stage 3: train -> $exp"
  extra=(); [ -n "$init" ] && extra=(--init "$init")
  recog train --config "$conf" --train "$feats/train" --valid "$feats/valid" --tokens "$data/tokens.txt" \
    --cmvn "$feats/train/cmvn.pt" --exp "$exp" "${extra[@]}" "${overrides[@]}"
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
    recog score "$data/$s/text" "$exp/decode_$s/hyp.txt" --unit phone --confusions 10 \
      --per-utt "$exp/decode_$s/per_utt.txt" | tee "$exp/decode_$s/score.txt"
  done
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  echo "stage 6: forced alignment; per-phone boundary offsets fitted on train, test boundaries against MFA"
  mkdir -p "$exp/align_train" "$exp/align_test"
  recog align --model "$exp/best.pt" --data "$feats/train" --out "$exp/align_train" \
    --fit-offsets "$exp/boundary_offsets.json" | tee "$exp/align_train/score.txt"
  recog align --model "$exp/best.pt" --data "$feats/test" --out "$exp/align_test" \
    --offsets "$exp/boundary_offsets.json" | tee "$exp/align_test/score.txt"
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "stage 7: package -> $package_dir"
  recog package "$exp" "$package_dir" --meta recipe=recipes/ljspeech --meta config="$(basename "$conf")"
  cp "$exp/boundary_offsets.json" "$package_dir/"
fi
