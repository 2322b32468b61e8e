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

. "$here/../stages.sh"

if run_stage 1; then
  prep_data 1 "$phones phones for training, 39 for scoring" timit --corpus "$corpus" --phones "$phones" "${lists[@]}"
fi
if run_stage 2; then extract_features 2 train train dev test; fi
if run_stage 3; then train_model 3 dev --cmvn "$feats/train/cmvn.pt"; fi
if run_stage 4; then decode_features 4 "$beam" dev test; fi
if run_stage 5; then score_phones 5 text.39 dev test -- --fold 39; fi

if run_stage 6; then
  echo "stage 6: forced alignment of the test set, boundaries against the .PHN segmentation"
  mkdir -p "$exp/align_test"
  recog align --model "$exp/best.pt" --data "$feats/test" --out "$exp/align_test" | tee "$exp/align_test/score.txt"
fi

if run_stage 7; then package_model 7 timit; fi
