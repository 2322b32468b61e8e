#!/usr/bin/env bash
# Joseph Hooker letters (handwritten lines, images + .gt.txt, split lists) with recog.
#
#   recipes/hooker/run.sh --corpus /path/to/hooker [--pages REPO] [--stage N] [--stop-stage M]
#                         [--conf conf/bilstm.yaml] [--init MODEL] [--tag NAME] [--work DIR]
#                         [--train-set NAME] [--fold-valid true] [key=value overrides]
#
# Stages: 0 cut lines from pages (with --pages), 1 data, 2 features, 3 train, 4 decode, 5 score,
# 6 package.  Stage 0 cuts the lines of the page images + PAGE XML of REPO
# (github.com/jschaefer738b/JosephHookerHTR) into --corpus, each line from its polygon or, where
# the polygon is a thin band along the baseline, from the baseline (`recog prep pagexml`), with
# the page-level split of lists/{train,valid,test}_pages.lst; it runs when --pages is given and
# --corpus holds no test.lst yet.  Re-running skips stages whose
# output is complete; training resumes from exp/<tag>/last.pt.  --train-set trains on feats/NAME
# instead of feats/train, e.g. the lines a first model could read (`recog filter`, see RESULTS.md).
# --fold-valid true (stage 1, in a work folder of its own) also trains on 26 of the 34 valid pages
# (lists/valid_fold.lst) and validates on the other 8 (lists/valid_held.lst), as the shipped model did.
# The corpus is a folder of line images + .gt.txt with split lists (what stage 0 writes).
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
fold_valid=false
pages=
. "$here/../parse_options.sh"
[ -n "$corpus" ] || { echo "usage: $0 --corpus DIR (the Hooker folder with lines/ and train.lst ...)" >&2; exit 2; }
tag=${tag:-$(basename "$conf" .yaml)}
data=$work/data feats=$work/feats exp=$work/exp/$tag
package_dir=${package_dir:-$work/exp/$tag/package}
mkdir -p "$work"

. "$here/../stages.sh"

if [ -n "$pages" ] && [ "$stage" -le 1 ] && [ ! -f "$corpus/test.lst" ]; then
  echo "stage 0: lines of the pages in $pages -> $corpus"
  recog prep pagexml --pages "$pages" --out "$corpus" --prefix jdh_ --max-height 128 --format jpg \
    --page-lists "train=$here/lists/train_pages.lst" --page-lists "valid=$here/lists/valid_pages.lst" \
    --page-lists "test=$here/lists/test_pages.lst"
fi
if run_stage 1; then
  if [ "$fold_valid" = true ]; then
    train_lst=$corpus/train.lst; [ -f "$train_lst" ] || train_lst=$corpus/../train.lst
    cat "$train_lst" "$here/lists/valid_fold.lst" > "$work/train_fold.lst"
    prep_data 1 "26 of the 34 valid pages trained on" lines --corpus "$corpus" --train "$work/train_fold.lst" \
      --valid "$here/lists/valid_held.lst"
  else
    prep_data 1 "" lines --corpus "$corpus"
  fi
fi
if run_stage 2; then extract_features 2 "" train valid test; fi
if run_stage 3; then train_model 3 valid; fi
if run_stage 4; then decode_images 4 valid test; fi
if run_stage 5; then score_text 5 valid test; fi
if run_stage 6; then package_model 6 hooker; fi
