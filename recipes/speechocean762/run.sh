#!/usr/bin/env bash
# Speaker-independent English phone recognition on speechocean762: 5,000 read English utterances
# by 250 Mandarin-L1 speakers (half children), 125 train / 125 test speakers, disjoint. Labels are
# the corpus's canonical pronunciations (resource/text-phone, ARPAbet folded to TIMIT-39), not what
# each learner said. The test speakers are never seen in training or tuning: valid is a
# speaker-disjoint slice of the train speakers.
#
#   recipes/speechocean762/run.sh --corpus DIR [--init MODEL] [--conf conf/bilstm.yaml] [--tag NAME]
#                                 [--valid-speakers 12] [--perturb ""] [--stage N] [--stop-stage M] [key=value ...]
#
# DIR: a copy of github.com/jimbozhang/speechocean762 (or openslr SLR101), with train/ test/ resource/ WAVE/.
# Stages: 1 data (recog prep kaldi), 2 features (+ CMVN; --perturb e.g. "speed0.9,speed1.1" adds
# perturbed copies of train), 3 train, 4 decode (greedy), 5 score (PER, by speaker, gender, age), 6 package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SPEECHOCEAN762:-}
stage=1 stop_stage=6
conf=$here/conf/bilstm.yaml
tag= work=$here package_dir= init= valid_speakers=12 perturb=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (speechocean762: train/ test/ resource/ WAVE/)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}

. "$here/../stages.sh"

if run_stage 1; then
  prons=(); [ -f "$corpus/resource/text-phone" ] && prons=(--word-prons "$corpus/resource/text-phone")
  prep_data 1 "speaker-disjoint valid: $valid_speakers train speakers" kaldi \
    --dir "train=$corpus/train" --dir "test=$corpus/test" --lexicon "$corpus/resource/lexicon.txt" "${prons[@]}" \
    --valid-from train --valid-speakers "$valid_speakers"
fi
if run_stage 2; then
  extract_features 2 train train valid test
  if [ -n "$perturb" ] && [ ! -f "$feats/train_perturbed/manifest.jsonl" ]; then
    recog features --config "$conf" --data "$data/train" --out "$feats/train_perturbed" --perturb "$perturb" \
      "${overrides[@]}"
  fi
fi
if run_stage 3; then
  [ -n "$perturb" ] && train_set=train_perturbed
  train_model 3 valid --cmvn "$feats/train/cmvn.pt"
fi
if run_stage 4; then decode_features 4 0 valid test; fi
if run_stage 5; then for s in valid test; do score_phones 5 text "$s" -- --per-spk "$data/$s"; done; fi
if run_stage 6; then package_model 6 speechocean762; fi
