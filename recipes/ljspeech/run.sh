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

. "$here/../stages.sh"

if run_stage 1; then prep_data 1 "" ljspeech --corpus "$corpus"; fi
if run_stage 2; then extract_features 2 train train valid test; fi
if run_stage 3; then train_model 3 valid --cmvn "$feats/train/cmvn.pt"; fi
if run_stage 4; then decode_features 4 0 valid test; fi
if run_stage 5; then score_phones 5 text valid test; fi

if run_stage 6; then
  echo "stage 6: forced alignment; per-phone boundary offsets fitted on train, test boundaries against MFA"
  mkdir -p "$exp/align_train" "$exp/align_test"
  recog align --model "$exp/best.pt" --data "$feats/train" --out "$exp/align_train" \
    --fit-offsets "$exp/boundary_offsets.json" | tee "$exp/align_train/score.txt"
  recog align --model "$exp/best.pt" --data "$feats/test" --out "$exp/align_test" \
    --offsets "$exp/boundary_offsets.json" | tee "$exp/align_test/score.txt"
fi

if run_stage 7; then
  package_model 7 ljspeech
  cp "$exp/boundary_offsets.json" "$package_dir/"
fi
