#!/usr/bin/env bash
# Real speech: the Free Spoken Digit Dataset (6 speakers), scored by phone error rate through a
# pronunciation lexicon of the ten digit words (TIMIT-39 phones).
# Speakers are held out: by default the alphabetically last speaker is test, the one before valid.
#
#   recipes/fsdd/run.sh --corpus DIR [--init MODEL] [--conf conf/finetune.yaml] [--tag NAME]
#                           [--stage N] [--stop-stage M] [key=value ...]
#
# Stages: 1 data, 2 features (+ CMVN), 3 train, 4 decode, 5 score (PER), 6 package.
# --init starts from another model (e.g. the synthetic-TIMIT one): its encoder is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${FSDD:-}
stage=1 stop_stage=6
conf=$here/conf/finetune.yaml
tag= work=$here package_dir= init=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (with flac/ or recordings/)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  if [ -f "$data/tokens.txt" ]; then echo "stage 1: $data exists, skipped"; else
    echo "stage 1: data"
    recog prep fsdd --corpus "$corpus" --out "$data"
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
  echo "stage 6: package -> $package_dir"
  recog package "$exp" "$package_dir" --meta recipe=recipes/fsdd --meta config="$(basename "$conf")"
fi
