/// The GPT-2 naming tables: the only place GPT-2 checkpoint names appear.
/// Model fields use the HF names with fused-qkv spelled `attn.qkv` and Linear layout [out, in]
/// (Conv1D weights are transposed on the way in).
public enum GPT2NamingTables {
    /// Hugging Face transformers (GPT2LMHeadModel state_dict with "transformer.", hub files bare).
    public static let huggingFace = NamingTable(
        name: "gpt2 (Hugging Face)",
        prefixes: ["transformer.", ""],
        rules: [
            TensorRule("wte.weight", "wte.weight", shape: ["V", "C"], quantizable: true),
            TensorRule("wpe.weight", "wpe.weight", shape: ["P", "C"]),
            TensorRule("h.{L}.ln_1.weight", "h.{L}.ln_1.weight", shape: ["C"]),
            TensorRule("h.{L}.ln_1.bias", "h.{L}.ln_1.bias", shape: ["C"]),
            TensorRule("h.{L}.attn.qkv.weight", "h.{L}.attn.c_attn.weight", shape: ["3*C", "C"], transform: .transpose, quantizable: true),
            TensorRule("h.{L}.attn.qkv.bias", "h.{L}.attn.c_attn.bias", shape: ["3*C"]),
            TensorRule("h.{L}.attn.proj.weight", "h.{L}.attn.c_proj.weight", shape: ["C", "C"], transform: .transpose, quantizable: true),
            TensorRule("h.{L}.attn.proj.bias", "h.{L}.attn.c_proj.bias", shape: ["C"]),
            TensorRule("h.{L}.ln_2.weight", "h.{L}.ln_2.weight", shape: ["C"]),
            TensorRule("h.{L}.ln_2.bias", "h.{L}.ln_2.bias", shape: ["C"]),
            TensorRule("h.{L}.mlp.fc.weight", "h.{L}.mlp.c_fc.weight", shape: ["F", "C"], transform: .transpose, quantizable: true),
            TensorRule("h.{L}.mlp.fc.bias", "h.{L}.mlp.c_fc.bias", shape: ["F"]),
            TensorRule("h.{L}.mlp.proj.weight", "h.{L}.mlp.c_proj.weight", shape: ["C", "F"], transform: .transpose, quantizable: true),
            TensorRule("h.{L}.mlp.proj.bias", "h.{L}.mlp.c_proj.bias", shape: ["C"]),
            TensorRule("ln_f.weight", "ln_f.weight", shape: ["C"]),
            TensorRule("ln_f.bias", "ln_f.bias", shape: ["C"]),
            // lm_head sits outside `transformer.`; listed bare so the prefix is not applied twice.
            TensorRule("lm_head.weight", "lm_head.weight", shape: ["V", "C"], quantizable: true, optional: true, prefixed: false),
        ],
        ignored: ["h.{L}.attn.bias", "h.{L}.attn.masked_bias"])

    /// llama.cpp's GGUF layout (convert_hf_to_gguf.py): Linear [out, in] already, `output` = copy of wte.
    public static let gguf = NamingTable(
        name: "gpt2 (llama.cpp GGUF)",
        prefixes: [""],
        rules: [
            TensorRule("wte.weight", "token_embd.weight", shape: ["V", "C"], quantizable: true),
            TensorRule("wpe.weight", "position_embd.weight", shape: ["P", "C"]),
            TensorRule("h.{L}.ln_1.weight", "blk.{L}.attn_norm.weight", shape: ["C"]),
            TensorRule("h.{L}.ln_1.bias", "blk.{L}.attn_norm.bias", shape: ["C"]),
            TensorRule("h.{L}.attn.qkv.weight", "blk.{L}.attn_qkv.weight", shape: ["3*C", "C"], quantizable: true),
            TensorRule("h.{L}.attn.qkv.bias", "blk.{L}.attn_qkv.bias", shape: ["3*C"]),
            TensorRule("h.{L}.attn.proj.weight", "blk.{L}.attn_output.weight", shape: ["C", "C"], quantizable: true),
            TensorRule("h.{L}.attn.proj.bias", "blk.{L}.attn_output.bias", shape: ["C"]),
            TensorRule("h.{L}.ln_2.weight", "blk.{L}.ffn_norm.weight", shape: ["C"]),
            TensorRule("h.{L}.ln_2.bias", "blk.{L}.ffn_norm.bias", shape: ["C"]),
            TensorRule("h.{L}.mlp.fc.weight", "blk.{L}.ffn_up.weight", shape: ["F", "C"], quantizable: true),
            TensorRule("h.{L}.mlp.fc.bias", "blk.{L}.ffn_up.bias", shape: ["F"]),
            TensorRule("h.{L}.mlp.proj.weight", "blk.{L}.ffn_down.weight", shape: ["C", "F"], quantizable: true),
            TensorRule("h.{L}.mlp.proj.bias", "blk.{L}.ffn_down.bias", shape: ["C"]),
            TensorRule("ln_f.weight", "output_norm.weight", shape: ["C"]),
            TensorRule("ln_f.bias", "output_norm.bias", shape: ["C"]),
            TensorRule("lm_head.weight", "output.weight", shape: ["V", "C"], quantizable: true, optional: true),
        ])
}
