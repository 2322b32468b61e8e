#!/usr/bin/env bash
# IAM text lines with recog: the real IAM database, or a synthetic corpus in its layout
# (python -m data_prep.synth_lines --out DIR).
#
#   recipes/iam/run.sh --corpus DIR [--lists DIR] [--conf conf/bilstm.yaml] [--stage N] [--stop-stage M] [key=value ...]
#
# Split lists: DIR/{train,valid,test}.txt (line or form ids).  Default: CORPUS/splits/ (what the
# synthetic generator writes) if it exists, else conf/aachen/: the Aachen/RWTH line split of real
# IAM used by Puigcerver 2017 and PyLaia (6,161 / 966 / 2,915 lines, writers disjoint).
# Stages: 1 data, 2 features, 3 train, 4 decode, 5 score (CER, WER), 6 package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${IAM:-}
stage=1 stop_stage=6
conf=$here/conf/bilstm.yaml
tag= work=$here package_dir= lists= init= train_set=train
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (with ascii/lines.txt and lines/)" >&2; exit 2; }
if [ -z "$lists" ]; then lists=$corpus/splits; [ -d "$lists" ] || lists=$here/conf/aachen; fi
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}

. "$here/../stages.sh"

if run_stage 1; then
  prep_data 1 "split lists from $lists" iam --corpus "$corpus" \
    --train "$lists/train.txt" --valid "$lists/valid.txt" --test "$lists/test.txt"
fi
if run_stage 2; then extract_features 2 "" train valid test; fi
if run_stage 3; then train_model 3 valid; fi
if run_stage 4; then decode_features 4 0 valid test; fi
if run_stage 5; then score_text 5 valid test; fi
if run_stage 6; then package_model 6 iam; fi
