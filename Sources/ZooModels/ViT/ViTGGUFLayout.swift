import ZooFormats
import ZooTensor

/// Zoo's GGUF layout for ViT image classifiers (llama.cpp has no such architecture); documented
/// in formats/vit-gguf.md. Names follow llama.cpp's style (`blk.N.attn_qkv`, `ffn_up`, ...).
extension ViTNamingTables {
    public static let gguf = NamingTable(
        name: "ViT (Zoo GGUF)",
        rules: [
            // The patch kernel is stored flattened, [C, ch*ph*pw], so its rows can be Q8_0 blocks.
            TensorRule("patch.weight", "patch_embd.weight", shape: ["C", "P"], quantizable: true),
            TensorRule("patch.bias", "patch_embd.bias", shape: ["C"]),
            TensorRule("cls", "class_embd", shape: ["C"]),
            TensorRule("pos", "position_embd.weight", shape: ["N", "C"]),
            TensorRule("blocks.{L}.norm1.weight", "blk.{L}.attn_norm.weight", shape: ["C"]),
            TensorRule("blocks.{L}.norm1.bias", "blk.{L}.attn_norm.bias", shape: ["C"]),
            TensorRule("blocks.{L}.attn.qkv.weight", "blk.{L}.attn_qkv.weight", shape: ["3*C", "C"], quantizable: true),
            TensorRule("blocks.{L}.attn.qkv.bias", "blk.{L}.attn_qkv.bias", shape: ["3*C"], optional: true),
            TensorRule("blocks.{L}.attn.proj.weight", "blk.{L}.attn_output.weight", shape: ["C", "C"], quantizable: true),
            TensorRule("blocks.{L}.attn.proj.bias", "blk.{L}.attn_output.bias", shape: ["C"]),
            TensorRule("blocks.{L}.norm2.weight", "blk.{L}.ffn_norm.weight", shape: ["C"]),
            TensorRule("blocks.{L}.norm2.bias", "blk.{L}.ffn_norm.bias", shape: ["C"]),
            TensorRule("blocks.{L}.mlp.fc1.weight", "blk.{L}.ffn_up.weight", shape: ["I", "C"], quantizable: true),
            TensorRule("blocks.{L}.mlp.fc1.bias", "blk.{L}.ffn_up.bias", shape: ["I"]),
            TensorRule("blocks.{L}.mlp.fc2.weight", "blk.{L}.ffn_down.weight", shape: ["C", "I"], quantizable: true),
            TensorRule("blocks.{L}.mlp.fc2.bias", "blk.{L}.ffn_down.bias", shape: ["C"]),
            TensorRule("norm.weight", "output_norm.weight", shape: ["C"]),
            TensorRule("norm.bias", "output_norm.bias", shape: ["C"]),
            TensorRule("head.weight", "cls.weight", shape: ["K", "C"], quantizable: true, optional: true),
            TensorRule("head.bias", "cls.bias", shape: ["K"], optional: true),
            TensorRule("pooler.weight", "pooler.weight", shape: ["C", "C"], quantizable: true, optional: true),
            TensorRule("pooler.bias", "pooler.bias", shape: ["C"], optional: true),
        ])
}

/// The `vit.*` metadata: hyperparameters, labels and preprocessing.
public enum ViTGGUFMetadata {
    public static func entries(_ c: ViTConfig, _ p: ImagePreprocessing) -> [MetadataEntry] {
        func u32(_ k: String, _ v: Int) -> MetadataEntry { MetadataEntry(k, .uint32(UInt32(v))) }
        func floats(_ v: [Float]) -> MetadataValue { .array(MetadataArray(.float32, v.map { .float32($0) })) }
        return [
            MetadataEntry("general.architecture", .string("vit")),
            MetadataEntry("general.type", .string("model")),
            MetadataEntry("vit.source_convention", .string(c.convention.rawValue)),
            u32("vit.image_height", c.imageHeight), u32("vit.image_width", c.imageWidth),
            u32("vit.patch_size", c.patchSize), u32("vit.num_channels", c.numChannels),
            u32("vit.embedding_length", c.hiddenSize), u32("vit.block_count", c.numLayers),
            u32("vit.attention.head_count", c.numHeads), u32("vit.feed_forward_length", c.intermediateSize),
            MetadataEntry("vit.attention.layer_norm_epsilon", .float32(c.layerNormEps)),
            MetadataEntry("vit.attention.qkv_bias", .bool(c.qkvBias)),
            MetadataEntry("vit.activation", .string(c.exactGELU ? "gelu_erf" : "gelu_tanh")),
            MetadataEntry("vit.labels", .array(.strings(c.labels))),
            MetadataEntry("vit.preprocess.recipe", .string(p.recipe.rawValue)),
            u32("vit.preprocess.height", p.height), u32("vit.preprocess.width", p.width),
            MetadataEntry("vit.preprocess.resample", .string(p.filter == .bicubic ? "bicubic" : "bilinear")),
            MetadataEntry("vit.preprocess.do_resize", .bool(p.doResize)),
            MetadataEntry("vit.preprocess.do_rescale", .bool(p.doRescale)),
            MetadataEntry("vit.preprocess.rescale_factor", .float64(p.rescaleFactor)),
            MetadataEntry("vit.preprocess.do_normalize", .bool(p.doNormalize)),
            MetadataEntry("vit.preprocess.mean", floats(p.mean)),
            MetadataEntry("vit.preprocess.std", floats(p.std)),
            MetadataEntry("vit.preprocess.crop_pct", .float64(p.cropPct)),
        ]
    }

    public static func config(_ reader: CheckpointReader) throws -> (ViTConfig, ImagePreprocessing) {
        let path = reader.path
        func int(_ k: String) throws -> Int {
            guard let v = reader.metadataValue(k)?.int else { throw ZooError("GGUF metadata lacks the integer '\(k)'", path: path) }
            return v
        }
        func string(_ k: String) throws -> String {
            guard let v = reader.metadataValue(k)?.string else { throw ZooError("GGUF metadata lacks the string '\(k)'", path: path) }
            return v
        }
        func floats(_ k: String) throws -> [Float] {
            guard let v = reader.metadataValue(k)?.array?.doubles(), v.count == 3 else { throw ZooError("GGUF metadata '\(k)' must be 3 floats", path: path) }
            return v.map { Float($0) }
        }
        guard let convention = ViTConvention(rawValue: try string("vit.source_convention")) else {
            throw ZooError("vit.source_convention must be hf, hf-bare or timm", path: path)
        }
        let labels = reader.metadataValue("vit.labels")?.array?.strings() ?? []
        let config = ViTConfig(convention: convention, imageHeight: try int("vit.image_height"), imageWidth: try int("vit.image_width"),
                               patchSize: try int("vit.patch_size"), numChannels: try int("vit.num_channels"),
                               hiddenSize: try int("vit.embedding_length"), numLayers: try int("vit.block_count"),
                               numHeads: try int("vit.attention.head_count"), intermediateSize: try int("vit.feed_forward_length"),
                               layerNormEps: Float(reader.metadataValue("vit.attention.layer_norm_epsilon")?.double ?? 1e-6),
                               exactGELU: (try string("vit.activation")) == "gelu_erf",
                               qkvBias: reader.metadataValue("vit.attention.qkv_bias") != .bool(false),
                               labels: labels, headsSource: "GGUF metadata")
        try config.validate(path: path)
        guard let recipe = ImagePreprocessing.Recipe(rawValue: try string("vit.preprocess.recipe")) else {
            throw ZooError("vit.preprocess.recipe must be hf or timm", path: path)
        }
        var p = ImagePreprocessing(recipe: recipe, height: try int("vit.preprocess.height"), width: try int("vit.preprocess.width"),
                                   filter: (try string("vit.preprocess.resample")) == "bicubic" ? .bicubic : .bilinear)
        if case .bool(let b)? = reader.metadataValue("vit.preprocess.do_resize") { p.doResize = b }
        if case .bool(let b)? = reader.metadataValue("vit.preprocess.do_rescale") { p.doRescale = b }
        if case .bool(let b)? = reader.metadataValue("vit.preprocess.do_normalize") { p.doNormalize = b }
        if let f = reader.metadataValue("vit.preprocess.rescale_factor")?.double { p.rescaleFactor = f }
        if let f = reader.metadataValue("vit.preprocess.crop_pct")?.double { p.cropPct = f }
        p.mean = try floats("vit.preprocess.mean")
        p.std = try floats("vit.preprocess.std")
        try p.validate(path: path)
        return (config, p)
    }
}
