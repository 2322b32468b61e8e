#!/usr/bin/env bash
# Framewise phone classification (Graves & Schmidhuber 2005): every 10 ms frame labelled with the
# phone that covers it, from exact phone times (the synthetic TIMIT-layout corpus: held-out voices;
# LJSpeech: MFA alignments), by a BiLSTM, a unidirectional LSTM and a framewise MLP
# (conf/{blstm,lstm,mlp}.yaml), scored by framewise accuracy.
#
#   recipes/framewise/run.sh [--synth DIR] [--ljspeech DIR] [--work DIR] [--models "blstm lstm mlp"]
#                            [--tag NAME] [--stage N] [--stop-stage M] [key=value ...]
#
# --synth: `python -m data_prep.synth_timit --out DIR` (recipes/timit), phones folded to 39 (dev
# and core-test speaker lists in DIR); --ljspeech: LJSpeech clips with MFA TextGrids
# (recipes/ljspeech).  At least one.  --tag NAME trains into exp/MODEL_NAME (other seeds or cells
# through key=value: --models blstm --tag nig_s1 model.cell=lstm_nig train.seed=1).  Per corpus C in
# WORK/C/: 1 data, 2 features (the models share them: conf/blstm.yaml's front end), 3 frame labels
# (recog prep frames), 4 train each model, 5 decode the test set (best.pt), 6 score; 7 the table
# (WORK/RESULTS-table.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
synth= ljspeech=
stage=1 stop_stage=7
work=$here models="blstm lstm mlp" tag=
conf=$here/conf/blstm.yaml  # the front end every model shares
. "$here/../parse_options.sh"
declare -A corpus=([synth]=$synth [ljspeech]=$ljspeech)
names=(); for n in synth ljspeech; do [ -n "${corpus[$n]}" ] && names+=("$n"); done
[ ${#names[@]} -gt 0 ] || { echo "usage: $0 --synth DIR and/or --ljspeech DIR (--help)" >&2; exit 2; }
read -r -a model_list <<<"$models"

. "$here/../stages.sh"

for n in "${names[@]}"; do
  c=${corpus[$n]} data=$work/$n/data feats=$work/$n/feats frames=$work/$n/frames
  valid=valid; [ "$n" = synth ] && valid=dev
  echo "== $n"
  if run_stage 1; then
    case $n in
      synth) prep_data 1 "" timit --corpus "$c" --phones 39 --dev-spk "$c/dev_spk.list" --core-spk "$c/core_test_spk.list" ;;
      ljspeech) prep_data 1 "" ljspeech --corpus "$c" ;;
    esac
  fi
  if run_stage 2; then extract_features 2 "" train "$valid" test; fi
  if run_stage 3; then
    echo "stage 3: frame labels -> $frames"
    for s in train "$valid" test; do
      [ -f "$frames/$s/manifest.jsonl" ] && continue
      tok=(); [ "$s" != train ] && tok=(--tokens-from "$frames/train/tokens.txt")
      recog prep frames --data "$feats/$s" --out "$frames/$s" "${tok[@]}"
    done
  fi
  for m in "${model_list[@]}"; do
    exp=$work/$n/exp/$m${tag:+_$tag}
    if run_stage 4; then
      echo "stage 4: train $m -> $exp"
      recog train --config "$here/conf/$m.yaml" --train "$frames/train" --valid "$frames/$valid" \
        --tokens "$frames/train/tokens.txt" --exp "$exp" "${overrides[@]}"
    fi
    if run_stage 5; then
      mkdir -p "$exp/decode_test"
      recog decode --model "$exp/best.pt" --data "$frames/test" --out "$exp/decode_test/hyp.txt"
    fi
    if run_stage 6; then
      recog score "$frames/test/text" "$exp/decode_test/hyp.txt" --unit label --confusions 0 \
        | tee "$exp/decode_test/score.txt"
    fi
  done
done

if run_stage 7; then
  echo "stage 7: table -> $work/RESULTS-table.md"
  {
    echo "| corpus (test) | model | weights | framewise accuracy % |"
    echo "|---|---|---|---|"
    for n in "${names[@]}"; do
      for m in "${model_list[@]}"; do
        exp=$work/$n/exp/$m${tag:+_$tag}
        acc=$(sed -n 's/^%ACC \([0-9.]*\).*/\1/p' "$exp/decode_test/score.txt" 2>/dev/null || true)
        w=$(sed -n 's/.*model: \([0-9.]*[MK]\) parameters.*/\1/p' "$exp/log" 2>/dev/null | tail -1 || true)
        echo "| $n | $m | ${w:--} | ${acc:-(not run)} |"
      done
    done
  } > "$work/RESULTS-table.md"
  cat "$work/RESULTS-table.md"
fi
