#!/usr/bin/env python3
"""Writes the seeds fuzz/run.sh cannot take from fixtures/ as they are: small GGUF files holding only
GPT-2 tokenizer metadata (tokenizer.ggml.*), from the tiny-a and demo-gpt2 fixtures' vocab.json +
merges.txt. Needs the `gguf` package. Usage: python3 fuzz/make_seeds.py (from anywhere)."""
import json
import os

import gguf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def tokenizer_gguf(folder, out):
    vocab = json.load(open(os.path.join(ROOT, folder, "vocab.json"), encoding="utf-8"))
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    lines = open(os.path.join(ROOT, folder, "merges.txt"), encoding="utf-8").read().split("\n")
    merges = [m for m in lines if m and not m.startswith("#version")]
    w = gguf.GGUFWriter(out, "gpt2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    # 3 = control (special), 1 = normal, as llama.cpp's converter marks <|endoftext|>.
    w.add_token_types([3 if t.startswith("<|") and t.endswith("|>") else 1 for t in tokens])
    w.add_token_merges(merges)
    if "<|endoftext|>" in vocab:
        w.add_eos_token_id(vocab["<|endoftext|>"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    seeds = os.path.join(ROOT, "fuzz", "seeds", "tokenizer-gguf")
    os.makedirs(seeds, exist_ok=True)
    tokenizer_gguf("fixtures/gpt2/tiny-a", os.path.join(seeds, "tiny-a-tokenizer.gguf"))
    tokenizer_gguf("fixtures/demo-gpt2", os.path.join(seeds, "demo-gpt2-tokenizer.gguf"))
