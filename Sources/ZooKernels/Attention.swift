import CKernels
import Foundation
import ZooTensor

/// Multi-head scaled dot-product attention over strided q, k, v (heads side by side in the columns,
/// head h at columns h*D ..< (h+1)*D, as GPT-2's c_attn and ViT's qkv produce them), on the
/// kernel threads (CKernels' zoo_f32_attention: tasks of one head and 16 query rows, so the bits
/// do not depend on the thread count).
///
/// q: [T, H*D] (row stride ldq), k, v: [S, H*D] (strides ldk, ldv) -> out: [T, H*D] (stride ldo).
/// Causal: query i (absolute position S - T + i) sees keys 0 ... S - T + i; otherwise all S keys.
/// scratch: at least `multiHeadAttentionScratch(queries:keys:heads:headDim:)` floats (K is
/// transposed into it first). Scale 1/sqrt(D) as GPT-2 and ViT use.
public func multiHeadAttention(q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
                               v: UnsafePointer<Float>, ldv: Int, queries t: Int, keys s: Int,
                               heads: Int, headDim d: Int, causal: Bool,
                               scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, ldo: Int) {
    guard t > 0, s > 0, heads > 0, d > 0 else { return }
    let c = heads * d
    zoo_f32_transpose(k, Int64(s), Int64(c), Int64(ldk), scratch, Int64(s))  // [S, H*D] -> kt [H*D, S]
    let rc = zoo_f32_attention(KernelThreads.pool, q, Int64(ldq), scratch, Int64(s), v, Int64(ldv), Int64(t), Int64(s),
                               Int64(heads), Int64(d), causal ? 1 : 0, out, Int64(ldo), scratch + c * s)
    assert(rc == 0, "zoo_f32_attention rejected T=\(t) S=\(s) H=\(heads) D=\(d) causal=\(causal)")
}

/// Floats of scratch `multiHeadAttention` needs: K transposed plus the kernel's score rows.
public func multiHeadAttentionScratch(queries t: Int, keys s: Int, heads: Int, headDim d: Int) -> Int {
    heads * d * s + Int(zoo_f32_attention_scratch(Int64(t), Int64(s), Int64(heads)))
}

/// Convenience for tests: contiguous q, k, v.  q: [T, H*D], k, v: [S, H*D] -> [T, H*D]
public func multiHeadAttention(q: [Float], k: [Float], v: [Float], queries t: Int, keys s: Int,
                               heads: Int, headDim d: Int, causal: Bool) -> [Float] {
    let c = heads * d
    var out = [Float](repeating: 0, count: t * c)
    var scratch = [Float](repeating: 0, count: max(multiHeadAttentionScratch(queries: t, keys: s, heads: heads, headDim: d), 1))
    q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
        scratch.withUnsafeMutableBufferPointer { sp in out.withUnsafeMutableBufferPointer { op in
            guard let qb = qp.baseAddress, let kb = kp.baseAddress, let vb = vp.baseAddress,
                  let sb = sp.baseAddress, let ob = op.baseAddress else { return }
            multiHeadAttention(q: qb, ldq: c, k: kb, ldk: c, v: vb, ldv: c, queries: t, keys: s, heads: heads,
                               headDim: d, causal: causal, scratch: sb, into: ob, ldo: c)
        } }
    } } }
    return out
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

/// How a KV cache stores keys and values: f32, or IEEE f16 (rounded to nearest even as they are
/// written, widened exactly as attention reads them). f16 halves the bytes a decode step reads
/// from the cache (llama.cpp's default); f32 keeps results exact against f32 references.
public enum KVCacheDType: String, Sendable, CaseIterable {
    case f32, f16

    public var bytesPerElement: Int { self == .f32 ? 4 : 2 }
}

/// Keys and values of the positions seen so far, allocated once so decode steps allocate nothing.
/// Per layer: keys transposed, [C, keyStride] (row e holds element e of every position, so the
/// attention kernel scores many keys side by side), values [capacity, C]; elements of `dtype`.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let capacity: Int
    public let width: Int
    public let dtype: KVCacheDType
    /// Elements between rows of the transposed keys: the capacity rounded up to a 64-byte cache
    /// line, plus one line. A power-of-two stride (a 1024-position f32 context is 4 KB per row)
    /// would put every row of a score block in the same L1 set; the extra line staggers them.
    public let keyStride: Int
    /// Per layer, `dtype` elements (Float or UInt16 bits of f16).
    public private(set) var keys: [UnsafeMutableRawPointer]
    public private(set) var values: [UnsafeMutableRawPointer]

    public init(layers: Int, capacity: Int, width: Int, dtype: KVCacheDType = .f32) {
        self.layers = layers
        self.capacity = capacity
        self.width = width
        self.dtype = dtype
        let line = 64 / dtype.bytesPerElement
        let stride = (capacity + line - 1) / line * line + line
        keyStride = stride
        let size = dtype.bytesPerElement
        keys = (0..<layers).map { _ in .allocate(byteCount: max(stride * width * size, 1), alignment: 64) }
        values = (0..<layers).map { _ in .allocate(byteCount: max(capacity * width * size, 1), alignment: 64) }
    }

    /// Bytes held for keys and values over all layers.
    public var bytes: Int { layers * (keyStride + capacity) * width * dtype.bytesPerElement }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }
}

/// Floats of scratch `causalSelfAttention` needs for T new rows and S = past + T keys.
public func causalSelfAttentionScratch(rows t: Int, keys s: Int, heads: Int) -> Int {
    Int(zoo_f32_attention_scratch(Int64(t), Int64(s), Int64(heads)))
}

/// Causal self-attention of T new tokens at positions past ..< past+T, appending their keys and
/// values to layer `layer` of the cache first (rounded to f16 in an f16 cache, so the new rows'
/// attention reads the stored values too: a prefill and a decode step see the same keys).
/// qkv: [T, 3C] (q | k | v) -> out: [T, C]; cache rows 0 ..< past+T valid afterwards.
/// scratch: `causalSelfAttentionScratch(rows: T, keys: past + T, heads:)` floats.
/// Throws when past + T exceeds the cache's capacity (nothing is written then).
public func causalSelfAttention(qkv: UnsafePointer<Float>, rows t: Int, width c: Int, heads: Int,
                                cache: KVCache, layer: Int, past: Int,
                                scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) throws {
    guard t > 0 else { return }
    guard past >= 0, past + t <= cache.capacity, layer >= 0, layer < cache.layers, c == cache.width, heads > 0, c % heads == 0 else {
        throw ZooError("attention of \(t) rows after \(past) positions does not fit a KV cache of \(cache.capacity) positions x \(cache.width) (layer \(layer) of \(cache.layers), width \(c), \(heads) heads)")
    }
    let cap = cache.keyStride, rc: Int32
    switch cache.dtype {
    case .f32:
        let kc = cache.keys[layer].assumingMemoryBound(to: Float.self)
        let vc = cache.values[layer].assumingMemoryBound(to: Float.self)
        // K rows [T, C] (stride 3C) -> columns past ..< past+T of kc [C, keyStride]
        zoo_f32_transpose(qkv + c, Int64(t), Int64(c), Int64(3 * c), kc + past, Int64(cap))
        for i in 0..<t {
            (vc + (past + i) * c).update(from: qkv + i * 3 * c + 2 * c, count: c)   // V row i -> vc[past + i]
        }
        rc = zoo_f32_attention(KernelThreads.pool, qkv, Int64(3 * c), kc, Int64(cap), vc, Int64(c), Int64(t),
                               Int64(past + t), Int64(heads), Int64(c / heads), 1, out, Int64(c), scratch)
    case .f16:
        let kc = cache.keys[layer].assumingMemoryBound(to: UInt16.self)
        let vc = cache.values[layer].assumingMemoryBound(to: UInt16.self)
        // K rows [T, C] (stride 3C) -> f16 columns past ..< past+T of kc [C, keyStride]
        zoo_f32_to_f16_transpose(qkv + c, Int64(t), Int64(c), Int64(3 * c), kc + past, Int64(cap))
        for i in 0..<t {
            zoo_f32_to_f16_row(qkv + i * 3 * c + 2 * c, vc + (past + i) * c, Int64(c))  // V row i -> vc[past + i]
        }
        rc = zoo_f16kv_attention(KernelThreads.pool, qkv, Int64(3 * c), kc, Int64(cap), vc, Int64(c), Int64(t),
                                 Int64(past + t), Int64(heads), Int64(c / heads), 1, out, Int64(c), scratch)
    }
    assert(rc == 0, "attention (\(cache.dtype) KV) rejected T=\(t) S=\(past + t) C=\(c) H=\(heads)")
}
