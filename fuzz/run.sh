#!/usr/bin/env bash
# Runs one or all fuzz targets for a given time each, seeded from the golden files and fixtures.
# Usage: fuzz/run.sh [SECONDS=60] [TARGET...]
#   file formats (fuzz-formats): safetensors gguf npy npz json convert
#   model inputs (fuzz-models):  tokenizer-vocab tokenizer-json tokenizer-gguf config model-gguf model-folder image
# Findings (crash-*, oom-*, timeout-*) land in fuzz/findings/<target>/; commit each one under
# fuzz/regressions/<target>/ so the test suite replays it (FuzzRegressionTests).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(safetensors gguf npy npz json convert tokenizer-vocab tokenizer-json tokenizer-gguf config model-gguf model-folder image)
if [ ! -x .build-fuzz/fuzz-formats ] || [ ! -x .build-fuzz/fuzz-models ]; then
  mkdir -p .build-fuzz
  fuzz/build.sh > .build-fuzz/build.log 2>&1 || { grep -v "Cannot export" .build-fuzz/build.log; echo "fuzz build failed"; exit 1; }
fi

# seed NAME PARTS...: one corpus file, the parts joined by a zero byte (the targets' separator).
seed() {
  local name=$1; shift
  local first=1
  for part in "$@"; do
    [ $first = 1 ] || printf '\0'
    first=0
    cat "$part"
  done > "$corpus/seed-$(echo "$name" | tr / _)"
}
SAMPLE=$(mktemp)
trap 'rm -f "$SAMPLE"' EXIT
printf 'Hello world! <|endoftext|> caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\xa6\x80 12,345 \n\n  tabs\there\x27s it\x27ll \r\n' > "$SAMPLE"

for t in "${TARGETS[@]}"; do
  corpus=.build-fuzz/corpus/$t
  mkdir -p "$corpus" "fuzz/findings/$t"
  binary=.build-fuzz/fuzz-models
  max_len=65536
  malloc_mb=512
  case $t in
    safetensors|gguf|npy|npz|json)
      binary=.build-fuzz/fuzz-formats
      for s in $(find formats fixtures -name "*.$t" -size -64k); do cp "$s" "$corpus/seed-$(echo "$s" | tr / _)"; done ;;
    convert)
      # Every small checkpoint of every format, and the whole-model GGUF seeds.
      binary=.build-fuzz/fuzz-formats
      for s in $(find formats fixtures fuzz/seeds/model-gguf \( -name '*.safetensors' -o -name '*.gguf' -o -name '*.npy' -o -name '*.npz' \) -size -64k); do
        cp "$s" "$corpus/seed-$(echo "$s" | tr / _)"
      done ;;
    tokenizer-vocab)
      for d in $(find fixtures -name vocab.json -exec dirname {} \;); do
        [ -f "$d/merges.txt" ] && seed "$d" "$d/vocab.json" "$d/merges.txt" "$SAMPLE"
      done ;;
    tokenizer-json)
      max_len=131072  # the demo GPT-2's tokenizer.json is 119 KB
      for f in $(find fixtures -name tokenizer.json); do seed "$f" "$f" "$SAMPLE"; done ;;
    tokenizer-gguf|model-gguf|model-folder)
      for s in fuzz/seeds/$t/*; do cp "$s" "$corpus/seed-$(basename "$s")"; done ;;
    config)
      for f in $(find fixtures -name config.json); do
        pp=$(dirname "$f")/preprocessor_config.json
        if [ -f "$pp" ]; then seed "$f" "$f" "$pp"; else seed "$f" "$f"; fi
      done ;;
    image)
      # ImageLimits lets a header ask for an RGB buffer of up to 805 MB by design (2^28 pixels);
      # only allocations beyond that are findings here.
      malloc_mb=1024
      for s in $(find fixtures formats -name '*.png' -o -name '*.jpg' -o -name '*.jpeg'); do
        cp "$s" "$corpus/seed-$(echo "$s" | tr / _)"
      done ;;
    *) echo "unknown target $t"; exit 2 ;;
  esac
  for r in fuzz/regressions/$t/*; do [ -f "$r" ] && cp "$r" "$corpus/"; done
  echo "== $t: ${SECONDS_EACH}s"
  log=.build-fuzz/$t.log
  status=0
  dict=()
  [ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="fuzz/dicts/$t.dict")
  ZOO_FUZZ_FORMAT=$t ZOO_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no "$binary" "$corpus" \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=$malloc_mb -timeout=10 -max_len=$max_len \
    -artifact_prefix="fuzz/findings/$t/" -print_final_stats=1 ${dict[@]+"${dict[@]}"} >"$log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|ERROR|SUMMARY|Done" "$log" | head -20 || true
  echo "corpus: $(ls "$corpus" | wc -l) inputs"
  if [ "$status" != 0 ]; then
    echo "fuzz target $t found a problem (exit $status); the input is in fuzz/findings/$t/, the log in $log"
    failed=1
  fi
done
exit ${failed:-0}
