import ZooKernels

/// Work buffers for one forward pass, allocated once per call at stable addresses.
/// norm: [BN, C], qkv: [BN, 3C], attn: [BN, C], mlp: [BN, I]; attentionScratch for one image's
/// attention (its K transposed and score rows).
final class ViTScratchStorage {
    let norm, qkv, attn, mlp, attentionScratch: UnsafeMutablePointer<Float>

    init(rows: Int, width c: Int, intermediate: Int, tokens: Int, heads: Int) {
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        norm = make(rows * c)
        qkv = make(rows * 3 * c)
        attn = make(rows * c)
        mlp = make(rows * intermediate)
        attentionScratch = make(multiHeadAttentionScratch(queries: tokens, keys: tokens, heads: heads, headDim: c / max(heads, 1)))
    }

    deinit { [norm, qkv, attn, mlp, attentionScratch].forEach { $0.deallocate() } }
}

struct ViTScratch {
    let storage: ViTScratchStorage

    init(rows: Int, width: Int, intermediate: Int, tokens: Int, heads: Int) {
        storage = ViTScratchStorage(rows: rows, width: width, intermediate: intermediate, tokens: tokens, heads: heads)
    }

    func withBuffers(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                              UnsafeMutablePointer<Float>) -> Void) {
        body(storage.norm, storage.qkv, storage.attn, storage.mlp)
    }
}

/// Layer norm with array parameters.  x: [T, C] -> y: [T, C]
func viTLayerNorm(_ x: UnsafePointer<Float>, rows t: Int, cols c: Int, weight: [Float], bias: [Float], eps: Float,
                  into y: UnsafeMutablePointer<Float>) {
    weight.withUnsafeBufferPointer { w in
        bias.withUnsafeBufferPointer { b in
            guard let wb = w.baseAddress, let bb = b.baseAddress, w.count >= c, b.count >= c else { return }
            layerNorm(x, rows: t, cols: c, weight: wb, bias: bb, eps: eps, into: y)
        }
    }
}
