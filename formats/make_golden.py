#!/usr/bin/env python3
"""Writes the golden files in formats/golden/ with the reference libraries, and expected.json
holding every tensor's values and every metadata value, so Zoo's readers are tested against
bytes and numbers that Zoo did not produce.

Rerun:  python3 formats/make_golden.py      (needs numpy, safetensors, torch, gguf)
The versions used are recorded in golden/expected.json under "versions".
"""
import base64, json, os, sys
import importlib.metadata as md
import numpy as np
import torch
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file as torch_save_file
import gguf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261129)
expected = {"versions": {m: md.version(m) for m in ["numpy", "safetensors", "torch", "gguf"]}, "files": {}}


def values(a):
    """Exact values as JSON: floats widened to float64 (exact for f16/bf16/f32)."""
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return [bool(x) for x in a.reshape(-1)]
    if a.dtype.kind == "f":
        return [float(x) for x in a.astype(np.float64).reshape(-1)]
    return [int(x) for x in a.reshape(-1)]


def record(fname, fmt, tensors, metadata=None):
    expected["files"][fname] = {"format": fmt, "metadata": metadata or {}, "tensors": tensors}


def tensor_entry(dtype, shape, vals):
    return {"dtype": dtype, "shape": list(shape), "values": vals}


# ---- .npy (numpy) -------------------------------------------------------------------------
npy_cases = {
    "f32_2x3": rng.standard_normal((2, 3)).astype("<f4"),
    "f16_5": rng.standard_normal(5).astype("<f2"),
    "f64_3x1": rng.standard_normal((3, 1)),
    "i8_4": np.array([-128, -1, 0, 127], dtype=np.int8),
    "u8_3": np.array([0, 128, 255], dtype=np.uint8),
    "i16_be": np.array([1, -2, 300], dtype=">i2"),
    "f32_be_2x2": rng.standard_normal((2, 2)).astype(">f4"),
    "i32_2x2": np.array([[1, -2], [2**31 - 1, -(2**31)]], dtype="<i4"),
    "i64_2": np.array([2**62, -5], dtype="<i8"),
    "u16_2": np.array([0, 65535], dtype="<u2"),
    "u32_2": np.array([7, 2**32 - 1], dtype="<u4"),
    "u64_1": np.array([2**53], dtype="<u8"),
    "bool_4": np.array([True, False, True, True]),
    "scalar_f32": np.array(3.5, dtype=np.float32),
    "empty_0x3": np.zeros((0, 3), dtype=np.float32),
    "fortran_3x4": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
    "fortran_2x3x4_i16": np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4)),
}
dtype_names = {"float32": "F32", "float16": "F16", "float64": "F64", "int8": "I8", "uint8": "U8", "int16": "I16",
               "int32": "I32", "int64": "I64", "uint16": "U16", "uint32": "U32", "uint64": "U64", "bool": "BOOL"}
for name, arr in npy_cases.items():
    fname = f"npy_{name}.npy"
    np.save(os.path.join(OUT, fname), arr)
    record(fname, "npy", {f"npy_{name}": tensor_entry(dtype_names[arr.dtype.name], arr.shape, values(np.ascontiguousarray(arr)))})
# A version 2.0 header (numpy writes 2.0 only when needed; force it here).
arr = rng.standard_normal((2, 2)).astype("<f4")
with open(os.path.join(OUT, "npy_v2.npy"), "wb") as f:
    np.lib.format.write_array(f, arr, version=(2, 0))
record("npy_v2.npy", "npy", {"npy_v2": tensor_entry("F32", arr.shape, values(arr))})

# ---- .npz (numpy) -------------------------------------------------------------------------
npz_arrays = {"weight": rng.standard_normal((4, 8)).astype(np.float32), "bias": rng.standard_normal(8).astype(np.float16),
              "ids": np.arange(6, dtype=np.int64).reshape(2, 3), "flag": np.array(True), "empty": np.zeros((2, 0), np.int32)}
np.savez(os.path.join(OUT, "stored.npz"), **npz_arrays)
np.savez_compressed(os.path.join(OUT, "deflated.npz"), **npz_arrays)
for fname in ["stored.npz", "deflated.npz"]:
    record(fname, "npz", {k: tensor_entry(dtype_names[v.dtype.name], v.shape, values(v)) for k, v in npz_arrays.items()})

# ---- safetensors (the safetensors package) ---------------------------------------------------
st = {
    "f32": torch.tensor(rng.standard_normal((3, 4)), dtype=torch.float32),
    "f16": torch.tensor(rng.standard_normal((2, 5)), dtype=torch.float16),
    "bf16": torch.tensor(rng.standard_normal((4, 2)), dtype=torch.bfloat16),
    "f64": torch.tensor(rng.standard_normal(3), dtype=torch.float64),
    "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 255], dtype=torch.uint8),
    "i16": torch.tensor([-300, 300], dtype=torch.int16),
    "i32": torch.tensor([[1, 2], [3, -4]], dtype=torch.int32),
    "i64": torch.tensor([2**40, -1], dtype=torch.int64),
    "bool": torch.tensor([True, False]),
    "scalar": torch.tensor(2.25, dtype=torch.float32),
    "empty": torch.zeros((0, 4), dtype=torch.float32),
}
st_meta = {"format": "pt", "note": "golden file for Zoo", "unicode": "héllo ✓"}
torch_save_file(st, os.path.join(OUT, "mixed.safetensors"), metadata=st_meta)


def tvals(t):
    return values(t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy())


tdt = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int8: "I8",
       torch.uint8: "U8", torch.int16: "I16", torch.int32: "I32", torch.int64: "I64", torch.bool: "BOOL"}
record("mixed.safetensors", "safetensors", {k: tensor_entry(tdt[v.dtype], v.shape, tvals(v)) for k, v in st.items()},
       {k: {"type": "string", "value": v} for k, v in st_meta.items()})

# A sharded checkpoint: two shards and an index, as transformers writes them.
shard_dir = os.path.join(OUT, "sharded")
os.makedirs(shard_dir, exist_ok=True)
shards = {"model-00001-of-00002.safetensors": {"a.weight": rng.standard_normal((3, 3)).astype(np.float32)},
          "model-00002-of-00002.safetensors": {"b.weight": rng.standard_normal((2,)).astype(np.float32),
                                               "b.bias": rng.standard_normal((2,)).astype(np.float32)}}
weight_map, total = {}, 0
for fname, tensors in shards.items():
    np_save_file(tensors, os.path.join(shard_dir, fname), metadata={"format": "pt"})
    for k, v in tensors.items():
        weight_map[k] = fname
        total += v.nbytes
with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
record("sharded/model.safetensors.index.json", "safetensors",
       {k: tensor_entry("F32", v.shape, values(v)) for t in shards.values() for k, v in t.items()})

# ---- GGUF (gguf-py) ---------------------------------------------------------------------------
q_input = (rng.standard_normal((3, 64)) * 2).astype(np.float32)
q_input[0, :32] = 0.0                       # a block of zeros
q_input[1, 0:32] = np.linspace(-1, 1, 32)  # includes exact .5 ties after scaling
q_bytes = gguf.quants.quantize(q_input, gguf.GGMLQuantizationType.Q8_0)
q_deq = gguf.quants.dequantize(q_bytes, gguf.GGMLQuantizationType.Q8_0)

w = gguf.GGUFWriter(os.path.join(OUT, "model.gguf"), arch="golden")
meta = {}
def add(key, vtype, value, adder):
    adder(key, value)
    meta[key] = {"type": vtype, "value": value}
add("golden.u8", "u8", 200, w.add_uint8)
add("golden.i8", "i8", -100, w.add_int8)
add("golden.u16", "u16", 60000, w.add_uint16)
add("golden.i16", "i16", -30000, w.add_int16)
add("golden.u32", "u32", 4000000000, w.add_uint32)
add("golden.i32", "i32", -2000000000, w.add_int32)
add("golden.u64", "u64", 2**63 + 5, w.add_uint64)
add("golden.i64", "i64", -(2**62), w.add_int64)
add("golden.f32", "f32", 0.1, w.add_float32)
add("golden.f64", "f64", 0.1, w.add_float64)
add("golden.bool", "bool", True, w.add_bool)
add("golden.string", "string", "héllo wörld ✓", w.add_string)
add("golden.int_array", "array", [1, 2, 3, -4], w.add_array)
add("golden.string_array", "array", ["a", "", "ünï", "<|endoftext|>"], w.add_array)
add("golden.float_array", "array", [0.5, -1.25], w.add_array)
meta["golden.f32"]["value"] = float(np.float32(0.1))
meta["general.architecture"] = {"type": "string", "value": "golden"}
t_f32 = rng.standard_normal((5, 7)).astype(np.float32)
t_f16 = rng.standard_normal((2, 3, 4)).astype(np.float16)
t_i8 = np.array([[-128, 5], [0, 127]], dtype=np.int8)
t_i32 = np.array([7, -7, 2**31 - 1], dtype=np.int32)
t_1d = rng.standard_normal(9).astype(np.float32)
w.add_tensor("t.f32", t_f32)
w.add_tensor("t.f16", t_f16)
w.add_tensor("t.q8_0", q_bytes, raw_shape=q_bytes.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
w.add_tensor("t.i8", t_i8)
w.add_tensor("t.i32", t_i32)
w.add_tensor("t.1d", t_1d)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
record("model.gguf", "gguf", {
    "t.f32": tensor_entry("F32", t_f32.shape, values(t_f32)),
    "t.f16": tensor_entry("F16", t_f16.shape, values(t_f16)),
    "t.q8_0": tensor_entry("Q8_0", q_input.shape, values(q_deq)),
    "t.i8": tensor_entry("I8", t_i8.shape, values(t_i8)),
    "t.i32": tensor_entry("I32", t_i32.shape, values(t_i32)),
    "t.1d": tensor_entry("F32", t_1d.shape, values(t_1d)),
}, meta)
# Q8_0 reference for Zoo's quantizer: input values and gguf-py's block bytes.
expected["q8_0_reference"] = {"input": values(q_input), "shape": list(q_input.shape),
                              "blocks_base64": base64.b64encode(q_bytes.tobytes()).decode()}

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, ensure_ascii=False)
print("wrote", len(expected["files"]), "golden files to", OUT)
