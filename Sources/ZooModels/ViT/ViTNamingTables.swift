/// ViT naming tables: the model's own field names on the left, each convention's checkpoint names
/// on the right (see formats/image-preprocessing.md and format-facts.md §6 for the layouts).
///
/// Model fields: "patch.weight" [C, ch*ph*pw] (the conv kernel flattened, so the patch embedding
/// is a matrix product), "cls" [C], "pos" [N, C], per block "blocks.{L}.{norm1,attn.qkv,attn.proj,
/// norm2,mlp.fc1,mlp.fc2}", "norm", and "head" [K, C] or "pooler" [C, C].
public enum ViTNamingTables {
    static func embeddings(patch: String, cls: String, pos: String) -> [TensorRule] {
        [
            TensorRule("patch.weight", patch + ".weight", shape: ["C", "P"], transform: .reshape,
                       storedShape: ["C", "ch", "ph", "pw"], quantizable: true),
            TensorRule("patch.bias", patch + ".bias", shape: ["C"]),
            TensorRule("cls", cls, shape: ["C"], transform: .reshape, storedShape: [1, 1, "C"]),
            TensorRule("pos", pos, shape: ["N", "C"], transform: .reshape, storedShape: [1, "N", "C"]),
        ]
    }

    static func block(_ p: String, qkv: [TensorRule], proj: String, norm1: String, norm2: String,
                      fc1: String, fc2: String) -> [TensorRule] {
        [
            TensorRule("blocks.{L}.norm1.weight", p + norm1 + ".weight", shape: ["C"]),
            TensorRule("blocks.{L}.norm1.bias", p + norm1 + ".bias", shape: ["C"]),
        ] + qkv + [
            TensorRule("blocks.{L}.attn.proj.weight", p + proj + ".weight", shape: ["C", "C"], quantizable: true),
            TensorRule("blocks.{L}.attn.proj.bias", p + proj + ".bias", shape: ["C"]),
            TensorRule("blocks.{L}.norm2.weight", p + norm2 + ".weight", shape: ["C"]),
            TensorRule("blocks.{L}.norm2.bias", p + norm2 + ".bias", shape: ["C"]),
            TensorRule("blocks.{L}.mlp.fc1.weight", p + fc1 + ".weight", shape: ["I", "C"], quantizable: true),
            TensorRule("blocks.{L}.mlp.fc1.bias", p + fc1 + ".bias", shape: ["I"]),
            TensorRule("blocks.{L}.mlp.fc2.weight", p + fc2 + ".weight", shape: ["C", "I"], quantizable: true),
            TensorRule("blocks.{L}.mlp.fc2.bias", p + fc2 + ".bias", shape: ["C"]),
        ]
    }

    /// transformers ViT encoder names, used by both HF tables (`base` = "vit." or "").
    static func huggingFaceEncoder(_ base: String) -> [TensorRule] {
        let p = base + "encoder.layer.{L}."
        let a = p + "attention.attention."
        let qkv = [
            TensorRule("blocks.{L}.attn.qkv.weight", a + "query.weight", a + "key.weight", a + "value.weight",
                       shape: ["3*C", "C"], transform: .concatRows, quantizable: true),
            // Optional: qkv_bias false checkpoints have none (the model then adds zeros).
            TensorRule("blocks.{L}.attn.qkv.bias", a + "query.bias", a + "key.bias", a + "value.bias",
                       shape: ["3*C"], transform: .concatRows, optional: true),
        ]
        return embeddings(patch: base + "embeddings.patch_embeddings.projection", cls: base + "embeddings.cls_token",
                          pos: base + "embeddings.position_embeddings")
            + block(p, qkv: qkv, proj: "attention.output.dense", norm1: "layernorm_before", norm2: "layernorm_after",
                    fc1: "intermediate.dense", fc2: "output.dense")
            + [TensorRule("norm.weight", base + "layernorm.weight", shape: ["C"]),
               TensorRule("norm.bias", base + "layernorm.bias", shape: ["C"])]
    }

    /// ViTForImageClassification.
    public static let huggingFace = NamingTable(
        name: "ViT (Hugging Face ViTForImageClassification)",
        rules: huggingFaceEncoder("vit.") + [
            TensorRule("head.weight", "classifier.weight", shape: ["K", "C"], quantizable: true),
            TensorRule("head.bias", "classifier.bias", shape: ["K"]),
        ])

    /// ViTModel (headless); the pooler is optional (add_pooling_layer=False checkpoints lack it).
    public static let huggingFaceBare = NamingTable(
        name: "ViT (Hugging Face ViTModel)",
        rules: huggingFaceEncoder("") + [
            TensorRule("pooler.weight", "pooler.dense.weight", shape: ["C", "C"], quantizable: true, optional: true),
            TensorRule("pooler.bias", "pooler.dense.bias", shape: ["C"], optional: true),
        ])

    /// timm VisionTransformer (class token, token pooling, no fc_norm).
    public static let timm = NamingTable(
        name: "ViT (timm VisionTransformer)",
        rules: embeddings(patch: "patch_embed.proj", cls: "cls_token", pos: "pos_embed")
            + block("blocks.{L}.", qkv: [
                TensorRule("blocks.{L}.attn.qkv.weight", "blocks.{L}.attn.qkv.weight", shape: ["3*C", "C"],
                           quantizable: true),
                TensorRule("blocks.{L}.attn.qkv.bias", "blocks.{L}.attn.qkv.bias", shape: ["3*C"], optional: true),
            ], proj: "attn.proj", norm1: "norm1", norm2: "norm2", fc1: "mlp.fc1", fc2: "mlp.fc2")
            + [
                TensorRule("norm.weight", "norm.weight", shape: ["C"]),
                TensorRule("norm.bias", "norm.bias", shape: ["C"]),
                TensorRule("head.weight", "head.weight", shape: ["K", "C"], quantizable: true),
                TensorRule("head.bias", "head.bias", shape: ["K"]),
            ])

    public static func table(for convention: ViTConvention) -> NamingTable {
        switch convention {
        case .huggingFace: return huggingFace
        case .huggingFaceBare: return huggingFaceBare
        case .timm: return timm
        }
    }
}
