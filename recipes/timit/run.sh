#!/usr/bin/env bash
# TIMIT phone recognition with recog (the real corpus, or a synthetic one in the same layout).
#
#   recipes/timit/run.sh --corpus /path/to/TIMIT [--phones 61|48] [--conf conf/fast_cpu.yaml]
#                        [--stage N] [--stop-stage M] [key=value overrides]
#
# Stages: 1 data, 2 features (+ CMVN), 3 train, 4 decode, 5 score (39 phones), 6 align the test set
# and score phone boundaries against the .PHN times (61-phone models), 7 package.
# Re-running skips finished stages; training resumes from exp/<tag>/last.pt.
# For a synthetic corpus, pass its own speaker lists: --dev-spk CORPUS/dev_spk.list --core-spk ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${TIMIT:-}
stage=1 stop_stage=7 phones=61 beam=0
conf=$here/conf/fast_cpu.yaml
tag= work=$here package_dir= dev_spk= core_spk=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (the TIMIT root with TRAIN/ and TEST/)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)_p$phones}
data=$work/data_p$phones feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}
# the standard TIMIT lists and the Lee & Hon 60-48-39 map (Kaldi's) live in conf/
lists=(--dev-spk "${dev_spk:-$here/conf/dev_spk.list}" --core-spk "${core_spk:-$here/conf/core_test_spk.list}"
       --map "$here/conf/phones.60-48-39.map")

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  if [ -f "$data/tokens.txt" ]; then echo "stage 1: $data exists, skipped"; else
    echo "stage 1: data ($phones phones for training, 39 for scoring)"
    recog prep timit --corpus "$corpus" --out "$data" --phones "$phones" "${lists[@]}"
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "stage 2: features"
  for s in train dev test; do
    if [ -f "$feats/$s/manifest.jsonl" ]; then echo "  $s done, skipped"; continue; fi
    cmvn=(); [ $s = train ] && cmvn=(--cmvn)
    recog features --config "$conf" --data "$data/$s" --out "$feats/$s" "${cmvn[@]}" "${overrides[@]}"
  done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "stage 3: train -> $exp"
  recog train --config "$conf" --train "$feats/train" --valid "$feats/dev" --tokens "$data/tokens.txt" \
    --cmvn "$feats/train/cmvn.pt" --exp "$exp" "${overrides[@]}"
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  echo "stage 4: decode (beam $beam; 0 = greedy)"
  for s in dev test; do
    mkdir -p "$exp/decode_$s"
    recog decode --model "$exp/best.pt" --data "$feats/$s" --beam "$beam" --out "$exp/decode_$s/hyp.txt" || true
  done
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  echo "stage 5: score on 39 phones"
  for s in dev test; do
    recog score "$data/$s/text.39" "$exp/decode_$s/hyp.txt" --unit phone --fold 39 --confusions 10 \
      --per-utt "$exp/decode_$s/per_utt.txt" | tee "$exp/decode_$s/score.txt"
  done
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  echo "stage 6: forced alignment of the test set, boundaries against the .PHN segmentation"
  mkdir -p "$exp/align_test"
  recog align --model "$exp/best.pt" --data "$feats/test" --out "$exp/align_test" | tee "$exp/align_test/score.txt"
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "stage 7: package -> $package_dir"
  recog package "$exp" "$package_dir" --meta recipe=recipes/timit --meta config="$(basename "$conf")"
fi
