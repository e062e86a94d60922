import Foundation
import ZooFormats
import ZooTensor

/// Where a ViT checkpoint came from: decides the naming table and the head.
public enum ViTConvention: String, Sendable {
    /// transformers ViTForImageClassification: `vit.` prefix, separate q/k/v, `classifier` head.
    case huggingFace = "hf"
    /// transformers ViTModel: no prefix, no classifier, optional `pooler` (tanh(dense(cls))).
    case huggingFaceBare = "hf-bare"
    /// timm VisionTransformer: fused `blocks.N.attn.qkv`, `head`.
    case timm
}

/// The sizes and numerics of a ViT, from config.json or from the tensor shapes.
public struct ViTConfig: Sendable, Equatable {
    public var convention: ViTConvention
    public var imageHeight: Int
    public var imageWidth: Int
    public var patchSize: Int
    public var numChannels: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var layerNormEps: Float
    /// true: exact erf GELU (HF "gelu", timm nn.GELU); false: tanh approximation ("gelu_new" and kin).
    public var exactGELU: Bool
    public var qkvBias: Bool
    /// Class labels by index ("0", "1", ... when the config has none); empty for a headless model.
    public var labels: [String]
    /// How the heads were found (for `inspect`-style summaries and errors).
    public var headsSource: String

    public var patchesPerSide: (rows: Int, cols: Int) { (imageHeight / patchSize, imageWidth / patchSize) }
    public var numPatches: Int { patchesPerSide.rows * patchesPerSide.cols }
    /// Tokens: the class token plus one per patch.
    public var numTokens: Int { 1 + numPatches }
    public var headDim: Int { hiddenSize / max(numHeads, 1) }

    /// Checks the relations between the sizes; `path` names the config in messages.
    public func validate(path: String?) throws {
        func need(_ ok: Bool, _ message: String) throws { if !ok { throw ZooError(message, path: path) } }
        try need(patchSize > 0 && imageHeight > 0 && imageWidth > 0 && numChannels > 0,
                 "image \(imageHeight)x\(imageWidth), patch \(patchSize), channels \(numChannels): all must be positive")
        try need(imageHeight % patchSize == 0 && imageWidth % patchSize == 0,
                 "patch size \(patchSize) does not divide the image size \(imageHeight)x\(imageWidth)")
        try need(hiddenSize > 0 && numLayers > 0 && intermediateSize > 0, "hidden \(hiddenSize), layers \(numLayers), "
                 + "intermediate \(intermediateSize): all must be positive")
        try need(numHeads > 0 && hiddenSize % numHeads == 0,
                 "\(numHeads) attention heads do not divide the hidden size \(hiddenSize)")
        try need(layerNormEps > 0 && layerNormEps.isFinite, "layer norm eps \(layerNormEps) must be positive")
        // Caps, so that the products the loader forms (patches per image, channels x patch area)
        // cannot overflow: no image the decoders accept is larger, and no real ViT comes near 2^24.
        try need(imageHeight <= ImageLimits.maxSide && imageWidth <= ImageLimits.maxSide,
                 "image \(imageHeight)x\(imageWidth) exceeds the limit of \(ImageLimits.maxSide) pixels per side")
        for (name, v) in [("channels", numChannels), ("hidden size", hiddenSize), ("layers", numLayers),
                          ("attention heads", numHeads), ("intermediate size", intermediateSize),
                          ("labels", labels.count)] where v > 1 << 24 {
            throw ZooError("\(name) is \(v); at most \(1 << 24) are supported", path: path)
        }
    }

    /// The sizes the naming tables refer to.
    var tableSizes: [String: Int] {
        ["C": hiddenSize, "L": numLayers, "I": intermediateSize, "K": labels.count, "N": numTokens,
         "ch": numChannels, "ph": patchSize, "pw": patchSize, "P": numChannels * patchSize * patchSize]
    }
}

extension ViTConfig {
    /// From a transformers ViT config.json (model_type "vit").
    public static func fromHuggingFace(_ json: JSONValue, path: String?) throws -> ViTConfig {
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
            if let v = json[key]?.int { return v }
            if let fallback { return fallback }
            throw ZooError("ViT config lacks '\(key)'", path: path)
        }
        let archs = json["architectures"]?.array?.compactMap { $0.string } ?? []
        let bare = archs.first == "ViTModel"
        let act = json["hidden_act"]?.string ?? "gelu"
        let exact: Bool
        switch act {
        case "gelu": exact = true
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": exact = false
        default: throw ZooError("ViT hidden_act '\(act)' is not supported; expected gelu (or a tanh GELU)", path: path)
        }
        let hidden = try int("hidden_size", 768)
        let image = try int("image_size", 224)
        var config = ViTConfig(
            convention: bare ? .huggingFaceBare : .huggingFace, imageHeight: image, imageWidth: image,
            patchSize: try int("patch_size", 16), numChannels: try int("num_channels", 3), hiddenSize: hidden,
            numLayers: try int("num_hidden_layers", 12), numHeads: try int("num_attention_heads", 12),
            intermediateSize: try int("intermediate_size", 3072),
            layerNormEps: Float(json["layer_norm_eps"]?.double ?? 1e-12), exactGELU: exact,
            qkvBias: json["qkv_bias"]?.bool ?? true, labels: [], headsSource: "config.json num_attention_heads")
        if !bare { config.labels = try labels(json, path: path) }
        try config.validate(path: path)
        return config
    }

    /// id2label as an array ordered by index; "LABEL_i"-free: missing ids are an error.
    static func labels(_ json: JSONValue, path: String?) throws -> [String] {
        if let map = json["id2label"]?.object, !map.isEmpty {
            var out = [String?](repeating: nil, count: map.count)
            for (key, value) in map {
                guard let i = Int(key), i >= 0, i < map.count, let name = value.string else {
                    throw ZooError("id2label entry '\(key)' is not an index 0..<\(map.count) with a string label", path: path)
                }
                out[i] = name
            }
            return out.enumerated().map { $0.element ?? String($0.offset) }
        }
        let count = json["num_labels"]?.int ?? 2  // transformers' PretrainedConfig default
        // A label string per class is made here, before any weight says how many there are.
        guard count >= 0 && count <= 1 << 20 else {
            throw ZooError("num_labels is \(count); expected 0...\(1 << 20)", path: path)
        }
        return (0..<count).map { "LABEL_\($0)" }
    }

    /// From a timm config.json (`architecture` plus kwargs, either top level or under `model_args`),
    /// completed from the checkpoint's shapes for anything the config leaves out.
    public static func fromTimm(_ json: JSONValue, reader: CheckpointReader, path: String?) throws -> ViTConfig {
        var config = try fromTimmShapes(reader)
        func value(_ key: String) -> JSONValue? { json["model_args"]?[key] ?? json[key] }
        for (key, expected) in [("class_token", JSONValue.bool(true)), ("no_embed_class", .bool(false)),
                                ("pre_norm", .bool(false)), ("reg_tokens", .int(0))] {
            if let v = value(key), v != expected {
                throw ZooError("timm option \(key) = \(v) is not supported (Zoo runs the plain class-token ViT)", path: path)
            }
        }
        if let pool = value("global_pool")?.string, pool != "token" {
            throw ZooError("timm global_pool '\(pool)' is not supported; expected 'token'", path: path)
        }
        if let fc = value("fc_norm"), fc != .null, fc != .bool(false) {
            throw ZooError("timm fc_norm = \(fc) is not supported", path: path)
        }
        if let heads = value("num_heads")?.int {
            config.numHeads = heads
            config.headsSource = "config.json num_heads"
        } else if let arch = json["architecture"]?.string, let heads = knownTimmHeads(arch, width: config.hiddenSize) {
            config.numHeads = heads
            config.headsSource = "timm architecture \(arch)"
        }
        if let size = value("img_size") {
            if let side = size.int { config.imageHeight = side; config.imageWidth = side }
            if let pair = size.array?.compactMap({ $0.int }), pair.count == 2 {
                config.imageHeight = pair[0]; config.imageWidth = pair[1]
            }
        }
        if let names = json["label_names"]?.array?.compactMap({ $0.string }), names.count == config.labels.count {
            config.labels = names
        }
        try config.validate(path: path)
        return config
    }

    /// Heads of timm's named ViT sizes (head_dim 64 everywhere except where listed).
    static func knownTimmHeads(_ arch: String, width: Int) -> Int? {
        let table: [(String, Int, Int)] = [("vit_tiny", 192, 3), ("vit_small", 384, 6), ("vit_base", 768, 12),
                                           ("vit_large", 1024, 16), ("vit_huge", 1280, 16), ("vit_giant", 1408, 16)]
        for (prefix, w, heads) in table where arch.hasPrefix(prefix) && w == width { return heads }
        return nil
    }

    /// Everything from timm tensor shapes alone:
    /// - patch size and channels from `patch_embed.proj.weight` [C, ch, p, p];
    /// - image size from `pos_embed` [1, 1 + n*n, C] (square grid assumed);
    /// - depth from the number of `blocks.N.` indices; MLP width from `blocks.0.mlp.fc1.weight`;
    /// - labels from `head.weight` rows;
    /// - heads: C / 64 (every timm ViT size uses head_dim 64); when 64 does not divide C, fall back
    ///   to a single head, and say so in `headsSource` (a config.json with num_heads overrides both);
    /// - eps 1e-6 (timm's LayerNorm), exact GELU.
    public static func fromTimmShapes(_ reader: CheckpointReader) throws -> ViTConfig {
        let path = reader.path
        guard let proj = reader.info("patch_embed.proj.weight"), proj.shape.rank == 4 else {
            throw ZooError("not a timm ViT: no 4-D patch_embed.proj.weight", path: path)
        }
        let d = proj.shape.dims
        guard d[2] == d[3] else {
            throw ZooError("patch_embed.proj.weight \(proj.shape): non-square patches are not supported", path: path,
                           tensor: "patch_embed.proj.weight")
        }
        let hidden = d[0]
        guard let pos = reader.info("pos_embed"), pos.shape.rank == 3, pos.shape.dims[2] == hidden else {
            throw ZooError("expected pos_embed [1, N, \(hidden)]", path: path, tensor: "pos_embed")
        }
        let patches = pos.shape.dims[1] - 1
        let side = Int(Double(max(patches, 0)).squareRoot().rounded())
        guard patches > 0, side * side == patches else {
            throw ZooError("pos_embed has \(pos.shape.dims[1]) positions; expected 1 + a square number of patches",
                           path: path, tensor: "pos_embed")
        }
        var layers = Set<Int>()
        for t in reader.tensors where t.name.hasPrefix("blocks.") {
            if let i = Int(t.name.dropFirst("blocks.".count).prefix(while: { $0 != "." })) { layers.insert(i) }
        }
        guard !layers.isEmpty, layers == Set(0..<layers.count) else {
            throw ZooError("blocks are numbered \(layers.sorted()); expected 0..<N with none missing", path: path)
        }
        guard let fc1 = reader.info("blocks.0.mlp.fc1.weight"), fc1.shape.rank == 2 else {
            throw ZooError("missing blocks.0.mlp.fc1.weight", path: path)
        }
        let labels = reader.info("head.weight").map { (0..<$0.shape.dims[0]).map { String($0) } } ?? []
        let heads = hidden % 64 == 0 ? hidden / 64 : 1
        return ViTConfig(
            convention: .timm, imageHeight: side * d[2], imageWidth: side * d[2], patchSize: d[2], numChannels: d[1],
            hiddenSize: hidden, numLayers: layers.count, numHeads: heads, intermediateSize: fc1.shape.dims[0],
            layerNormEps: 1e-6, exactGELU: true, qkvBias: reader.info("blocks.0.attn.qkv.bias") != nil, labels: labels,
            headsSource: hidden % 64 == 0 ? "shapes: hidden \(hidden) / head_dim 64"
                : "shapes: hidden \(hidden) is not a multiple of 64, fell back to 1 head (no config.json)")
    }
}
