#!/usr/bin/env bash
# Times `zoo convert` against `cp` of the same bytes, and `zoo inspect` on the same file.
# Makes a ~500 MB safetensors file of random f32 tensors (GPT-2-like shapes) in a temporary folder,
# then reports the median of 5 runs of each command and the ratio to cp.
# Usage: benchmarks/convert_speed.sh [path/to/zoo]   (default .build/release/zoo; build with swift build -c release)
#
# With MODEL=path/to/hf-gpt2-folder (config.json, model.safetensors, vocab.json, merges.txt) it
# instead times the model conversion to GGUF in f32, f16 and q8_0 (wall time and peak RSS from
# GNU time, median of RUNS), against cp and cp + sync of the weights file; with LLAMA_CPP_DIR
# also llama.cpp's convert_hf_to_gguf.py --outtype q8_0 on the same folder, interleaved with zoo's
# runs (PYTHON, default python3; PYTHONPATH as that converter needs, e.g. for sentencepiece).
set -euo pipefail
ZOO=${1:-.build/release/zoo}
RUNS=${RUNS:-5}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
if [ -n "${MODEL:-}" ]; then
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  DIR=$(mktemp -d)
  trap 'rm -rf "$DIR"' EXIT
  WEIGHTS=$MODEL/model.safetensors
  timed() {  # timed LABEL CMD...: appends "wall_s max_rss_kib cpu_s" to $DIR/LABEL
    local label=$1; shift
    /usr/bin/time -f '%e %M %U %S' -o "$DIR/t" "$@" >/dev/null 2>"$DIR/err" || { echo "failed: $*"; cat "$DIR/err"; exit 1; }
    awk '{print $1, $2, $3 + $4}' "$DIR/t" >>"$DIR/$label"
  }
  LLAMA=()
  if [ -n "${LLAMA_CPP_DIR:-}" ]; then
    LLAMA=("${PYTHON:-python3}" "$ROOT/benchmarks/run_with_shim.py" "$LLAMA_CPP_DIR/convert_hf_to_gguf.py")
  fi
  cat "$MODEL"/* >/dev/null  # page cache warm for every contender alike
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  for i in $(seq "$RUNS"); do
    rm -f "$DIR"/out.*; timed cp cp "$WEIGHTS" "$DIR/out.bin"
    rm -f "$DIR"/out.*; timed cpsync sh -c "cp '$WEIGHTS' '$DIR/out.bin' && sync '$DIR/out.bin'"
    for dt in f32 f16 q8_0; do rm -f "$DIR"/out.*; timed "zoo-$dt" "$ZOO" convert "$MODEL" "$DIR/out.gguf" --dtype "$dt"; done
    if [ ${#LLAMA[@]} -gt 0 ]; then rm -f "$DIR"/out.*; timed llama-q8_0 "${LLAMA[@]}" "$MODEL" --outtype q8_0 --outfile "$DIR/out.gguf"; fi
  done
  col() { awk '{print $'"$2"'}' "$DIR/$1" | median; }
  printf 'model: %s (weights %s bytes), median of %s runs, page cache warm, load (1/5/15 min) %s before, %s after\n' \
    "$MODEL" "$(stat -c %s "$WEIGHTS")" "$RUNS" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-44s %9s %12s %14s\n' command "wall s" "peak RSS MiB" "CPU s (u+s)"
  for l in cp cpsync zoo-f32 zoo-f16 zoo-q8_0 llama-q8_0; do
    [ -f "$DIR/$l" ] || continue
    case $l in cp) name="cp model.safetensors";; cpsync) name="cp + sync";; llama-q8_0) name="convert_hf_to_gguf.py --outtype q8_0";; *) name="zoo convert -> .gguf --dtype ${l#zoo-}";; esac
    printf '%-44s %9.3f %12.0f %14.2f\n' "$name" "$(col "$l" 1)" "$(echo "$(col "$l" 2) / 1024" | bc -l)" "$(col "$l" 3)"
  done
  if [ -f "$DIR/llama-q8_0" ]; then
    printf 'convert_hf_to_gguf.py q8_0 / zoo q8_0: wall time %.1fx, CPU time %.1fx\n' "$(echo "$(col llama-q8_0 1) / $(col zoo-q8_0 1)" | bc -l)" \
      "$(echo "$(col llama-q8_0 3) / $(col zoo-q8_0 3)" | bc -l)"
  fi
  exit 0
fi
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
python3 - "$DIR/in.safetensors" <<'PY'
import sys, numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(0)
tensors = {"wte.weight": rng.standard_normal((50257, 768), dtype=np.float32)}
for i in range(12):
    tensors[f"h.{i}.attn.c_attn.weight"] = rng.standard_normal((768, 2304), dtype=np.float32)
    tensors[f"h.{i}.mlp.c_fc.weight"] = rng.standard_normal((768, 3072), dtype=np.float32)
    tensors[f"h.{i}.mlp.c_proj.weight"] = rng.standard_normal((3072, 768), dtype=np.float32)
    tensors[f"h.{i}.ln_1.bias"] = rng.standard_normal(768, dtype=np.float32)
save_file(tensors, sys.argv[1], metadata={"format": "pt"})
PY
SIZE=$(stat -c %s "$DIR/in.safetensors")
time_cmd() {  # prints seconds for one run of "$@", after dropping the output file
  local t0 t1
  t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
run5() { for i in 1 2 3 4 5; do rm -f "$DIR"/out.*; time_cmd "$@"; done | median; }
cat "$DIR/in.safetensors" >/dev/null  # warm the page cache for every contender alike
CP=$(run5 cp "$DIR/in.safetensors" "$DIR/out.bin")
# zoo syncs its output before renaming it into place (so it appears whole even after a crash);
# cp followed by sync of the copy is the like-for-like baseline.
CPSYNC=$(run5 sh -c "cp '$DIR/in.safetensors' '$DIR/out.bin' && sync '$DIR/out.bin'")
KEEP_GGUF=$(run5 "$ZOO" convert "$DIR/in.safetensors" "$DIR/out.gguf")
KEEP_NPZ=$(run5 "$ZOO" convert "$DIR/in.safetensors" "$DIR/out.npz")
F16=$(run5 "$ZOO" convert "$DIR/in.safetensors" "$DIR/out.gguf" --dtype f16)
Q8=$(run5 "$ZOO" convert "$DIR/in.safetensors" "$DIR/out.gguf" --dtype q8_0)
INSPECT=$(for i in 1 2 3 4 5; do time_cmd "$ZOO" inspect "$DIR/in.safetensors"; done | median)
printf 'input: %s bytes of f32 (%d tensors), median of 5 runs, page cache warm\n' "$SIZE" 49
printf '%-38s %8s %8s %12s\n' command seconds "x cp" "x cp+sync"
printf '%-38s %8.3f %8.2f %12.2f\n' "cp" "$CP" 1 "$(echo "$CP / $CPSYNC" | bc -l)"
printf '%-38s %8.3f %8.2f %12.2f\n' "cp + sync" "$CPSYNC" "$(echo "$CPSYNC / $CP" | bc -l)" 1
printf '%-38s %8.3f %8.2f %12.2f\n' "zoo convert -> .gguf (keep)" "$KEEP_GGUF" "$(echo "$KEEP_GGUF / $CP" | bc -l)" "$(echo "$KEEP_GGUF / $CPSYNC" | bc -l)"
printf '%-38s %8.3f %8.2f %12.2f\n' "zoo convert -> .npz (keep)" "$KEEP_NPZ" "$(echo "$KEEP_NPZ / $CP" | bc -l)" "$(echo "$KEEP_NPZ / $CPSYNC" | bc -l)"
printf '%-38s %8.3f %8.2f %12.2f\n' "zoo convert -> .gguf --dtype f16" "$F16" "$(echo "$F16 / $CP" | bc -l)" "$(echo "$F16 / $CPSYNC" | bc -l)"
printf '%-38s %8.3f %8.2f %12.2f\n' "zoo convert -> .gguf --dtype q8_0" "$Q8" "$(echo "$Q8 / $CP" | bc -l)" "$(echo "$Q8 / $CPSYNC" | bc -l)"
printf '%-38s %8.3f\n' "zoo inspect (headers only)" "$INSPECT"
