#!/usr/bin/env bash
# Zoo against llama.cpp on the same CPU, the same model and in the same run: conversion of a
# Hugging Face GPT-2 folder to GGUF (Q8_0 and f32), a greedy-continuation cross-check, and
# prompt/generation speed (llama-bench against zoo bench), printed as one table.
#
# llama.cpp is NOT fetched or built here: point LLAMA_CPP_DIR at a llama.cpp source tree that you
# have already built (cmake -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF
# && cmake --build build --target llama-bench llama-cli llama-simple). Without it this script
# prints why and exits 0.
#
# Usage: LLAMA_CPP_DIR=/path/to/llama.cpp [ZOO=.build/release/zoo] benchmarks/llama_cpp_compare.sh
# Optional environment:
#   THREADS=2          threads for both implementations
#   ROUNDS=2           interleaved speed rounds (llama, zoo, llama, zoo, ...)
#   REPS=5             repetitions inside each llama-bench / zoo bench call
#   CONVERT_RUNS=3     timed conversions per converter and dtype (median reported)
#   MAX_LOAD=1.5       before each measurement, wait 60 s at a time while the 1-min load average is
#   MAX_WAIT=900       higher, at most MAX_WAIT seconds in all (then measure anyway; the table
#                      lists the load before every measurement)
#   LLAMA_CPP_COMMIT   the commit the tree was built from, when LLAMA_CPP_DIR is not a git checkout
#   WORK=DIR           keep the model folder, GGUFs and logs in DIR (default: a temporary folder)
#   PYTHON=python3     Python with torch, transformers and gguf (llama.cpp's converter also imports
#                      its own gguf-py, which needs sentencepiece: put it on PYTHONPATH if missing)
# Needs: /usr/bin/time (GNU time), python3 with torch + transformers + gguf,
#        ../shared/reference/gpt2-vocab/ggml-vocab-gpt-2.gguf (the GPT-2 vocabulary).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZOO=${ZOO:-$ROOT/.build/release/zoo}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
REPS=${REPS:-5}
CONVERT_RUNS=${CONVERT_RUNS:-3}
MAX_LOAD=${MAX_LOAD:-1.5}
MAX_WAIT=${MAX_WAIT:-900}
PYTHON=${PYTHON:-python3}
VOCAB=${VOCAB:-$ROOT/../shared/reference/gpt2-vocab/ggml-vocab-gpt-2.gguf}
PROMPT="The quick brown fox"
NGEN=32

skip() { echo "llama_cpp_compare: skipped: $*"; exit 0; }
[ -n "${LLAMA_CPP_DIR:-}" ] || skip "LLAMA_CPP_DIR is not set (a llama.cpp tree built with cmake; this script never fetches or builds it)"
BIN=$LLAMA_CPP_DIR/build/bin
for f in "$BIN/llama-bench" "$BIN/llama-simple" "$BIN/llama-cli" "$LLAMA_CPP_DIR/convert_hf_to_gguf.py"; do
  [ -e "$f" ] || skip "$f is missing (build llama-bench, llama-simple and llama-cli in $LLAMA_CPP_DIR/build)"
done
[ -x "$ZOO" ] || skip "$ZOO is missing (swift build -c release, or set ZOO)"
[ -f "$VOCAB" ] || skip "$VOCAB is missing (the GPT-2 vocabulary from the shared reference data)"
[ -x /usr/bin/time ] || skip "/usr/bin/time (GNU time) is missing: apt-get install time"

if [ -n "${WORK:-}" ]; then mkdir -p "$WORK"; else WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi
MODEL=$WORK/gpt2-124m-random
LOG=$WORK/logs
mkdir -p "$LOG"
LOADS=()
TOTAL_WAITED=0
wait_for_quiet() {  # records the load averages before a measurement; waits while the 1-min one is high
  local label=$1 waited=0 load
  load=$(cut -d' ' -f1 /proc/loadavg)
  while awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN{exit !(l > m)}' && [ $TOTAL_WAITED -lt "$MAX_WAIT" ]; do
    sleep 60; waited=$((waited + 60)); TOTAL_WAITED=$((TOTAL_WAITED + 60)); load=$(cut -d' ' -f1 /proc/loadavg)
  done
  local note=""
  if [ $waited -gt 0 ]; then note=" (after waiting ${waited} s)"; fi
  LOADS+=("$label: load $(cut -d' ' -f1-3 /proc/loadavg)$note")
}

# --- 1. A GPT-2 124M-shaped Hugging Face folder, random weights (seed 0), real GPT-2 tokenizer ----
if [ ! -f "$MODEL/model.safetensors" ]; then
  "$PYTHON" - "$MODEL" "$VOCAB" "$ROOT/fixtures" >"$LOG/make_model.log" 2>&1 <<'PY'
import json, os, sys
out, vocab_gguf, fixtures = sys.argv[1:4]
sys.path.insert(0, fixtures)
try:
    import torchvision_shim  # noqa: F401  (PyPI's CUDA torchvision breaks `import transformers`)
except Exception:
    pass
import torch
import gguf
from transformers import GPT2Config, GPT2LMHeadModel
torch.manual_seed(0)
cfg = GPT2Config()  # n_embd 768, 12 layers, 12 heads, vocab 50257, n_positions 1024
GPT2LMHeadModel(cfg).eval().save_pretrained(out, safe_serialization=True)
cp = os.path.join(out, "config.json")
c = json.load(open(cp))
c.setdefault("n_ctx", cfg.n_positions)  # the Hub's gpt2 config has it; llama.cpp's converter reads it
json.dump(c, open(cp, "w"), indent=2)
r = gguf.GGUFReader(vocab_gguf)
def strings(key):
    f = r.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
tokens, merges = strings("tokenizer.ggml.tokens"), strings("tokenizer.ggml.merges")
with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "".join(m + "\n" for m in merges))
PY
fi

# --- 2. Conversion: wall time and max RSS (GNU time), median of CONVERT_RUNS, interleaved --------
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
timed() {  # timed LABEL CMD...: appends "wall_s rss_kib" to $LOG/LABEL.times
  local label=$1; shift
  /usr/bin/time -v -o "$LOG/$label.time" "$@" >"$LOG/$label.out" 2>&1 || {
    echo "failed: $*"; tail -20 "$LOG/$label.out"
    grep -q "No module named 'sentencepiece'" "$LOG/$label.out" &&
      echo "llama.cpp's converter imports its own gguf-py, which needs sentencepiece: pip install sentencepiece (or put it on PYTHONPATH)"
    exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; w=s}
              /Maximum resident set size/ {r=$2} END {print w, r}' "$LOG/$label.time" >>"$LOG/$label.times"
}
# llama.cpp's converter, with the same torchvision shim transformers may need here
LLAMA_CONVERT=("$PYTHON" "$ROOT/benchmarks/run_with_shim.py" "$LLAMA_CPP_DIR/convert_hf_to_gguf.py")
cat "$MODEL"/* >/dev/null  # warm the page cache for both converters alike
rm -f "$LOG"/conv-*.times
for i in $(seq "$CONVERT_RUNS"); do
  for dt in q8_0 f32; do
    wait_for_quiet "convert $dt run $i"
    rm -f "$WORK/llama-$dt.gguf"
    timed "conv-llama-$dt" "${LLAMA_CONVERT[@]}" "$MODEL" --outtype "$dt" --outfile "$WORK/llama-$dt.gguf"
    rm -f "$WORK/zoo-$dt.gguf"
    timed "conv-zoo-$dt" "$ZOO" convert "$MODEL" "$WORK/zoo-$dt.gguf" --dtype "$dt"
  done
done
conv() { awk '{print $'"$2"'}' "$LOG/conv-$1.times" | median; }

# Are the tensors the same bytes? (metadata differs: names, Zoo's provenance keys)
SAME=$("$PYTHON" - "$WORK" <<'PY'
import sys, numpy as np, gguf
w = sys.argv[1]
out = []
for dt in ("q8_0", "f32"):
    a = {t.name: t for t in gguf.GGUFReader(f"{w}/llama-{dt}.gguf").tensors}
    b = {t.name: t for t in gguf.GGUFReader(f"{w}/zoo-{dt}.gguf").tensors}
    same = sum(1 for n in a if n in b and a[n].tensor_type == b[n].tensor_type
               and np.asarray(a[n].data).tobytes() == np.asarray(b[n].data).tobytes())
    out.append(f"{dt}: {same}/{len(a)} tensors byte-identical ({len(b)} in zoo's file)")
print("; ".join(out))
PY
)

# --- 3. Greedy continuation of the same prompt by both implementations on both files -----------
continuation() {  # prints the generated text only (llama.cpp echoes the prompt first)
  local tool=$1 file=$2 text
  case $tool in
    llama-simple)   text=$("$BIN/llama-simple" -m "$file" -n "$NGEN" "$PROMPT" 2>/dev/null) ;;
    llama-cli-f32kv) text=$("$BIN/llama-cli" -m "$file" -p "$PROMPT" -n "$NGEN" --temp 0 --no-warmup -no-cnv \
                           -ctk f32 -ctv f32 -t "$THREADS" </dev/null 2>/dev/null) ;;
    zoo)            text=$("$ZOO" run "$file" --prompt "$PROMPT" --max-tokens "$NGEN" --temperature 0 --threads "$THREADS" 2>/dev/null) ;;
  esac
  text=${text#"$PROMPT"}
  printf '%s' "${text%$'\n'}"
}
declare -A GEN
for tool in llama-simple llama-cli-f32kv zoo; do
  for src in llama zoo; do GEN[$tool/$src]=$(continuation "$tool" "$WORK/$src-q8_0.gguf"); done
  GEN[$tool/f32]=$(continuation "$tool" "$WORK/zoo-f32.gguf")
done
same_as() { [ "${GEN[$1]}" == "${GEN[$2]}" ] && echo same || echo DIFFERENT; }

# --- 4. Speed: llama-bench and zoo bench, interleaved rounds ---------------------------------------
llama_bench() {  # llama_bench FILE TAG: appends pp and tg samples (t/s) to $LOG/TAG.{pp,tg}
  "$BIN/llama-bench" -m "$1" -p 128 -n 128 -t "$THREADS" -r "$REPS" -o json >"$LOG/$2.json" 2>"$LOG/$2.err"
  "$PYTHON" - "$LOG/$2.json" "$LOG/$2" <<'PY'
import json, sys
for t in json.load(open(sys.argv[1])):
    kind = "pp" if t["n_prompt"] > 0 else "tg"
    with open(f"{sys.argv[2]}.{kind}", "a") as f:
        f.writelines(f"{x}\n" for x in t["samples_ts"])
PY
}
zoo_bench() {  # zoo_bench FILE DTYPE TAG PROMPT_TOKENS [env...]: appends median pp and tg (t/s)
  local file=$1 dtype=$2 tag=$3 pt=$4; shift 4
  env "$@" "$ZOO" bench "$file" --dtype "$dtype" --prompt-tokens "$pt" --gen-tokens 128 --threads "$THREADS" \
    --runs "$REPS" --json >"$LOG/$tag.json"
  "$PYTHON" - "$LOG/$tag.json" "$LOG/$tag" "$pt" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
if sys.argv[3] != "1":
    open(f"{sys.argv[2]}.pp", "a").write(f"{j['prompt_tokens_per_s']}\n")
open(f"{sys.argv[2]}.tg", "a").write(f"{j['gen_tokens_per_s']}\n")
print(j["kernel"])
PY
}
rm -f "$LOG"/b-*
for r in $(seq "$ROUNDS"); do
  for dt in q8_0 f32; do
    wait_for_quiet "llama-bench $dt round $r"; llama_bench "$WORK/llama-$dt.gguf" "b-llama-$dt"
    wait_for_quiet "zoo bench $dt round $r"; KERNEL=$(zoo_bench "$WORK/zoo-$dt.gguf" "$dt" "b-zoo-$dt" 128)
    zoo_bench "$WORK/zoo-$dt.gguf" "$dt" "b-zoo0-$dt" 1 >/dev/null
  done
done

stat3() {  # median [min-max] of a samples file
  sort -g "$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
                                       printf "%8.1f [%6.1f-%6.1f]", m, a[1], a[NR]}'
}
med() { median <"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# --- the table ---------------------------------------------------------------------------------------
LLAMA_COMMIT=${LLAMA_CPP_COMMIT:-$(git -C "$LLAMA_CPP_DIR" rev-parse --short HEAD 2>/dev/null || echo "unknown (not a git checkout)")}
echo "GPT-2 124M shape (random weights, seed 0, real GPT-2 tokenizer); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "llama.cpp: $LLAMA_CPP_DIR (commit $LLAMA_COMMIT); zoo: $ZOO ($("$ZOO" --version), int8 kernel $KERNEL); threads $THREADS"
echo "environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-(unset)} (they can affect llama.cpp builds that use OpenBLAS; Zoo does not)"
echo
echo "conversion of the HF folder (median of $CONVERT_RUNS, page cache warm; zoo also re-reads and checks its output and syncs it)"
printf '  %-10s %16s %16s %16s %16s %12s\n' dtype "llama.cpp s" "zoo s" "llama/zoo time" "llama.cpp RSS MiB" "zoo RSS MiB"
for dt in q8_0 f32; do
  lw=$(conv "llama-$dt" 1); zw=$(conv "zoo-$dt" 1); lr=$(conv "llama-$dt" 2); zr=$(conv "zoo-$dt" 2)
  printf '  %-10s %16.2f %16.2f %16s %16.0f %12.0f\n' "$dt" "$lw" "$zw" "$(ratio "$lw" "$zw")" "$((lr / 1024))" "$((zr / 1024))"
done
echo "  tensors: $SAME"
echo
echo "greedy continuation of \"$PROMPT\", $NGEN tokens (llama-simple uses llama.cpp's default f16 KV cache)"
for k in llama-simple/llama llama-simple/zoo llama-simple/f32 llama-cli-f32kv/llama llama-cli-f32kv/zoo llama-cli-f32kv/f32 zoo/llama zoo/zoo zoo/f32; do
  printf '  %-22s %-9s %s\n' "$k" "$(same_as "$k" zoo/zoo)" "$(printf '%q' "${GEN[$k]}" | cut -c1-90)"
done
echo "  (second column: identical to zoo run on zoo's Q8_0 file; /llama, /zoo = whose Q8_0 GGUF, /f32 = zoo's f32 GGUF)"
echo
echo "speed, tokens/s: median [min-max] over $ROUNDS interleaved rounds x $REPS repetitions (zoo: median per call)"
printf '  %-34s %26s %26s\n' "" "pp128 (prompt)" "tg128 (generation)"
for dt in q8_0 f32; do
  printf '  %-34s %26s %26s\n' "llama-bench $dt" "$(stat3 "$LOG/b-llama-$dt.pp")" "$(stat3 "$LOG/b-llama-$dt.tg")"
  printf '  %-34s %26s %26s\n' "zoo bench $dt (tg after the prompt)" "$(stat3 "$LOG/b-zoo-$dt.pp")" "$(stat3 "$LOG/b-zoo-$dt.tg")"
  printf '  %-34s %26s %26s\n' "zoo bench $dt (tg from 1 token)" "" "$(stat3 "$LOG/b-zoo0-$dt.tg")"
  printf '  %-34s %26s %26s\n' "zoo / llama.cpp $dt (medians)" \
    "$(ratio "$(med "$LOG/b-zoo-$dt.pp")" "$(med "$LOG/b-llama-$dt.pp")")" \
    "$(ratio "$(med "$LOG/b-zoo0-$dt.tg")" "$(med "$LOG/b-llama-$dt.tg")")"
done
echo "  (llama-bench's tg128 starts from an empty context, so the tg ratio uses zoo's tg from 1 token)"
echo
echo "load averages (1, 5, 15 min) before each measurement:"
printf '  %s\n' "${LOADS[@]}"
