import ZooKernels
import ZooTensor

/// GPT-2 (pre-LN decoder, learned positions, tied head) in f32.
public final class GPT2Model: Sendable {
    public let config: GPT2Config
    public let weights: GPT2Weights
    /// How sessions store keys and values (default: `defaultKVCache(for: weights)`).
    public let kvCache: KVCacheDType

    public init(config: GPT2Config, weights: GPT2Weights, kvCache: KVCacheDType? = nil) {
        self.config = config
        self.weights = weights
        self.kvCache = kvCache ?? GPT2Model.defaultKVCache(for: weights)
    }

    /// f16 when linear layers run the int8 kernels (the speed mode: Q8_0 already rounds far more
    /// than f16 keys and values do, and a decode step reads half the cache bytes, as llama.cpp's
    /// default f16 cache), f32 otherwise: all f32 (results exact against f32 references) or q8_0w
    /// (f32 arithmetic, bit-identical to f32 on the dequantized weights, which an f16 cache would undo).
    public static func defaultKVCache(for weights: GPT2Weights) -> KVCacheDType {
        let linears = weights.blocks.flatMap { [$0.qkv, $0.attnProj, $0.fc, $0.mlpProj] } + [weights.head]
        return linears.contains { if case .q8_0 = $0.weight { true } else { false } } ? .f16 : .f32
    }

    /// A fresh generation state (empty KV cache) for up to `capacity` positions (default: the
    /// context), keys and values in `kvCache` (default: the model's).
    public func makeSession(capacity: Int? = nil, kvCache: KVCacheDType? = nil) -> GPT2Session {
        GPT2Session(model: self, capacity: min(capacity ?? config.positions, config.positions), kvCache: kvCache ?? self.kvCache)
    }
}

/// Which logits a forward call computes: skipping the head for positions nobody reads is the
/// largest saving of a prefill (the head is V x C per position).
public enum LogitsRequest: Sendable {
    case none, last, all
}

/// One sequence being processed: the KV cache, the position reached, and scratch buffers that
/// are allocated for the largest chunk seen and then reused (decode steps allocate nothing).
public final class GPT2Session {
    public let model: GPT2Model
    public let cache: KVCache
    public private(set) var position = 0
    /// Logits of the last forward call: [rows, V] row-major, rows = 0, 1 or T (see LogitsRequest).
    public private(set) var logits: [Float] = []
    public private(set) var logitRows = 0
    /// Block outputs of the last call when asked for: [L, T, C] (before ln_f), else empty.
    public private(set) var hiddenStates: [Float] = []

    private var scratchRows = 0
    private var x, a, qkv, att, hidden: UnsafeMutablePointer<Float>
    private var scores: UnsafeMutablePointer<Float>
    private var scoresCapacity = 0

    init(model: GPT2Model, capacity: Int, kvCache: KVCacheDType) {
        self.model = model
        let c = model.config
        cache = KVCache(layers: c.layers, capacity: capacity, width: c.embedding, dtype: kvCache)
        x = .allocate(capacity: 1); a = .allocate(capacity: 1); qkv = .allocate(capacity: 1)
        att = .allocate(capacity: 1); hidden = .allocate(capacity: 1); scores = .allocate(capacity: 1)
    }

    deinit {
        [x, a, qkv, att, hidden, scores].forEach { $0.deallocate() }
    }

    /// Forgets the sequence (the cache is overwritten from position 0).
    public func reset() { position = 0 }

    private func ensureScratch(rows t: Int, keys s: Int) {
        let c = model.config.embedding, f = model.config.inner
        if t > scratchRows {
            [x, a, qkv, att, hidden].forEach { $0.deallocate() }
            x = .allocate(capacity: t * c)
            a = .allocate(capacity: t * c)
            qkv = .allocate(capacity: t * 3 * c)
            att = .allocate(capacity: t * c)
            hidden = .allocate(capacity: t * max(f, c))
            scratchRows = t
        }
        let need = causalSelfAttentionScratch(rows: t, keys: s, heads: model.config.heads)
        if need > scoresCapacity {
            scores.deallocate()
            scores = .allocate(capacity: need)
            scoresCapacity = need
        }
    }

    /// Runs `tokens` at positions position ..< position+T, appending to the cache.
    /// tokens: [T] -> logits [rows, V] (see LogitsRequest), hidden states [L, T, C] if asked.
    public func forward(_ tokens: [Int], logits request: LogitsRequest = .last, captureHidden: Bool = false) throws {
        let cfg = model.config, w = model.weights
        let t = tokens.count, c = cfg.embedding, v = cfg.vocabulary
        logitRows = 0
        guard t > 0 else { return }
        if position + t > cache.capacity {
            throw ZooError("\(position + t) positions exceed the model's context of \(cache.capacity) (n_positions)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= v }) {
            throw ZooError("token id \(bad) is outside the vocabulary 0..<\(v)")
        }
        ensureScratch(rows: t, keys: position + t)
        if captureHidden {
            hiddenStates = [Float](repeating: 0, count: cfg.layers * t * c)
        } else if !hiddenStates.isEmpty {
            hiddenStates = []
        }

        // x[i] = wte[token_i] + wpe[position + i]            x: [T, C]
        w.tokenEmbedding.withUnsafeBufferPointer { wte in
            w.positionEmbedding.withUnsafeBufferPointer { wpe in
                for (i, id) in tokens.enumerated() {
                    for j in 0..<c { x[i * c + j] = wte[id * c + j] + wpe[(position + i) * c + j] }
                }
            }
        }
        for (l, block) in w.blocks.enumerated() {
            try runBlock(block, layer: l, rows: t)
            if captureHidden {
                hiddenStates.withUnsafeMutableBufferPointer { hs in
                    guard let base = hs.baseAddress else { return }
                    (base + l * t * c).update(from: x, count: t * c)
                }
            }
        }

        // Final layer norm and the tied head, only for the rows asked for.   [rows, C] -> [rows, V]
        let first = request == .all ? 0 : t - 1
        let rows = request == .none ? 0 : t - first
        if rows > 0 {
            layerNorm(x + first * c, rows: rows, cols: c, weight: w.lnFWeight, bias: w.lnFBias, eps: cfg.layerNormEpsilon, into: a)
            if logits.count < rows * v { logits = [Float](repeating: 0, count: rows * v) }
            logits.withUnsafeMutableBufferPointer { out in
                guard let base = out.baseAddress else { return }
                w.head.forward(a, rows: rows, into: base)
            }
            logitRows = rows
        }
        position += t
    }

    /// One pre-LN block over T rows of x, in place.   x: [T, C] -> [T, C]
    private func runBlock(_ b: GPT2Weights.Block, layer: Int, rows t: Int) throws {
        let cfg = model.config
        let c = cfg.embedding, f = cfg.inner, eps = cfg.layerNormEpsilon
        // x = x + proj(attn(ln_1(x)))
        layerNorm(x, rows: t, cols: c, weight: b.ln1Weight, bias: b.ln1Bias, eps: eps, into: a)   // [T, C]
        b.qkv.forward(a, rows: t, into: qkv)                                                   // [T, C] -> [T, 3C]
        try causalSelfAttention(qkv: qkv, rows: t, width: c, heads: cfg.heads, cache: cache, layer: layer,
                            past: position, scratch: scores, into: att)                         // [T, 3C] -> [T, C]
        b.attnProj.forward(att, rows: t, into: a)                                              // [T, C] -> [T, C]
        addInPlace(x, a, count: t * c)
        // x = x + proj(gelu(fc(ln_2(x))))
        layerNorm(x, rows: t, cols: c, weight: b.ln2Weight, bias: b.ln2Bias, eps: eps, into: a)   // [T, C]
        b.fc.forward(a, rows: t, into: hidden)                                                 // [T, C] -> [T, F]
        switch cfg.activation {
        case .geluTanh: geluTanh(hidden, count: t * f)
        case .geluErf: geluErf(hidden, count: t * f)
        }
        b.mlpProj.forward(hidden, rows: t, into: a)                                            // [T, F] -> [T, C]
        addInPlace(x, a, count: t * c)
    }
}
