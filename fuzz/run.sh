#!/usr/bin/env bash
# Runs one or all fuzz targets for a given time each, seeded from the golden files and fixtures.
# Usage: fuzz/run.sh [SECONDS=60] [TARGET...]    targets: safetensors gguf npy npz json
# Findings (crash-*, oom-*, timeout-*) land in fuzz/findings/<target>/; commit each one under
# fuzz/regressions/<target>/ so the test suite replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(safetensors gguf npy npz json)
if [ ! -x .build-fuzz/fuzz-formats ]; then
  mkdir -p .build-fuzz
  fuzz/build.sh > .build-fuzz/build.log 2>&1 || { grep -v "Cannot export" .build-fuzz/build.log; echo "fuzz build failed"; exit 1; }
fi
for t in "${TARGETS[@]}"; do
  corpus=.build-fuzz/corpus/$t
  mkdir -p "$corpus" "fuzz/findings/$t"
  case $t in
    safetensors) seeds=$(find formats fixtures -name '*.safetensors' -size -64k) ;;
    gguf) seeds=$(find formats fixtures -name '*.gguf' -size -64k) ;;
    npy) seeds=$(find formats fixtures -name '*.npy' -size -64k) ;;
    npz) seeds=$(find formats fixtures -name '*.npz' -size -64k) ;;
    json) seeds=$(find formats fixtures -name '*.json' -size -64k) ;;
  esac
  for s in $seeds; do cp "$s" "$corpus/seed-$(echo "$s" | tr / _)"; done
  for r in fuzz/regressions/$t/*; do [ -f "$r" ] && cp "$r" "$corpus/"; done
  echo "== $t: ${SECONDS_EACH}s"
  log=.build-fuzz/$t.log
  status=0
  ZOO_FUZZ_FORMAT=$t ASAN_OPTIONS=detect_leaks=0 .build-fuzz/fuzz-formats "$corpus" \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -max_len=65536 \
    -artifact_prefix="fuzz/findings/$t/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|ERROR|SUMMARY|Done" "$log" | head -20 || true
  echo "corpus: $(ls "$corpus" | wc -l) inputs"
  if [ "$status" != 0 ]; then
    echo "fuzz target $t found a problem (exit $status); the input is in fuzz/findings/$t/, the log in $log"
    failed=1
  fi
done
exit ${failed:-0}
