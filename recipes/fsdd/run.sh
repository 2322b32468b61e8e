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
# --conf conf/greff.yaml trains from scratch with the vanilla LSTM of Greff et al. 2016, model.cell=lstm_nig
# (lstm_nfg, lstm_nog, lstm_niaf, lstm_noaf, lstm_np, lstm_cifg, lstm_fgr) with --tag NAME its variants.
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

. "$here/../stages.sh"

if run_stage 1; then prep_data 1 "" fsdd --corpus "$corpus"; fi
if run_stage 2; then extract_features 2 train train valid test; fi
if run_stage 3; then train_model 3 valid --cmvn "$feats/train/cmvn.pt"; fi
if run_stage 4; then decode_features 4 0 valid test; fi
if run_stage 5; then score_phones 5 text valid test; fi
if run_stage 6; then package_model 6 fsdd; fi
