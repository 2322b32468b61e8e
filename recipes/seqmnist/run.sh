#!/usr/bin/env bash
# seqMNIST: MNIST digits read row by row (28 frames of 28 pixels, pixels / 255 as they are), one
# label per digit from the encoder's last step (model.output: label, model.pool: last).
# conf/{rnn,lstm,gru,peephole_lstm}.yaml: the Keras example's budget (one unidirectional layer of
# 128 units, a 10-way softmax on the last step, Adam 1e-3, batch 128, 20 epochs, a constant rate,
# plain shuffled batches, no augmentation, no early stopping); the LSTM variants of Greff et al. 2016
# in the same budget with conf/peephole_lstm.yaml model.cell=lstm_nig (nfg, nog, niaf, noaf, np, cifg,
# fgr) --tag NAME (greff.sh runs them all with several seeds and tests each against the vanilla LSTM);
# conf/best.yaml: a 2 x 128 BiLSTM with dropout.
#
#   recipes/seqmnist/run.sh --corpus DIR [--conf conf/lstm.yaml] [--tag NAME] [--work DIR]
#                           [--valid 5000] [--checkpoint last.pt] [--stage N] [--stop-stage M] [key=value ...]
#
# DIR holds the four MNIST IDX files (train-images-idx3-ubyte.gz ...).  Stages: 1 data (a PNG per
# digit and manifests; --valid digits drawn from the 60,000 training ones, seeded, for the valid
# error in metrics.csv), 2 features (rows as frames), 3 train, 4 decode valid and test with
# --checkpoint (last.pt, the last epoch's weights, as the Keras baseline reports its last epoch;
# best.pt: the best valid epoch's), 5 score (accuracy and confusion matrix), 6 package (the same
# checkpoint).  Other seeds: train.seed=N with --tag NAME.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${MNIST:-}
stage=1 stop_stage=6
conf=$here/conf/lstm.yaml
tag= work=$here package_dir=
valid=5000
checkpoint=last.pt
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (the four MNIST IDX files)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$exp/package}

. "$here/../stages.sh"

if run_stage 1; then prep_data 1 "valid: $valid training digits" mnist --corpus "$corpus" --valid "$valid"; fi
if run_stage 2; then extract_features 2 "" train valid test; fi
if run_stage 3; then train_model 3 valid; fi
if run_stage 4; then decode_features 4 0 valid test; fi
if run_stage 5; then score_outputs 5 label valid test; fi
if run_stage 6; then package_model 6 seqmnist; fi
