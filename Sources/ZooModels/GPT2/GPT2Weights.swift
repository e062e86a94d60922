import ZooKernels
import ZooTensor

/// GPT-2's parameters, f32, Linear layout [out, in], built from a loader's output.
public struct GPT2Weights: Sendable {
    public struct Block: Sendable {
        public let ln1Weight: [Float], ln1Bias: [Float]      // [C]
        public let qkv: Linear                               // C -> 3C  (q | k | v)
        public let attnProj: Linear                          // C -> C
        public let ln2Weight: [Float], ln2Bias: [Float]      // [C]
        public let fc: Linear                                // C -> F
        public let mlpProj: Linear                           // F -> C
    }

    public let tokenEmbedding: [Float]      // wte [V, C]
    public let positionEmbedding: [Float]   // wpe [P, C]
    public let blocks: [Block]
    public let lnFWeight: [Float], lnFBias: [Float]  // [C]
    /// The output projection C -> V; shares wte's storage (tied), as HF GPT-2 does.
    public let head: Linear

    /// "f32", "q8_0", "q8_0w" (Q8_0 weights, f32 activations) or mixtures such as "q8_0+f32": the
    /// forms the linear layers (and head) ended up in.
    public var linearFormSummary: String {
        let all = blocks.flatMap { [$0.qkv, $0.attnProj, $0.fc, $0.mlpProj] } + [head]
        var forms: [String] = []
        for (name, count) in [("q8_0", all.filter { if case .q8_0 = $0.weight { true } else { false } }.count),
                              ("q8_0w", all.filter { if case .q8_0WeightOnly = $0.weight { true } else { false } }.count),
                              ("f32", all.filter { if case .f32 = $0.weight { true } else { false } }.count)] where count > 0 {
            forms.append(name)
        }
        return forms.isEmpty ? "f32" : forms.joined(separator: "+")
    }

    /// How the linear layers hold their weights (shared with ViT).
    public typealias WeightMode = ZooModels.WeightMode

    public init(_ w: LoadedWeights, config: GPT2Config, mode: WeightMode = .auto) throws {
        let c = config.embedding, f = config.inner
        // A linear layer from field `name`: [out, in] weights in the form `mode` asks for.
        func linear(_ name: String, bias: String?, out: Int, in k: Int) throws -> Linear {
            try w.linear(name, bias: try bias.map { try w.values($0) }, out: out, in: k, mode: mode)
        }
        tokenEmbedding = try w.values("wte.weight")
        positionEmbedding = try w.values("wpe.weight")
        blocks = try (0..<config.layers).map { i in
            let p = "h.\(i)."
            return Block(
                ln1Weight: try w.values(p + "ln_1.weight"), ln1Bias: try w.values(p + "ln_1.bias"),
                qkv: try linear(p + "attn.qkv.weight", bias: p + "attn.qkv.bias", out: 3 * c, in: c),
                attnProj: try linear(p + "attn.proj.weight", bias: p + "attn.proj.bias", out: c, in: c),
                ln2Weight: try w.values(p + "ln_2.weight"), ln2Bias: try w.values(p + "ln_2.bias"),
                fc: try linear(p + "mlp.fc.weight", bias: p + "mlp.fc.bias", out: f, in: c),
                mlpProj: try linear(p + "mlp.proj.weight", bias: p + "mlp.proj.bias", out: c, in: f))
        }
        lnFWeight = try w.values("ln_f.weight")
        lnFBias = try w.values("ln_f.bias")
        // GPT-2 ties lm_head to wte; a checkpoint may carry the copy (HF state_dict, GGUF `output`).
        // A copy that differs would be silently ignored by transformers, so say so instead.
        if let head = w.optional("lm_head.weight"), head.values != tokenEmbedding {
            throw ZooError("the output head (lm_head / output.weight) differs from the token embedding (wte); GPT-2 ties them, so this checkpoint is not a GPT-2 as configured", path: w.path)
        }
        head = try linear("wte.weight", bias: nil, out: config.vocabulary, in: c)
    }
}
