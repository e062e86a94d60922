import Foundation
import ZooFormats
import ZooTensor

/// GPT-2 hyperparameters, from a Hugging Face config.json or a GGUF file's `gpt2.*` metadata.
public struct GPT2Config: Sendable, Equatable {
    public enum Activation: String, Sendable {
        case geluTanh   // HF gelu_new / gelu_pytorch_tanh / gelu_fast, ggml gelu
        case geluErf    // HF gelu (exact)
    }

    public var embedding: Int       // n_embd, C
    public var layers: Int          // n_layer, L
    public var heads: Int           // n_head, H
    public var positions: Int       // n_positions, P (the context length)
    public var vocabulary: Int      // vocab_size, V
    public var inner: Int           // n_inner (null -> 4C), F
    public var layerNormEpsilon: Float
    public var activation: Activation

    public init(embedding: Int, layers: Int, heads: Int, positions: Int, vocabulary: Int, inner: Int? = nil,
                layerNormEpsilon: Float = 1e-5, activation: Activation = .geluTanh) {
        self.embedding = embedding
        self.layers = layers
        self.heads = heads
        self.positions = positions
        self.vocabulary = vocabulary
        // 4C saturates instead of trapping: an untrusted n_embd near Int.max must reach validate(),
        // which rejects it by name, rather than crash here (found by the config fuzz target).
        let (fourTimes, overflow) = embedding.multipliedReportingOverflow(by: 4)
        self.inner = inner ?? (overflow ? Int.max : fourTimes)
        self.layerNormEpsilon = layerNormEpsilon
        self.activation = activation
    }

    public var headDim: Int { embedding / max(heads, 1) }

    /// The size symbols the naming tables use.
    public var sizes: [String: Int] {
        ["C": embedding, "L": layers, "H": heads, "P": positions, "V": vocabulary, "F": inner]
    }

    /// Checks what the forward pass relies on.
    public func validate(path: String?) throws {
        for (name, v) in [("n_embd", embedding), ("n_layer", layers), ("n_head", heads), ("n_positions", positions),
                          ("vocab_size", vocabulary), ("n_inner", inner)] where v <= 0 || v > 1 << 24 {
            throw ZooError("\(name) is \(v); expected a positive size", path: path)
        }
        if embedding % heads != 0 {
            throw ZooError("n_embd \(embedding) is not divisible by n_head \(heads)", path: path)
        }
        if !(layerNormEpsilon >= 0) || !layerNormEpsilon.isFinite {
            throw ZooError("layer_norm_epsilon is \(layerNormEpsilon); expected a small non-negative number", path: path)
        }
    }

    static func activation(named name: String, path: String?) throws -> Activation {
        switch name {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh
        case "gelu": return .geluErf
        default: throw ZooError("activation_function '\(name)' is not supported (expected gelu_new or gelu)", path: path)
        }
    }

    /// From a Hugging Face GPT-2 config.json.
    public static func fromHF(json: JSONValue, path: String?) throws -> GPT2Config {
        if let type = json["model_type"]?.string, type != "gpt2" {
            throw ZooError("model_type is '\(type)'; only gpt2 runs as a language model", path: path)
        }
        func int(_ key: String) throws -> Int {
            guard let v = json[key]?.int else { throw ZooError("config is missing the integer '\(key)'", path: path) }
            return v
        }
        var inner: Int?
        if let v = json["n_inner"], v != .null {
            guard let i = v.int else { throw ZooError("n_inner must be an integer or null", path: path) }
            inner = i
        }
        let eps = json["layer_norm_epsilon"]?.double ?? 1e-5
        let act = try activation(named: json["activation_function"]?.string ?? "gelu_new", path: path)
        let positions = try json["n_positions"]?.int ?? json["n_ctx"]?.int ?? int("n_positions")
        let config = GPT2Config(embedding: try int("n_embd"), layers: try int("n_layer"), heads: try int("n_head"),
                                positions: positions, vocabulary: try int("vocab_size"), inner: inner,
                                layerNormEpsilon: Float(eps), activation: act)
        try config.validate(path: path)
        return config
    }

    public static func fromHF(configPath: String) throws -> GPT2Config {
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ZooError("cannot read the model config", path: configPath)
        }
        let json = try data.withUnsafeBytes { try JSON.parse($0, what: "config.json", path: configPath) }
        return try fromHF(json: json, path: configPath)
    }

    /// From GGUF metadata as llama.cpp writes it (`general.architecture` = gpt2). The vocabulary
    /// size comes from token_embd.weight (llama.cpp does the same).
    public static func fromGGUF(_ reader: CheckpointReader) throws -> GPT2Config {
        let path = reader.path
        if let arch = reader.metadataValue("general.architecture")?.string, arch != "gpt2" {
            throw ZooError("general.architecture is '\(arch)'; only gpt2 runs as a language model", path: path)
        }
        func int(_ key: String) throws -> Int {
            guard let v = reader.metadataValue(key) else { throw ZooError("GGUF metadata lacks '\(key)'", path: path) }
            guard let i = v.int else { throw ZooError("GGUF metadata '\(key)' is a \(v.type.name), expected an integer", path: path) }
            return i
        }
        guard let embd = reader.info("token_embd.weight"), embd.shape.rank == 2 else {
            throw ZooError("GGUF file has no 2-D token_embd.weight, so the vocabulary size is unknown", path: path)
        }
        let embedding = try int("gpt2.embedding_length")
        let inner = reader.metadataValue("gpt2.feed_forward_length") == nil ? nil : try int("gpt2.feed_forward_length")
        let eps = reader.metadataValue("gpt2.attention.layer_norm_epsilon")?.double ?? 1e-5
        let config = GPT2Config(embedding: embedding, layers: try int("gpt2.block_count"),
                                heads: try int("gpt2.attention.head_count"), positions: try int("gpt2.context_length"),
                                vocabulary: embd.shape.dims[0], inner: inner, layerNormEpsilon: Float(eps),
                                activation: .geluTanh)
        try config.validate(path: path)
        return config
    }
}
