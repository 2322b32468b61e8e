#!/usr/bin/env bash
# Joseph Hooker letters (handwritten lines, images + .gt.txt, split lists) with recog.
#
#   recipes/hooker/run.sh --corpus /path/to/hooker [--stage N] [--stop-stage M] [--conf conf/bilstm.yaml]
#                         [--init MODEL] [--tag NAME] [--work DIR] [--train-set NAME] [key=value overrides]
#
# Stages: 1 data, 2 features, 3 train, 4 decode, 5 score, 6 package.  Re-running skips stages whose
# output is complete; training resumes from exp/<tag>/last.pt.  --train-set trains on feats/NAME
# instead of feats/train, e.g. the lines a first model could read (`recog filter`, see RESULTS.md).
# The corpus is a folder of line images + .gt.txt with split lists.  From the public repository's page
# images and PAGE-XML, cut it first: recog prep pagexml --pages REPO --out HOOKER --prefix jdh_ --split 0.81,0.095,0.095
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${HOOKER:-}
stage=1
stop_stage=6
conf=$here/conf/bilstm.yaml
tag=
work=$here
package_dir=
init=
train_set=train
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (the Hooker folder with lines/ and train.lst ...)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$work/exp/$tag/package}
mkdir -p "$work"

. "$here/../stages.sh"

if run_stage 1; then prep_data 1 "" lines --corpus "$corpus"; fi
if run_stage 2; then extract_features 2 "" train valid test; fi
if run_stage 3; then train_model 3 valid; fi
if run_stage 4; then decode_images 4 valid test; fi
if run_stage 5; then score_text 5 valid test; fi
if run_stage 6; then package_model 6 hooker; fi
