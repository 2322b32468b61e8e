# Sourced by every recipe after parse_options.sh: the stage bodies the recipes share.  They read
# the recipe's variables: stage, stop_stage, conf, data, feats, exp, package_dir, overrides and,
# where the recipe has it, init and checkpoint (the weights decoded and packaged: best.pt, the best
# valid epoch's, unless the recipe says last.pt, the last epoch's).  Each recipe keeps its own stage
# numbers and corpus-specific steps.

# true when stage $1 lies between --stage and --stop-stage
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

# prep_data N NOTE VERB ARGS...: `recog prep VERB ARGS... --out $data`, unless $data is already there
prep_data() {
  local n=$1 note=$2 verb=$3; shift 3
  if [ -f "$data/tokens.txt" ]; then echo "stage $n: $data exists, skipped"; return; fi
  echo "stage $n: data${note:+ ($note)}"
  recog prep "$verb" "$@" --out "$data"
}

# extract_features N CMVN_SPLIT SPLIT...: features of each split not done yet; the split named
# CMVN_SPLIT (or none, with "") also writes the global CMVN statistics
extract_features() {
  local n=$1 cmvn_split=$2 s; shift 2
  echo "stage $n: features"
  for s in "$@"; do
    if [ -f "$feats/$s/manifest.jsonl" ]; then echo "  $s done, skipped"; continue; fi
    local cmvn=(); [ "$s" = "$cmvn_split" ] && cmvn=(--cmvn)
    recog features --config "$conf" --data "$data/$s" --out "$feats/$s" "${cmvn[@]}" "${overrides[@]}"
  done
}

# train_model N VALID_SPLIT [ARGS...]: recog train on $feats/$train_set (default train), early stopping
# on VALID_SPLIT; resumes from $exp/last.pt when re-run; --init $init when the recipe sets it
train_model() {
  local n=$1 valid=$2; shift 2
  echo "stage $n: train -> $exp"
  local extra=(); [ -n "${init:-}" ] && extra=(--init "$init")
  recog train --config "$conf" --train "$feats/${train_set:-train}" --valid "$feats/$valid" --tokens "$data/tokens.txt" \
    --exp "$exp" "$@" "${extra[@]}" "${overrides[@]}"
}

# decode_features N BEAM SPLIT...: decode each split's features with $exp/$checkpoint (default best.pt;
# beam 0: greedy); a split that fails is reported and the next one still runs
decode_features() {
  local n=$1 beam=$2 s; shift 2
  echo "stage $n: decode (beam $beam; 0 = greedy) with $exp/${checkpoint:-best.pt}"
  for s in "$@"; do
    mkdir -p "$exp/decode_$s"
    recog decode --model "$exp/${checkpoint:-best.pt}" --data "$feats/$s" --beam "$beam" \
      --out "$exp/decode_$s/hyp.txt" || true
  done
}

# decode_images N SPLIT...: `recog transcribe` on each split's original line images, as a user would
decode_images() {
  local n=$1 s; shift
  echo "stage $n: decode (greedy) with recog transcribe on the original images"
  for s in "$@"; do
    mkdir -p "$exp/decode_$s"
    python3 -c 'import json,sys; [print(json.loads(l)["path"]) for l in open(sys.argv[1])]' \
      "$data/$s/manifest.jsonl" > "$exp/decode_$s/inputs.lst"
    recog transcribe --model "$exp/${checkpoint:-best.pt}" --files-from "$exp/decode_$s/inputs.lst" \
      --out "$exp/decode_$s/hyp.txt" || true
  done
}

# score_text N SPLIT...: CER and WER of handwriting hypotheses
score_text() {
  local n=$1 s unit; shift
  echo "stage $n: score"
  for s in "$@"; do
    for unit in char word; do
      recog score "$data/$s/text" "$exp/decode_$s/hyp.txt" --unit $unit --confusions 0 \
        | tee "$exp/decode_$s/score_$unit.txt"
    done
  done
}

# score_phones N REF_NAME SPLIT... [-- SCORE_ARGS...]: PER against $data/SPLIT/REF_NAME
score_phones() {
  local n=$1 ref=$2 s; shift 2
  local splits=() args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do splits+=("$1"); shift; done
  [ $# -gt 0 ] && { shift; args=("$@"); }
  echo "stage $n: score"
  for s in "${splits[@]}"; do
    recog score "$data/$s/$ref" "$exp/decode_$s/hyp.txt" --unit phone --confusions 10 \
      --per-utt "$exp/decode_$s/per_utt.txt" "${args[@]}" | tee "$exp/decode_$s/score.txt"
  done
}

# score_outputs N UNIT SPLIT...: label models' accuracy and confusion matrix (UNIT label), or
# regression models' RMSE and MAE (UNIT regression), against $data/SPLIT/text
score_outputs() {
  local n=$1 unit=$2 s; shift 2
  echo "stage $n: score ($unit)"
  for s in "$@"; do
    recog score "$data/$s/text" "$exp/decode_$s/hyp.txt" --unit "$unit" | tee "$exp/decode_$s/score.txt"
  done
}

# package_model N RECIPE: the packaged model (config, symbols, features, CMVN, weights of
# $exp/$checkpoint, default best.pt) in $package_dir
package_model() {
  echo "stage $1: package $exp/${checkpoint:-best.pt} -> $package_dir"
  recog package "$exp/${checkpoint:-best.pt}" "$package_dir" --meta recipe="recipes/$2" \
    --meta config="$(basename "$conf")"
}
