#!/usr/bin/env python3
"""Runs a Python script (e.g. llama.cpp's convert_hf_to_gguf.py) as __main__ after importing
fixtures/torchvision_shim.py when it loads, which transformers may need on this machine's torch.

    python3 benchmarks/run_with_shim.py SCRIPT [ARGS...]

Used by convert_speed.sh and llama_cpp_compare.sh so both time the converter the same way."""
import os
import runpy
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures"))
try:
    import torchvision_shim  # noqa: F401
except Exception:
    pass
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
