#!/usr/bin/env bash
# Builds the fuzz targets with swiftc (libFuzzer + AddressSanitizer), module by module, into
# .build-fuzz/. Usage: fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build-fuzz
mkdir -p "$OUT"
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -I Sources/CJSONC -I Sources/CZlib -I "$OUT" -I "$OUT/chash")
# CHash is a C target: compile it with clang (instrumented) and give Swift a module map for it.
mkdir -p "$OUT/chash"
printf 'module CHash {\n  header "%s/Sources/CHash/include/zoo_sha256.h"\n  export *\n}\n' "$PWD" > "$OUT/chash/module.modulemap"
clang -O2 -g -fsanitize=fuzzer-no-link,address -I Sources/CHash/include -c Sources/CHash/sha256.c -o "$OUT/chash/sha256.o"
swiftc "${FLAGS[@]}" -emit-module -emit-library -static -module-name ZooTensor -o "$OUT/libZooTensor.a" \
  -emit-module-path "$OUT/ZooTensor.swiftmodule" Sources/ZooTensor/*.swift
swiftc "${FLAGS[@]}" -emit-module -emit-library -static -module-name ZooFormats -o "$OUT/libZooFormats.a" \
  -emit-module-path "$OUT/ZooFormats.swiftmodule" Sources/ZooFormats/*.swift
swiftc "${FLAGS[@]}" -module-name FuzzFormats -o "$OUT/fuzz-formats" fuzz/targets/formats.swift \
  -L "$OUT" -lZooFormats -lZooTensor "$OUT/chash/sha256.o" -ljson-c -lz
echo "built $OUT/fuzz-formats"
