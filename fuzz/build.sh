#!/usr/bin/env bash
# Builds the fuzz targets with swiftc (libFuzzer + AddressSanitizer), module by module, into
# .build-fuzz/. Usage: fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build-fuzz
mkdir -p "$OUT"
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -I Sources/CJSONC -I Sources/CZlib -I "$OUT")
swiftc "${FLAGS[@]}" -emit-module -emit-library -static -module-name ZooTensor -o "$OUT/libZooTensor.a" \
  -emit-module-path "$OUT/ZooTensor.swiftmodule" Sources/ZooTensor/*.swift
swiftc "${FLAGS[@]}" -emit-module -emit-library -static -module-name ZooFormats -o "$OUT/libZooFormats.a" \
  -emit-module-path "$OUT/ZooFormats.swiftmodule" Sources/ZooFormats/*.swift
swiftc "${FLAGS[@]}" -module-name FuzzFormats -o "$OUT/fuzz-formats" fuzz/targets/formats.swift \
  -L "$OUT" -lZooFormats -lZooTensor -ljson-c -lz
echo "built $OUT/fuzz-formats"
