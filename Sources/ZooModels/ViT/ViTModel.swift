import Foundation
import ZooKernels
import ZooTensor

/// One pre-LN transformer block's weights.
struct ViTBlock: Sendable {
    var norm1Weight: [Float], norm1Bias: [Float]
    var qkv: Linear  // [C] -> [3C], q | k | v, heads side by side in each
    var proj: Linear  // [C] -> [C]
    var norm2Weight: [Float], norm2Bias: [Float]
    var fc1: Linear  // [C] -> [I]
    var fc2: Linear  // [I] -> [C]
}

/// What `forward` returns. `hiddenStates` is filled only when asked for (fixture checks).
public struct ViTOutput: Sendable {
    /// [B, K] logits of a classifier, or [B, C] pooled/cls features of a headless model.
    public var outputs: [Float]
    public var outputWidth: Int
    /// Per block, [B, N, C] block outputs before the final layer norm (as the fixtures hold them).
    public var hiddenStates: [[Float]]
}

/// A ViT image classifier (or feature extractor) ready to run: f32 weights in the model's layout.
public struct ViTModel: Sendable {
    public let config: ViTConfig
    let patch: Linear  // [ch*p*p] -> [C]: the patch conv as a matrix product
    let cls: [Float]  // [C]
    let pos: [Float]  // [N, C]
    let blocks: [ViTBlock]
    let normWeight: [Float], normBias: [Float]
    /// Classifier [C] -> [K]; nil for a headless model.
    let head: Linear?
    /// HF ViTModel's pooler [C] -> [C] followed by tanh; nil when absent.
    let pooler: Linear?

    /// Builds the model from weights that a `WeightLoader` checked against `config`'s table.
    /// `mode`: linear layers in f32, in Q8_0 (int8 kernels; quantized at load where stored f32), in
    /// Q8_0 with f32 activations (q8_0w), or as stored (auto: Q8_0 where the checkpoint holds Q8_0). Rows that are not whole 32-blocks stay f32.
    public init(config: ViTConfig, weights: LoadedWeights, mode: WeightMode = .auto) throws {
        self.config = config
        let c = config.hiddenSize, i = config.intermediateSize, p = config.numChannels * config.patchSize * config.patchSize
        func linear(_ name: String, out: Int, inp: Int, bias: Bool = true) throws -> Linear {
            let b = bias ? (weights.optional(name + ".bias")?.values ?? [Float](repeating: 0, count: out)) : nil
            return try weights.linear(name + ".weight", bias: b, out: out, in: inp, mode: mode)
        }
        patch = try linear("patch", out: c, inp: p)
        cls = try weights.values("cls")
        pos = try weights.values("pos")
        blocks = try (0..<config.numLayers).map { l in
            let b = "blocks.\(l)."
            return ViTBlock(
                norm1Weight: try weights.values(b + "norm1.weight"), norm1Bias: try weights.values(b + "norm1.bias"),
                qkv: try linear(b + "attn.qkv", out: 3 * c, inp: c), proj: try linear(b + "attn.proj", out: c, inp: c),
                norm2Weight: try weights.values(b + "norm2.weight"), norm2Bias: try weights.values(b + "norm2.bias"),
                fc1: try linear(b + "mlp.fc1", out: i, inp: c), fc2: try linear(b + "mlp.fc2", out: c, inp: i))
        }
        normWeight = try weights.values("norm.weight")
        normBias = try weights.values("norm.bias")
        func has(_ field: String) -> Bool { weights.tensors[field] != nil || weights.quantized[field] != nil }
        head = has("head.weight") ? try linear("head", out: config.labels.count, inp: c) : nil
        pooler = has("pooler.weight") ? try linear("pooler", out: c, inp: c) : nil
    }

    /// Width of `forward`'s output per image: labels, or C for a headless model.
    public var outputWidth: Int { head == nil ? config.hiddenSize : config.labels.count }

    /// pixels: [B, ch, H, W] f32 (already preprocessed) -> outputs [B, K] (or [B, C] headless).
    public func forward(pixels: [Float], batch b: Int, keepHiddenStates: Bool = false) throws -> ViTOutput {
        let cfg = config
        let c = cfg.hiddenSize, n = cfg.numTokens, rows = b * n
        let expected = b * cfg.numChannels * cfg.imageHeight * cfg.imageWidth
        guard b > 0, pixels.count == expected else {
            throw ZooError("pixel tensor has \(pixels.count) values, expected [\(b), \(cfg.numChannels), "
                           + "\(cfg.imageHeight), \(cfg.imageWidth)] = \(expected)")
        }
        // x: [B, N, C], the residual stream.
        var x = [Float](repeating: 0, count: rows * c)
        try embed(pixels: pixels, batch: b, into: &x)

        var scratch = ViTScratch(rows: rows, width: c, intermediate: cfg.intermediateSize, tokens: n, heads: cfg.numHeads)
        var hidden: [[Float]] = []
        x.withUnsafeMutableBufferPointer { xp in
            guard let xb = xp.baseAddress else { return }
            for block in blocks {
                runBlock(block, x: xb, batch: b, scratch: &scratch)
                if keepHiddenStates { hidden.append(Array(xp)) }
            }
        }
        let outputs = try finish(x, batch: b)
        return ViTOutput(outputs: outputs, outputWidth: outputWidth, hiddenStates: hidden)
    }

    /// Patch embedding, class token, position embeddings.
    /// pixels: [B, ch, H, W] -> x: [B, N, C] with x[b, 0] = cls + pos[0], x[b, 1 + p] = W patch_p + bias + pos[1 + p].
    func embed(pixels: [Float], batch b: Int, into x: inout [Float]) throws {
        let cfg = config
        let c = cfg.hiddenSize, n = cfg.numTokens, np = cfg.numPatches
        let cols = try ViTPatches.im2col(pixels, batch: b, channels: cfg.numChannels, height: cfg.imageHeight,
                                         width: cfg.imageWidth, patch: cfg.patchSize)  // [B*P, ch*p*p]
        let embedded = patch.forward(cols, rows: b * np)  // [B*P, ch*p*p] -> [B*P, C]
        for bi in 0..<b {
            for j in 0..<c { x[bi * n * c + j] = cls[j] + pos[j] }
            for p in 0..<np {
                let dst = (bi * n + 1 + p) * c, src = (bi * np + p) * c, pp = (1 + p) * c
                for j in 0..<c { x[dst + j] = embedded[src + j] + pos[pp + j] }
            }
        }
    }

    /// x: [B, N, C] -> x + attn(LN1(x)), then + MLP(LN2(x)), in place.
    func runBlock(_ block: ViTBlock, x: UnsafeMutablePointer<Float>, batch b: Int, scratch s: inout ViTScratch) {
        let cfg = config
        let c = cfg.hiddenSize, n = cfg.numTokens, rows = b * n, inter = cfg.intermediateSize
        let eps = cfg.layerNormEps
        s.withBuffers { norm, qkv, attn, mlp in
            viTLayerNorm(x, rows: rows, cols: c, weight: block.norm1Weight, bias: block.norm1Bias, eps: eps, into: norm)  // [BN, C]
            block.qkv.forward(norm, rows: rows, into: qkv)  // [BN, C] -> [BN, 3C]
            // Non-causal attention within each image: [BN, 3C] -> [BN, C].
            let d = c / cfg.numHeads
            for image in 0..<b {
                let q = qkv + image * n * 3 * c
                multiHeadAttention(q: q, ldq: 3 * c, k: q + c, ldk: 3 * c, v: q + 2 * c, ldv: 3 * c, queries: n, keys: n,
                                   heads: cfg.numHeads, headDim: d, causal: false, scratch: s.storage.attentionScratch,
                                   into: attn + image * n * c, ldo: c)
            }
            block.proj.forward(attn, rows: rows, into: norm)  // [BN, C] -> [BN, C]
            addInPlace(x, norm, count: rows * c)
            viTLayerNorm(x, rows: rows, cols: c, weight: block.norm2Weight, bias: block.norm2Bias, eps: eps, into: norm)
            block.fc1.forward(norm, rows: rows, into: mlp)  // [BN, C] -> [BN, I]
            if cfg.exactGELU { geluErf(mlp, count: rows * inter) } else { geluTanh(mlp, count: rows * inter) }
            block.fc2.forward(mlp, rows: rows, into: norm)  // [BN, I] -> [BN, C]
            addInPlace(x, norm, count: rows * c)
        }
    }

    /// Final layer norm on each image's class token, then the head (or pooler, or nothing).
    /// x: [B, N, C] -> [B, K] (classifier) or [B, C] (pooler: tanh(dense(cls)); no pooler: LN(cls)).
    func finish(_ x: [Float], batch b: Int) throws -> [Float] {
        let c = config.hiddenSize, n = config.numTokens
        var clsRows = [Float](repeating: 0, count: b * c)
        for bi in 0..<b { for j in 0..<c { clsRows[bi * c + j] = x[bi * n * c + j] } }  // [B, C]
        var normed = [Float](repeating: 0, count: b * c)
        clsRows.withUnsafeBufferPointer { xs in normed.withUnsafeMutableBufferPointer { ys in
            guard let xb = xs.baseAddress, let yb = ys.baseAddress else { return }
            viTLayerNorm(xb, rows: b, cols: c, weight: normWeight, bias: normBias, eps: config.layerNormEps, into: yb)
        } }
        if let head { return head.forward(normed, rows: b) }  // [B, C] -> [B, K]
        if let pooler { return pooler.forward(normed, rows: b).map { Foundation.tanh($0) } }  // [B, C] -> [B, C]
        return normed
    }
}
