#!/usr/bin/env python3
"""Writes the seeds fuzz/run.sh cannot take from fixtures/ as they are (the fixtures' GGUF files are
far above the fuzzers' 64 KB input limit):
- tokenizer-gguf: small GGUF files holding only GPT-2 tokenizer metadata (tokenizer.ggml.*), from
  the tiny-a and demo-gpt2 fixtures' vocab.json + merges.txt;
- model-gguf: a few-KB GPT-2 in llama.cpp's GGUF layout (f32 and Q8_0 weights) and a ViT in Zoo's
  GGUF layout (formats/vit-gguf.md), random weights, widths a multiple of 32 so Q8_0 runs int8;
- model-folder: config.json, a zero byte, model.safetensors: a few-KB GPT-2 and ViT saved by
  transformers' save_pretrained and a timm ViT (random weights, the same sizes).
Needs the `gguf`, `numpy`, `torch`, `transformers`, `timm` and `safetensors` packages.
Usage: python3 fuzz/make_seeds.py (from anywhere)."""
import json
import os

import gguf
import numpy as np

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


def matrix_type(name, array, q8):
    """Q8_0 for the 2-D weights whose rows are whole 32-blocks when asked, else f32."""
    if q8 and array.ndim == 2 and array.shape[1] % 32 == 0 and name.endswith(".weight") and "embd" not in name:
        return gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0), gguf.GGMLQuantizationType.Q8_0
    return array, gguf.GGMLQuantizationType.F32


def write_tensors(w, tensors, q8):
    for name, array in tensors.items():
        data, kind = matrix_type(name, array, q8)
        # Q8_0 data is the byte array quantize() returns; gguf-py derives the element shape from it.
        w.add_tensor(name, data, raw_dtype=kind if kind != gguf.GGMLQuantizationType.F32 else None)


def gpt2_gguf(out, q8):
    c, f, v, p, layers = 32, 64, 11, 5, 1
    rng = np.random.default_rng(7)
    def r(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)
    w = gguf.GGUFWriter(out, "gpt2")
    w.add_context_length(p)
    w.add_embedding_length(c)
    w.add_feed_forward_length(f)
    w.add_block_count(layers)
    w.add_head_count(2)
    w.add_layer_norm_eps(1e-5)
    tensors = {"token_embd.weight": r(v, c), "position_embd.weight": r(p, c)}
    for i in range(layers):
        b = f"blk.{i}."
        tensors.update({b + "attn_norm.weight": 1 + r(c), b + "attn_norm.bias": r(c),
                        b + "attn_qkv.weight": r(3 * c, c), b + "attn_qkv.bias": r(3 * c),
                        b + "attn_output.weight": r(c, c), b + "attn_output.bias": r(c),
                        b + "ffn_norm.weight": 1 + r(c), b + "ffn_norm.bias": r(c),
                        b + "ffn_up.weight": r(f, c), b + "ffn_up.bias": r(f),
                        b + "ffn_down.weight": r(c, f), b + "ffn_down.bias": r(c)})
    tensors.update({"output_norm.weight": 1 + r(c), "output_norm.bias": r(c)})
    write_tensors(w, tensors, q8)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def vit_gguf(out, q8):
    """The vit.* keys and tensor names of Zoo's ViT GGUF layout (ViTGGUFLayout.swift)."""
    c, inner, side, patch, labels = 32, 64, 8, 4, ["cat", "dog", "eel"]
    tokens = 1 + (side // patch) ** 2
    rng = np.random.default_rng(8)
    def r(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)
    w = gguf.GGUFWriter(out, "vit")
    w.add_string("general.type", "model")
    w.add_string("vit.source_convention", "hf")
    for key, value in [("image_height", side), ("image_width", side), ("patch_size", patch), ("num_channels", 3),
                       ("embedding_length", c), ("block_count", 1), ("attention.head_count", 2),
                       ("feed_forward_length", inner), ("preprocess.height", side), ("preprocess.width", side)]:
        w.add_uint32("vit." + key, value)
    w.add_float32("vit.attention.layer_norm_epsilon", 1e-12)
    w.add_bool("vit.attention.qkv_bias", True)
    w.add_string("vit.activation", "gelu_erf")
    w.add_array("vit.labels", labels)
    w.add_string("vit.preprocess.recipe", "hf")
    w.add_string("vit.preprocess.resample", "bilinear")
    for key in ["do_resize", "do_rescale", "do_normalize"]:
        w.add_bool("vit.preprocess." + key, True)
    w.add_float64("vit.preprocess.rescale_factor", 1 / 255)
    w.add_array("vit.preprocess.mean", [0.5, 0.5, 0.5])
    w.add_array("vit.preprocess.std", [0.5, 0.5, 0.5])
    w.add_float64("vit.preprocess.crop_pct", 1.0)
    tensors = {"patch_embd.weight": r(c, 3 * patch * patch), "patch_embd.bias": r(c), "class_embd": r(c),
               "position_embd.weight": r(tokens, c),
               "blk.0.attn_norm.weight": 1 + r(c), "blk.0.attn_norm.bias": r(c),
               "blk.0.attn_qkv.weight": r(3 * c, c), "blk.0.attn_qkv.bias": r(3 * c),
               "blk.0.attn_output.weight": r(c, c), "blk.0.attn_output.bias": r(c),
               "blk.0.ffn_norm.weight": 1 + r(c), "blk.0.ffn_norm.bias": r(c),
               "blk.0.ffn_up.weight": r(inner, c), "blk.0.ffn_up.bias": r(inner),
               "blk.0.ffn_down.weight": r(c, inner), "blk.0.ffn_down.bias": r(c),
               "output_norm.weight": 1 + r(c), "output_norm.bias": r(c),
               "cls.weight": r(len(labels), c), "cls.bias": r(len(labels))}
    write_tensors(w, tensors, q8)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def folder_seed(out, config, tensors):
    """config.json 0x00 model.safetensors, the model-folder target's layout."""
    from safetensors.numpy import save
    with open(out, "wb") as f:
        f.write(json.dumps(config, indent=1).encode() + b"\0" + save(tensors))


def model_folder_seeds(seeds):
    import sys
    import tempfile
    sys.path.insert(0, os.path.join(ROOT, "fixtures"))
    import torchvision_shim  # noqa: F401  (must precede transformers/timm)
    import timm
    import torch
    import transformers
    from safetensors.numpy import load_file
    torch.manual_seed(9)
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in [
            ("gpt2-hf", transformers.GPT2LMHeadModel(transformers.GPT2Config(
                n_embd=32, n_layer=1, n_head=2, n_positions=5, vocab_size=11, bos_token_id=10, eos_token_id=10))),
            ("vit-hf", transformers.ViTForImageClassification(transformers.ViTConfig(
                hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=8,
                patch_size=4, num_labels=3))),
        ]:
            folder = os.path.join(tmp, name)
            model.save_pretrained(folder, safe_serialization=True)
            config = json.load(open(os.path.join(folder, "config.json")))
            folder_seed(os.path.join(seeds, name + ".seed"), config, load_file(os.path.join(folder, "model.safetensors")))
    kwargs = {"img_size": 8, "patch_size": 4, "embed_dim": 32, "depth": 1, "num_heads": 2, "mlp_ratio": 2}
    vit = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=3, **kwargs)
    config = {"architecture": "vit_base_patch16_224", "num_classes": 3, "num_features": 32, "global_pool": "token",
              "model_args": kwargs, "pretrained_cfg": {"input_size": [3, 8, 8], "interpolation": "bicubic",
                                                       "crop_pct": 0.9, "mean": [0.5] * 3, "std": [0.5] * 3}}
    folder_seed(os.path.join(seeds, "vit-timm.seed"), config,
                {k: v.detach().numpy().copy() for k, v in vit.state_dict().items()})


if __name__ == "__main__":
    seeds = os.path.join(ROOT, "fuzz", "seeds", "tokenizer-gguf")
    os.makedirs(seeds, exist_ok=True)
    tokenizer_gguf("fixtures/gpt2/tiny-a", os.path.join(seeds, "tiny-a-tokenizer.gguf"))
    tokenizer_gguf("fixtures/demo-gpt2", os.path.join(seeds, "demo-gpt2-tokenizer.gguf"))
    models = os.path.join(ROOT, "fuzz", "seeds", "model-gguf")
    os.makedirs(models, exist_ok=True)
    for q8 in (False, True):
        gpt2_gguf(os.path.join(models, f"gpt2-{'q8_0' if q8 else 'f32'}.gguf"), q8)
        vit_gguf(os.path.join(models, f"vit-{'q8_0' if q8 else 'f32'}.gguf"), q8)
    folders = os.path.join(ROOT, "fuzz", "seeds", "model-folder")
    os.makedirs(folders, exist_ok=True)
    model_folder_seeds(folders)
