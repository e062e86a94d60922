import COpenBLAS
import Foundation

/// Multi-head scaled dot-product attention over strided q, k, v (heads side by side in the columns,
/// head h at columns h*D ..< (h+1)*D, as GPT-2's c_attn and ViT's qkv produce them).
///
/// q: [T, H*D] (row stride ldq), k, v: [S, H*D] (strides ldk, ldv) -> out: [T, H*D] (stride ldo).
/// Causal: query i (absolute position S - T + i) sees keys 0 ... S - T + i; otherwise all S keys.
/// scores: scratch of at least T*S floats. Scale 1/sqrt(D) as GPT-2 and ViT use.
public func multiHeadAttention(q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
                               v: UnsafePointer<Float>, ldv: Int, queries t: Int, keys s: Int,
                               heads: Int, headDim d: Int, causal: Bool,
                               scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, ldo: Int) {
    guard t > 0, s > 0, heads > 0, d > 0 else { return }
    let scale = 1 / Float(d).squareRoot()
    let past = s - t
    for h in 0..<heads {
        let qh = q + h * d, kh = k + h * d, vh = v + h * d, oh = out + h * d
        if t == 1 {
            // Decode step: scores[S] = K_h q * scale; out = V_h^T p (two sgemv, no packing).
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(s), Int32(d), scale, kh, Int32(ldk), qh, 1, 0, scores, 1)
            softmax(scores, count: s)
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(s), Int32(d), 1, vh, Int32(ldv), scores, 1, 0, oh, 1)
            continue
        }
        // scores[T, S] = Q_h K_h^T * scale
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(s), Int32(d),
                    scale, qh, Int32(ldq), kh, Int32(ldk), 0, scores, Int32(s))
        for i in 0..<t {
            let row = scores + i * s
            let visible = causal ? past + i + 1 : s
            softmax(row, count: visible)
            if visible < s { (row + visible).update(repeating: 0, count: s - visible) }
        }
        // out_h[T, D] = P[T, S] V_h[S, D]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(s),
                    1, scores, Int32(s), vh, Int32(ldv), 0, oh, Int32(ldo))
    }
}

/// Plain reference of `multiHeadAttention` with contiguous inputs, in double.
/// q: [T, H*D], k, v: [S, H*D] -> [T, H*D]
public func multiHeadAttentionReference(q: [Float], k: [Float], v: [Float], queries t: Int, keys s: Int,
                                        heads: Int, headDim d: Int, causal: Bool) -> [Float] {
    let c = heads * d
    var out = [Float](repeating: 0, count: t * c)
    let scale = 1 / Double(d).squareRoot()
    for h in 0..<heads {
        for i in 0..<t {
            let visible = causal ? s - t + i + 1 : s
            var w = [Double](repeating: 0, count: visible)
            for j in 0..<visible {
                var dot: Double = 0
                for e in 0..<d { dot += Double(q[i * c + h * d + e]) * Double(k[j * c + h * d + e]) }
                w[j] = dot * scale
            }
            let m = w.max() ?? 0
            let ex = w.map { Foundation.exp($0 - m) }
            let sum = ex.reduce(0, +)
            for e in 0..<d {
                var acc: Double = 0
                for j in 0..<visible { acc += ex[j] / sum * Double(v[j * c + h * d + e]) }
                out[i * c + h * d + e] = Float(acc)
            }
        }
    }
    return out
}

/// Keys and values of the positions seen so far, one pair of [capacity, C] buffers per layer,
/// allocated once so decode steps allocate nothing.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let capacity: Int
    public let width: Int
    public private(set) var keys: [UnsafeMutablePointer<Float>]
    public private(set) var values: [UnsafeMutablePointer<Float>]

    public init(layers: Int, capacity: Int, width: Int) {
        self.layers = layers
        self.capacity = capacity
        self.width = width
        keys = (0..<layers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(capacity * width, 1)) }
        values = (0..<layers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(capacity * width, 1)) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }
}

/// Causal self-attention of T new tokens at positions past ..< past+T, appending their keys and
/// values to layer `layer` of the cache first.
/// qkv: [T, 3C] (q | k | v) -> out: [T, C]; cache rows 0 ..< past+T valid afterwards.
/// The caller checks past + T <= cache.capacity.
public func causalSelfAttention(qkv: UnsafePointer<Float>, rows t: Int, width c: Int, heads: Int,
                                cache: KVCache, layer: Int, past: Int,
                                scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    let kc = cache.keys[layer], vc = cache.values[layer]
    for i in 0..<t {
        (kc + (past + i) * c).update(from: qkv + i * 3 * c + c, count: c)
        (vc + (past + i) * c).update(from: qkv + i * 3 * c + 2 * c, count: c)
    }
    multiHeadAttention(q: qkv, ldq: 3 * c, k: kc, ldk: c, v: vc, ldv: c, queries: t, keys: past + t,
                       heads: heads, headDim: c / heads, causal: true, scores: scores, into: out, ldo: c)
}
