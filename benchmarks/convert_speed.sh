#!/usr/bin/env bash
# Times `zoo convert` against `cp` of the same bytes, and `zoo inspect` on the same file.
# Makes a ~500 MB safetensors file of random f32 tensors (GPT-2-like shapes) in a temporary folder,
# then reports the median of 5 runs of each command and the ratio to cp.
# Usage: benchmarks/convert_speed.sh [path/to/zoo]   (default .build/release/zoo; build with swift build -c release)
set -euo pipefail
ZOO=${1:-.build/release/zoo}
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
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
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
