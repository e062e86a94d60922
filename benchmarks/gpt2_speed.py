"""GPT-2 124M speed: `zoo run` against PyTorch + transformers on the same machine, same run.

Creates a randomly initialised GPT-2 124M-shaped Hugging Face folder in a temporary directory
(never committed; vocab_size 50257 even though the copied demo tokenizer is smaller: the prompt
only needs token ids), builds zoo in release mode, and times a 128-token prompt (prefill) and
64 greedy new tokens (decode) with 2 threads in both implementations; zoo also once more with
its linear layers quantized to Q8_0 at load (`--dtype q8_0`).

Rerun:  python3 benchmarks/gpt2_speed.py [--threads 2] [--new-tokens 64] [--runs 3]
        [--scratch-path .build-bench] [--skip-build]
Prints prompt tokens/s and generated tokens/s for each, plus the ratios. Deterministic inputs
(seeded weights, fixed prompt); timings are of course the machine's.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# PyPI's torchvision is a CUDA build that breaks `import transformers` models; the shim must come first.
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
import torchvision_shim  # noqa: E402,F401
PROMPT_TOKENS = 128


def make_model(folder):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12)
    model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(folder, safe_serialization=True)
    demo = os.path.join(ROOT, "fixtures", "demo-gpt2")
    for name in ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json"):
        if os.path.exists(os.path.join(demo, name)):
            shutil.copy(os.path.join(demo, name), folder)
    return model


def make_prompt(folder):
    """A text of exactly PROMPT_TOKENS tokens under the copied tokenizer, and its ids."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    words = ("The quick brown fox jumps over the lazy dog while the small model reads a long text "
             "about wrapping lines and counting words in a file ").split()
    text = ""
    i = 0
    while True:
        candidate = text + ("" if not text else " ") + words[i % len(words)]
        if len(tok.encode(candidate).ids) > PROMPT_TOKENS:
            break
        text = candidate
        i += 1
    while len(tok.encode(text).ids) < PROMPT_TOKENS:
        text += "."
    ids = tok.encode(text).ids
    if len(ids) != PROMPT_TOKENS:
        raise SystemExit(f"could not build a {PROMPT_TOKENS}-token prompt (got {len(ids)})")
    return text, ids


def widen_vocab(folder, size=50257):
    """Pads vocab.json to the model's 50257 ids (so every generated id decodes) and drops
    tokenizer.json, leaving zoo to read vocab.json + merges.txt. Filler tokens are plain ASCII
    strings like "x2048" that no merge produces."""
    import json
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    taken = set(vocab)
    next_id = max(vocab.values()) + 1
    n = 0
    while next_id < size:
        name = f"x{next_id}_{n}"
        n += 1
        if name in taken:
            continue
        vocab[name] = next_id
        next_id += 1
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if os.path.exists(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))


def run_zoo(zoo, folder, prompt, threads, new_tokens, runs, dtype="f32"):
    best = None
    for _ in range(runs):
        out = subprocess.run([zoo, "run", folder, "--prompt", prompt, "--max-tokens", str(new_tokens),
                              "--threads", str(threads), "--dtype", dtype], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit("zoo run failed:\n" + out.stderr)
        p = re.search(r"prompt: (\d+) tokens, ([\d.]+) tokens/s", out.stderr)
        g = re.search(r"generated: (\d+) tokens, ([\d.]+) tokens/s", out.stderr)
        r = (int(p.group(1)), float(p.group(2)), int(g.group(1)), float(g.group(2)))
        if best is None or r[1] + r[3] > best[1] + best[3]:
            best = r
    return best


def run_torch(model, ids, threads, new_tokens, runs):
    import warnings
    import torch
    import transformers
    warnings.filterwarnings("ignore", category=FutureWarning)
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(threads)
    x = torch.tensor([ids])
    best = None
    with torch.no_grad():
        model(x[:, :8])  # warm-up
        for _ in range(runs):
            t0 = time.perf_counter()
            out = model(x, use_cache=True)
            t1 = time.perf_counter()
            past = out.past_key_values
            nxt = out.logits[:, -1:].argmax(-1)
            t2 = time.perf_counter()
            for _ in range(new_tokens):
                out = model(nxt, past_key_values=past, use_cache=True)
                past = out.past_key_values
                nxt = out.logits[:, -1:].argmax(-1)
            t3 = time.perf_counter()
            r = (len(ids), len(ids) / (t1 - t0), new_tokens, new_tokens / (t3 - t2))
            if best is None or r[1] + r[3] > best[1] + best[3]:
                best = r
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scratch-path", default=".build-bench")
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()

    import torch
    import transformers
    scratch = os.path.join(ROOT, args.scratch_path)
    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "zoo", "--scratch-path", scratch],
                       cwd=ROOT, check=True)
    zoo = os.path.join(scratch, "release", "zoo")

    with tempfile.TemporaryDirectory(prefix="zoo-gpt2-124m-") as folder:
        model = make_model(folder)
        prompt, ids = make_prompt(folder)
        widen_vocab(folder)
        z = run_zoo(zoo, folder, prompt, args.threads, args.new_tokens, args.runs)
        q = run_zoo(zoo, folder, prompt, args.threads, args.new_tokens, args.runs, dtype="q8_0")
        t = run_torch(model, ids, args.threads, args.new_tokens, args.runs)

    print(f"GPT-2 124M (random weights), f32, {args.threads} threads, prompt {PROMPT_TOKENS} tokens, "
          f"{args.new_tokens} new tokens, best of {args.runs}")
    print(f"versions: python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"{'':12} {'prompt tok/s':>14} {'generated tok/s':>16}")
    print(f"{'zoo f32':12} {z[1]:14.1f} {z[3]:16.1f}   ({z[2]} tokens generated)")
    print(f"{'pytorch f32':12} {t[1]:14.1f} {t[3]:16.1f}")
    print(f"{'zoo/pytorch':12} {z[1] / t[1]:14.2f} {z[3] / t[3]:16.2f}")
    print(f"{'zoo q8_0':12} {q[1]:14.1f} {q[3]:16.1f}   (weights quantized at load; int8 kernels)")


if __name__ == "__main__":
    main()
