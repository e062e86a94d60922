#!/usr/bin/env bash
# Builds the fuzz binaries with swiftc (libFuzzer + AddressSanitizer), module by module, into
# .build-fuzz/ (so it does not depend on SwiftPM's package identity):
#   fuzz-formats  ZooTensor + ZooFormats          (targets safetensors gguf npy npz json convert)
#   fuzz-models   + ZooKernels + ZooModels        (targets tokenizer-vocab tokenizer-json
#                                                  tokenizer-gguf config model-gguf model-folder image)
# C targets (CHash, CKernels, CImageCodec) are compiled with clang and given a module map; system
# libraries (json-c, zlib, libpng, libjpeg) are linked uninstrumented.
# Usage: fuzz/build.sh [formats|models]   (both by default)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build-fuzz
WHAT=${1:-all}
mkdir -p "$OUT"
INCLUDES=(-I Sources/CJSONC -I Sources/CZlib -I Sources/CImage -I "$OUT"
          -I "$OUT/chash" -I "$OUT/ckernels" -I "$OUT/cimagecodec")
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g "${INCLUDES[@]}")
CFLAGS=(-O2 -g -fsanitize=fuzzer-no-link,address)

# A C target: its module map (pointing at the sources' header) and one object per .c file.
c_target() {  # module-name dir-name header-path sources...
  local module=$1 dir=$OUT/$2 header=$3; shift 3
  mkdir -p "$dir"
  printf 'module %s {\n  header "%s/%s"\n  export *\n}\n' "$module" "$PWD" "$header" > "$dir/module.modulemap"
  for c in "$@"; do clang "${CFLAGS[@]}" -I "$(dirname "$header")" -c "$c" -o "$dir/$(basename "${c%.c}").o"; done
}
swift_library() {  # module-name sources...
  local module=$1; shift
  swiftc "${FLAGS[@]}" ${EXTRA:-} -emit-module -emit-library -static -module-name "$module" -o "$OUT/lib$module.a" \
    -emit-module-path "$OUT/$module.swiftmodule" "$@"
}

c_target CHash chash Sources/CHash/include/zoo_sha256.h Sources/CHash/sha256.c
swift_library ZooTensor Sources/ZooTensor/*.swift
swift_library ZooFormats Sources/ZooFormats/*.swift
if [ "$WHAT" != models ]; then
  swiftc "${FLAGS[@]}" -module-name FuzzFormats -o "$OUT/fuzz-formats" fuzz/targets/formats.swift fuzz/targets/ConvertInvariants.swift \
    -L "$OUT" -lZooFormats -lZooTensor "$OUT"/chash/*.o -ljson-c -lz
  echo "built $OUT/fuzz-formats"
fi
if [ "$WHAT" != formats ]; then
  # The kernels are not what is fuzzed here: no coverage instrumentation, ASan only.
  CFLAGS=(-O2 -g -fsanitize=address)
  c_target CKernels ckernels Sources/CKernels/include/ckernels.h Sources/CKernels/*.c
  CFLAGS=(-O2 -g -fsanitize=fuzzer-no-link,address)
  c_target CImageCodec cimagecodec Sources/CImageCodec/include/zoo_image_codec.h Sources/CImageCodec/*.c
  swift_library ZooKernels Sources/ZooKernels/*.swift
  # -enable-testing: the config target checks internal sizes (ViTConfig.tableSizes) the loaders use.
  EXTRA=-enable-testing swift_library ZooModels $(find Sources/ZooModels -name '*.swift' | sort)
  swiftc "${FLAGS[@]}" -module-name FuzzModels -o "$OUT/fuzz-models" fuzz/targets/models.swift fuzz/targets/ModelFuzzHarness.swift \
    -L "$OUT" -lZooModels -lZooKernels -lZooFormats -lZooTensor \
    "$OUT"/chash/*.o "$OUT"/ckernels/*.o "$OUT"/cimagecodec/*.o -ljson-c -lz -lpng16 -ljpeg
  echo "built $OUT/fuzz-models"
fi
