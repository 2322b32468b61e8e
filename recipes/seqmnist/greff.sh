#!/usr/bin/env bash
# Greff et al. 2016 ("LSTM: A Search Space Odyssey"): the vanilla LSTM (peephole_lstm: peepholes and
# a forget gate) against its eight variants (lstm_nig nfg nog niaf noaf np cifg fgr), each trained
# with several seeds in one budget, on one of two tasks:
#   seqmnist   MNIST read row by row (this folder's run.sh, conf/peephole_lstm.yaml: one layer of
#              128, Adam 1e-3, batch 128), last-epoch test accuracy;
#   framewise  framewise phone classification on the synthetic TIMIT-layout corpus, Greff's own
#              TIMIT task (recipes/framewise, conf/blstm.yaml: one bidirectional layer of 128),
#              best-valid-epoch test framewise accuracy.
# Then the table: mean ± sd per variant and Welch's t-test against the vanilla LSTM
# (python -m recog.seed_stats).
#
#   recipes/seqmnist/greff.sh --task seqmnist|framewise --corpus DIR --work DIR [--seeds "1 2 3"]
#                             [--variants "peephole_lstm lstm_nig ..."] [--valid 5000] [--stage N]
#                             [--stop-stage M] [key=value ...]
#
# DIR: the four MNIST IDX files (seqmnist; --valid training digits held out) or the synthetic
# TIMIT-layout corpus (framewise).  The first of --variants is the baseline of the tests.
# key=value goes to every training (train.epochs=10 ...).  Stages: 1 train and score every variant
# and seed (a run whose score is there is skipped), 2 the table (WORK/greff-TASK.md, from
# WORK/greff-TASK.tsv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
task= corpus= work=
seeds="1 2 3" valid=5000
variants="peephole_lstm lstm_nig lstm_nfg lstm_nog lstm_niaf lstm_noaf lstm_np lstm_cifg lstm_fgr"
stage=1 stop_stage=2
. "$here/../parse_options.sh"
[ -n "$corpus" ] && [ -n "$work" ] || { echo "usage: $0 --task seqmnist|framewise --corpus DIR --work DIR (--help)" >&2; exit 2; }
case $task in seqmnist|framewise) ;; *) echo "$0: --task must be seqmnist or framewise, not '$task'" >&2; exit 2;; esac
read -r -a seed_list <<<"$seeds"
read -r -a variant_list <<<"$variants"

. "$here/../stages.sh"

# exp_of VARIANT SEED: where that run trains
exp_of() {
  case $task in
    seqmnist) echo "$work/exp/g_$1_s$2" ;;
    framewise) echo "$work/synth/exp/blstm_$1_s$2" ;;
  esac
}

train_one() {  # VARIANT SEED
  local v=$1 s=$2
  case $task in
    seqmnist) "$here/run.sh" --corpus "$corpus" --work "$work" --valid "$valid" --conf conf/peephole_lstm.yaml --tag "g_${v}_s$s" \
        --stop-stage 5 model.cell="$v" train.seed="$s" "${overrides[@]}" ;;
    framewise) "$here/../framewise/run.sh" --synth "$corpus" --work "$work" --models blstm --tag "${v}_s$s" \
        --stop-stage 6 model.cell="$v" train.seed="$s" "${overrides[@]}" ;;
  esac
}

if run_stage 1; then
  for s in "${seed_list[@]}"; do
    for v in "${variant_list[@]}"; do
      if [ -f "$(exp_of "$v" "$s")/decode_test/score.txt" ]; then echo "stage 1: $v seed $s scored, skipped"; continue; fi
      echo "stage 1: $task, $v, seed $s"
      train_one "$v" "$s" || echo "$0: $v seed $s failed (see $(exp_of "$v" "$s")/log); the others go on" >&2
    done
  done
fi

if run_stage 2; then
  tsv=$work/greff-$task.tsv
  echo "stage 2: table -> $work/greff-$task.md"
  : > "$tsv"
  for v in "${variant_list[@]}"; do
    for s in "${seed_list[@]}"; do
      e=$(exp_of "$v" "$s")
      acc=$(sed -n 's/^%ACC \([0-9.]*\).*/\1/p' "$e/decode_test/score.txt" 2>/dev/null || true)
      [ -n "$acc" ] || { echo "  $v seed $s: no score in $e, left out" >&2; continue; }
      # the median of its epochs' times ("epoch N done in 12s")
      secs=$(sed -n 's/.* done in \([0-9.]*\)s.*/\1/p' "$e/log" | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}')
      printf '%s\t%s\t%s\t%s\n' "$v" "$s" "$acc" "$secs" >> "$tsv"
    done
  done
  python -m recog.seed_stats "$tsv" --baseline "${variant_list[0]}" | tee "$work/greff-$task.md"
fi
