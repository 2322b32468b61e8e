#!/usr/bin/env bash
# One English phone recogniser (TIMIT-39 phones less sil and dx: the 37 an ARPAbet lexicon gives)
# over every English speech corpus at hand, mixed with weights: speechocean762 (250 Mandarin-L1
# speakers, half children), LJSpeech (one US speaker), FSDD (spoken digits, 8 kHz; speakers held
# out) and the synthetic TIMIT-layout corpus (espeak-ng voices; held-out voices). Each corpus keeps
# its own valid and test speakers; every test set is scored on its own.
#
#   recipes/english_phones/run.sh [--so762 DIR] [--ljspeech DIR] [--fsdd DIR] [--synth DIR]
#        [--weights so762=1,ljspeech=1,fsdd=1,synth=1] [--init MODEL] [--conf conf/bilstm.yaml]
#        [--tag NAME] [--perturb speed0.9,speed1.1] [--so762-valid-speakers 12]
#        [--stage N] [--stop-stage M] [key=value ...]
#
# Corpora: --so762 github.com/jimbozhang/speechocean762 (or openslr SLR101); --ljspeech LJSpeech
# clips with MFA TextGrids (recipes/ljspeech); --fsdd the free-spoken-digit-dataset repository;
# --synth `python -m data_prep.synth_timit --out DIR` (recipes/timit). At least one is needed.
# Stages: 1 data, 2 features (--perturb: speed copies of every training set), 3 mix (train and valid
# with the weights; each test set relabelled into the shared table), 4 train, 5 decode (greedy),
# 6 score (PER per corpus; speechocean762 by speaker, gender and age), 7 package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
so762= ljspeech= fsdd= synth= so762_valid_speakers=12
weights=so762=1,ljspeech=1,fsdd=1,synth=1
stage=1 stop_stage=7
conf=$here/conf/bilstm.yaml
tag= work=$here package_dir= init= perturb=
. "$here/../parse_options.sh"
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}
tokens=$here/conf/tokens.txt
declare -A corpus=([so762]=$so762 [ljspeech]=$ljspeech [fsdd]=$fsdd [synth]=$synth)
names=(); for n in so762 ljspeech fsdd synth; do [ -n "${corpus[$n]}" ] && names+=("$n"); done
[ ${#names[@]} -gt 0 ] || { echo "usage: $0 --so762 DIR and/or --ljspeech DIR --fsdd DIR --synth DIR (--help)" >&2; exit 2; }
weight() { local w; w=$(tr ',' '\n' <<<"$weights" | sed -n "s/^$1=//p"); echo "${w:-1}"; }
valid_of() { [ "$1" = synth ] && echo dev || echo valid; }

. "$here/../stages.sh"

if run_stage 1; then
  echo "stage 1: data"
  for n in "${names[@]}"; do
    d=$data/$n c=${corpus[$n]}
    if [ -f "$d/tokens.txt" ]; then echo "  $n: $d exists, skipped"; continue; fi
    case $n in
      so762) prons=(); [ -f "$c/resource/text-phone" ] && prons=(--word-prons "$c/resource/text-phone")
             recog prep kaldi --dir "train=$c/train" --dir "test=$c/test" --lexicon "$c/resource/lexicon.txt" \
               "${prons[@]}" --valid-from train --valid-speakers "$so762_valid_speakers" --out "$d" ;;
      ljspeech) recog prep ljspeech --corpus "$c" --out "$d" ;;
      fsdd) recog prep fsdd --corpus "$c" --out "$d" ;;
      synth) recog prep timit --corpus "$c" --out "$d" --phones 39 --dev-spk "$c/dev_spk.list" \
               --core-spk "$c/core_test_spk.list" ;;
    esac
  done
fi
if run_stage 2; then
  echo "stage 2: features"
  for n in "${names[@]}"; do
    for s in train "$(valid_of "$n")" test; do
      if [ -f "$feats/$n/$s/manifest.jsonl" ]; then continue; fi
      recog features --config "$conf" --data "$data/$n/$s" --out "$feats/$n/$s" "${overrides[@]}"
    done
    if [ -n "$perturb" ] && [ ! -f "$feats/$n/train_sp/manifest.jsonl" ]; then
      recog features --config "$conf" --data "$data/$n/train" --out "$feats/$n/train_sp" --perturb "$perturb" "${overrides[@]}"
    fi
  done
fi
if run_stage 3; then
  echo "stage 3: mix (weights $weights)"
  tr_in=() va_in=()
  for n in "${names[@]}"; do
    t=train; [ -n "$perturb" ] && t=train_sp
    tr_in+=(--in "$n=$feats/$n/$t:$(weight "$n")")
    va_in+=(--in "$n=$feats/$n/$(valid_of "$n")")
    recog prep mix --in "$n=$feats/$n/test" --tokens "$tokens" --drop sil --replace dx=t --out "$feats/test_$n"
  done
  recog prep mix "${tr_in[@]}" --tokens "$tokens" --drop sil --replace dx=t --out "$feats/train_mix"
  recog prep mix "${va_in[@]}" --tokens "$tokens" --drop sil --replace dx=t --out "$feats/valid_mix"
fi
if run_stage 4; then
  echo "stage 4: train -> $exp"
  extra=(); [ -n "$init" ] && extra=(--init "$init")
  recog train --config "$conf" --train "$feats/train_mix" --valid "$feats/valid_mix" --tokens "$tokens" \
    --exp "$exp" "${extra[@]}" "${overrides[@]}"
fi
if run_stage 5; then decode_features 5 0 "${names[@]/#/test_}"; fi
if run_stage 6; then
  echo "stage 6: score"
  for n in "${names[@]}"; do
    args=(); [ "$n" = so762 ] && { sed 's/^/so762-/' "$data/so762/test/utt2spk" > "$feats/test_so762/utt2spk"
      cp "$data/so762/test/spk2gender" "$data/so762/test/spk2age" "$feats/test_so762/"; args=(--per-spk "$feats/test_so762"); }
    recog score "$feats/test_$n/text" "$exp/decode_test_$n/hyp.txt" --unit phone --confusions 10 "${args[@]}" \
      | tee "$exp/decode_test_$n/score.txt"
  done
fi
if run_stage 7; then package_model 7 english_phones; fi
