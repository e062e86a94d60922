"""ViT-B/16 speed: Zoo (release build) next to PyTorch, images/s at batch 1 and 8, f32, 2 threads.

Rerun from the repository root:
    swift build -c release --scratch-path .build-bench      # or pass --zoo PATH to a built zoo binary
    python3 benchmarks/vit_speed.py [--zoo .build-bench/release/zoo] [--runs 5] [--threads 2]

The model is google/vit-base-patch16-224's architecture (hidden 768, 12 layers, 12 heads, MLP 3072,
224x224, patch 16, 1000 labels) with random weights made here at run time (seed 0) and saved to a
temporary folder as a Hugging Face checkpoint; nothing is committed. The pixel batch is random
normal [B, 3, 224, 224] float32, given to Zoo as a .npy pixel tensor so both sides time the same
forward pass without image decoding.

Timing: PyTorch runs `model(pixel_values)` under torch.no_grad() after one warm-up call; Zoo runs
`zoo run MODEL --image batch.npy` once per process and reports the forward-pass time on stderr
(weights loaded, not counted), so every Zoo run includes its first-call costs (buffer allocation,
thread pool start-up): conservative for Zoo. PyTorch and Zoo runs alternate, so both see
the same machine load; each figure is the best of --runs.
Both sides also print their logits' agreement (max |diff| / max |ref|) as a sanity check.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
import torchvision_shim  # noqa: E402,F401  (PyPI's torchvision is a CUDA build; transformers imports it)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import ViTConfig, ViTForImageClassification  # noqa: E402


def make_model(folder):
    torch.manual_seed(0)
    config = ViTConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                       image_size=224, patch_size=16, num_labels=1000, hidden_act="gelu", layer_norm_eps=1e-12)
    model = ViTForImageClassification(config).eval()
    model.save_pretrained(folder)
    return model


def torch_seconds(model, x):
    with torch.no_grad():
        t0 = time.perf_counter()
        logits = model(pixel_values=x).logits
        return time.perf_counter() - t0, logits.numpy()


def zoo_seconds(zoo, folder, npy, threads):
    out = npy + ".logits.npy"
    proc = subprocess.run([zoo, "run", folder, "--image", npy, "--threads", str(threads), "--top", "1",
                           "--dump-logits", out], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"zoo failed: {proc.stderr}")
    m = re.search(r"(\d+) image\(s\) in ([0-9.]+) s", proc.stderr)
    if not m:
        sys.exit(f"zoo printed no timing: {proc.stderr}")
    return float(m.group(2)), np.load(out)


def measure(zoo, folder, model, pixels, npy, runs, threads):
    """Alternates PyTorch and Zoo runs so that both see the same machine load; best of `runs` each."""
    x = torch.from_numpy(pixels)
    torch_seconds(model, x)  # warm-up
    best_pt = best_zoo = float("inf")
    for _ in range(runs):
        t, pt_logits = torch_seconds(model, x)
        best_pt = min(best_pt, t)
        t, zoo_logits = zoo_seconds(zoo, folder, npy, threads)
        best_zoo = min(best_zoo, t)
    batch = pixels.shape[0]
    return batch / best_pt, batch / best_zoo, pt_logits, zoo_logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", default=os.path.join(ROOT, ".build-bench", "release", "zoo"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8")
    args = ap.parse_args()
    if not os.path.exists(args.zoo):
        sys.exit(f"{args.zoo}: no zoo binary; build it with: swift build -c release --scratch-path .build-bench")
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    results = {"load_average_1min_at_start": load, "cpus": os.cpu_count(), "versions": {"python": platform.python_version(), "torch": torch.__version__,
                            "transformers": transformers.__version__, "numpy": np.__version__},
               "threads": args.threads, "runs": args.runs, "model": "ViT-B/16 224 random (seed 0)", "batches": {}}
    with tempfile.TemporaryDirectory(prefix="zoo-vit-bench-") as tmp:
        folder = os.path.join(tmp, "vit-b16")
        model = make_model(folder)
        rng = np.random.default_rng(0)
        for batch in [int(b) for b in args.batches.split(",")]:
            pixels = rng.standard_normal((batch, 3, 224, 224), dtype=np.float32)
            npy = os.path.join(tmp, f"pixels-{batch}.npy")
            np.save(npy, pixels)
            pt, zoo, pt_logits, zoo_logits = measure(args.zoo, folder, model, pixels, npy, args.runs, args.threads)
            rel = float(np.abs(zoo_logits - pt_logits).max() / np.abs(pt_logits).max())
            results["batches"][batch] = {"pytorch_images_per_s": round(pt, 2), "zoo_images_per_s": round(zoo, 2),
                                         "zoo_over_pytorch": round(zoo / pt, 2), "logits_max_rel": rel}
            print(f"batch {batch}: PyTorch {pt:6.2f} images/s   Zoo {zoo:6.2f} images/s   "
                  f"ratio {zoo / pt:4.2f}x   logits max rel {rel:.2e}", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
