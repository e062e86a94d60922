#!/usr/bin/env bash
# Installs what Zoo needs on a fresh Debian/Ubuntu machine: the C libraries it links (zlib,
# json-c, libpng, libjpeg-turbo) and the Python packages its tests use to check files
# against the reference libraries (numpy, safetensors, gguf). Safe to run again.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
packages="pkg-config zlib1g-dev libjson-c-dev libpng-dev libjpeg62-turbo-dev python3 python3-pip"
missing=""
for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
python3 -m pip install --quiet --disable-pip-version-check numpy safetensors gguf 2>/dev/null \
  || python3 -m pip install --quiet --break-system-packages numpy safetensors gguf
# PyTorch is optional (bf16 checks, regenerating fixtures); install it only from a local wheel cache.
if ! python3 -c "import torch" 2>/dev/null && ls /opt/wheels/torch-*.whl >/dev/null 2>&1; then
  python3 -m pip install --quiet --no-index --find-links /opt/wheels torch || true
fi
