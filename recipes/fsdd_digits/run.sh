#!/usr/bin/env bash
# Spoken-digit classification, leave one speaker out: the Free Spoken Digit Dataset's speakers each
# in turn are the test speaker, never heard in training or tuning; the next speaker (alphabetically,
# wrapping round) is the valid speaker that picks best.pt; the others train.  A sequence-to-label
# model (model.output: label) prints the digit's word.  The last stage tabulates accuracy per
# held-out speaker and the mean.
#
#   recipes/fsdd_digits/run.sh --corpus DIR [--conf conf/bilstm.yaml] [--tag NAME] [--work DIR]
#                              [--speakers "a b ..."] [--init MODEL] [--perturb speed0.9,speed1.1]
#                              [--stage N] [--stop-stage M] [key=value ...]
#
# DIR: the FSDD repository (recordings/) or any folder of {digit}_{speaker}_{index}.wav|flac.
# --init MODEL starts every fold from MODEL's encoder (conf/bilstm_init.yaml with pretrained/ljspeech).
# --perturb LIST trains on the training speakers' recordings plus those copies (`recog features --perturb`:
# speedF, vtlpA, narrowband ...), in feats/train_sp (made again for another list).
# Stages, for every held-out speaker in WORK/SPEAKER/: 1 data (recog prep fsdd --target digit),
# 2 features, 3 train, 4 decode test (best.pt), 5 score (accuracy, confusion matrix); then 6 the table
# (WORK/exp-TAG.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${FSDD:-}
stage=1 stop_stage=6
conf=$here/conf/bilstm.yaml
tag= work=$here speakers= init= perturb=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (FSDD: recordings/ or flac/)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
if [ -z "$speakers" ]; then  # every speaker of the corpus, from the file names
  speakers=$(find -L "$corpus" -maxdepth 2 -type f \( -name '*.wav' -o -name '*.flac' \) -printf '%f\n' \
    | sed -n 's/^[0-9]*_\([A-Za-z0-9-]*\)_[0-9]*\.[a-z]*$/\1/p' | sort -u | tr '\n' ' ')
fi
read -r -a spk <<<"$speakers"
[ ${#spk[@]} -ge 3 ] || { echo "$0: need at least 3 speakers (train, valid, test); found: ${spk[*]:-none}" >&2; exit 2; }

. "$here/../stages.sh"

for i in "${!spk[@]}"; do
  test_spk=${spk[$i]} valid_spk=${spk[$(( (i + 1) % ${#spk[@]} ))]}
  data=$work/$test_spk/data feats=$work/$test_spk/feats exp=$work/$test_spk/exp/$tag
  echo "== held out: $test_spk (valid: $valid_spk)"
  if run_stage 1; then prep_data 1 "test $test_spk, valid $valid_spk" fsdd --corpus "$corpus" --target digit \
    --test-speakers "$test_spk" --valid-speakers "$valid_spk"; fi
  if run_stage 2; then
    extract_features 2 "" train valid test
    # the copies are made again when --perturb names another list than the one they were made with
    if [ -n "$perturb" ] && [ "$(cat "$feats/train_sp/perturb.txt" 2>/dev/null)" != "$perturb" ]; then
      rm -rf "$feats/train_sp"
      recog features --config "$conf" --data "$data/train" --out "$feats/train_sp" --perturb "$perturb" "${overrides[@]}"
      echo "$perturb" > "$feats/train_sp/perturb.txt"
    fi
  fi
  train_set=train; [ -n "$perturb" ] && train_set=train_sp
  if run_stage 3; then train_model 3 valid; fi
  if run_stage 4; then decode_features 4 0 test; fi
  if run_stage 5; then score_outputs 5 label test; fi
done

if run_stage 6; then
  echo "stage 6: table -> $work/exp-$tag.md"
  {
    echo "| held-out speaker | test recordings | accuracy % |"
    echo "|---|---|---|"
    for s in "${spk[@]}"; do
      f=$work/$s/exp/$tag/decode_test/score.txt
      [ -f "$f" ] || { echo "| $s | - | (not run) |"; continue; }
      # "%ACC 97.40 [ 487 / 500 ] ..." -> speaker, count, accuracy
      sed -n 's/^%ACC \([0-9.]*\) \[ *[0-9]* *\/ *\([0-9]*\).*/| '"$s"' | \2 | \1 |/p' "$f"
    done
  } > "$work/exp-$tag.md"
  awk -F'|' 'NR > 2 && $4 ~ /[0-9]/ {s += $4; n++} END {if (n) printf "| mean of %d speakers | | %.2f |\n", n, s / n}' \
    "$work/exp-$tag.md" >> "$work/exp-$tag.md"
  cat "$work/exp-$tag.md"
fi
