import Foundation
import XCTest
import ZooKernels

/// A deterministic stream of values in [-scale, scale) for test inputs.
struct TestValues {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next(_ scale: Float = 1) -> Float {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return (Float(state >> 40) / 16_777_216 * 2 - 1) * scale
    }
    mutating func array(_ n: Int, _ scale: Float = 1) -> [Float] { (0..<n).map { _ in next(scale) } }
}

func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
    var diff: Float = 0, scale: Float = 0
    for (x, y) in zip(a, b) { diff = max(diff, abs(x - y)); scale = max(scale, abs(y)) }
    return a.count == b.count ? (scale > 0 ? diff / scale : diff) : .infinity
}

/// Causal self-attention through a fresh KV cache of `dtype`: rows 0 ..< prefill in one call, then
/// one step per remaining row.  qkv: [total, 3C] -> [total, C]
func attentionPrefillThenSteps(qkv: [Float], heads: Int, width c: Int, total: Int, prefill: Int,
                               dtype: KVCacheDType = .f32) throws -> [Float] {
    let cache = KVCache(layers: 1, capacity: total, width: c, dtype: dtype)
    var out = [Float](repeating: 0, count: total * c)
    var scratch = [Float](repeating: 0, count: causalSelfAttentionScratch(rows: total, keys: total, heads: heads))
    try qkv.withUnsafeBufferPointer { src in
        try out.withUnsafeMutableBufferPointer { dst in
            guard let q = src.baseAddress, let o = dst.baseAddress else { return }
            try causalSelfAttention(qkv: q, rows: prefill, width: c, heads: heads, cache: cache, layer: 0,
                                    past: 0, scratch: &scratch, into: o)
            for p in prefill..<total {
                try causalSelfAttention(qkv: q + p * 3 * c, rows: 1, width: c, heads: heads, cache: cache,
                                        layer: 0, past: p, scratch: &scratch, into: o + p * c)
            }
        }
    }
    return out
}

final class OpsTests: XCTestCase {
    func testGeluTanhMatchesReferenceAndKnownValues() {
        var r = TestValues(seed: 1)
        for n in [1, 15, 16, 17, 100, 1003] {
            var fast = r.array(n, 12), ref = fast
            fast.withUnsafeMutableBufferPointer { geluTanh($0.baseAddress!, count: n) }
            ref.withUnsafeMutableBufferPointer { geluTanhReference($0.baseAddress!, count: n) }
            for (a, b) in zip(fast, ref) { XCTAssertEqual(a, b, accuracy: 2e-6 * max(1, abs(b)), "n=\(n)") }
        }
        // gelu_new(1) = 0.5 (1 + tanh(sqrt(2/pi) * 1.044715)) = 0.8411919906 (closed form, by hand).
        var one: [Float] = [1, 0, -30, 30] + [Float](repeating: 1, count: 16)
        one.withUnsafeMutableBufferPointer { geluTanh($0.baseAddress!, count: $0.count) }
        XCTAssertEqual(one[0], 0.8411919906, accuracy: 1e-6)
        XCTAssertEqual(one[4], 0.8411919906, accuracy: 1e-6)
        XCTAssertEqual(one[1], 0)
        XCTAssertEqual(one[2], 0, accuracy: 1e-6)
        XCTAssertEqual(one[3], 30, accuracy: 1e-5)
    }

    func testGeluErfKnownValue() {
        // 0.5 (1 + erf(1/sqrt 2)) = Phi(1) = 0.8413447461
        var x: [Float] = [1, -1, 0]
        x.withUnsafeMutableBufferPointer { geluErf($0.baseAddress!, count: 3) }
        XCTAssertEqual(x[0], 0.8413447461, accuracy: 1e-6)
        XCTAssertEqual(x[1], -0.1586552539, accuracy: 1e-6)
        var y: [Float] = [2.5, -0.3]
        var z = y
        y.withUnsafeMutableBufferPointer { geluErf($0.baseAddress!, count: 2) }
        z.withUnsafeMutableBufferPointer { geluErfReference($0.baseAddress!, count: 2) }
        XCTAssertEqual(y[0], z[0], accuracy: 1e-6)
        XCTAssertEqual(y[1], z[1], accuracy: 1e-6)
    }

    func testLayerNormMatchesReference() {
        var r = TestValues(seed: 2)
        for (t, c) in [(1, 1), (3, 7), (5, 72), (2, 769)] {
            let x = r.array(t * c, 3).map { $0 + 5 }, w = r.array(c), b = r.array(c)
            var y = [Float](repeating: 0, count: t * c)
            layerNorm(x, rows: t, cols: c, weight: w, bias: b, eps: 1e-5, into: &y)
            let ref = layerNormReference(x, rows: t, cols: c, weight: w, bias: b, eps: 1e-5)
            XCTAssertLessThan(maxRelativeError(y, ref), 1e-5, "t=\(t) c=\(c)")
        }
    }

    func testSoftmaxMatchesReference() {
        var r = TestValues(seed: 3)
        for n in [1, 2, 16, 33, 1000] {
            var x = r.array(n, 20)
            let ref = softmaxReference(x)
            x.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: n) }
            XCTAssertLessThan(maxRelativeError(x, ref), 2e-6, "n=\(n)")
            XCTAssertEqual(x.reduce(0, +), 1, accuracy: 1e-5)
        }
    }

    func testLinearMatchesReferenceForAwkwardSizes() throws {
        var r = TestValues(seed: 4)
        for (t, i, o) in [(1, 1, 1), (1, 37, 5), (3, 17, 29), (7, 72, 216), (13, 65, 3)] {
            let w = r.array(o * i), b = r.array(o), x = r.array(t * i)
            let lin = try Linear(weight: w, bias: b, outFeatures: o, inFeatures: i)
            let y = lin.forward(x, rows: t)
            var ref = matmulTransposedBReference(x, rows: t, inner: i, w, cols: o)
            for row in 0..<t { for j in 0..<o { ref[row * o + j] += b[j] } }
            XCTAssertLessThan(maxRelativeError(y, ref), 1e-5, "T=\(t) in=\(i) out=\(o)")
            var simple = [Float](repeating: 0, count: t * o)
            matmulTransposedBSimple(x, rows: t, inner: i, w, cols: o, into: &simple)
            let noBias = matmulTransposedBReference(x, rows: t, inner: i, w, cols: o)
            XCTAssertLessThan(maxRelativeError(simple, noBias), 1e-5, "simple GEMM T=\(t) in=\(i) out=\(o)")
        }
        XCTAssertThrowsError(try Linear(weight: [1, 2, 3], bias: nil, outFeatures: 2, inFeatures: 2))
    }

    func testAttentionCausalAndNot() {
        var r = TestValues(seed: 5)
        for (t, heads, d) in [(1, 1, 1), (5, 3, 4), (9, 2, 24), (17, 4, 16)] {
            let c = heads * d
            let q = r.array(t * c), k = r.array(t * c), v = r.array(t * c)
            for causal in [true, false] {
                let out = multiHeadAttention(q: q, k: k, v: v, queries: t, keys: t, heads: heads, headDim: d, causal: causal)
                let ref = multiHeadAttentionReference(q: q, k: k, v: v, queries: t, keys: t, heads: heads, headDim: d, causal: causal)
                XCTAssertLessThan(maxRelativeError(out, ref), 1e-5, "T=\(t) H=\(heads) D=\(d) causal=\(causal)")
            }
        }
    }

    /// Prefill of part of a sequence, then single steps through the cache, equals the whole-sequence reference.
    func testCausalSelfAttentionWithCache() throws {
        var r = TestValues(seed: 6)
        let heads = 3, d = 8, c = heads * d, total = 11, prefill = 6
        let qkv = r.array(total * 3 * c)
        let out = try attentionPrefillThenSteps(qkv: qkv, heads: heads, width: c, total: total, prefill: prefill)
        func part(_ o: Int) -> [Float] {
            var values: [Float] = []
            for i in 0..<total {
                let start = i * 3 * c + o * c
                values += qkv[start..<(start + c)]
            }
            return values
        }
        let ref = multiHeadAttentionReference(q: part(0), k: part(1), v: part(2), queries: total, keys: total,
                                              heads: heads, headDim: d, causal: true)
        XCTAssertLessThan(maxRelativeError(out, ref), 1e-5)
    }

    /// The pool-parallel paths (decode GEMV, chunked GELU) give the same values as one thread.
    func testThreadedPathsMatchReference() throws {
        KernelThreads.configure(2)
        defer { KernelThreads.configure(1) }
        var r = TestValues(seed: 7)
        for (i, o) in [(77, 1000), (768, 300), (5, 4096)] {
            let w = r.array(o * i), b = r.array(o), x = r.array(i)
            let y = try Linear(weight: w, bias: b, outFeatures: o, inFeatures: i).forward(x, rows: 1)
            var ref = matmulTransposedBReference(x, rows: 1, inner: i, w, cols: o)
            for j in 0..<o { ref[j] += b[j] }
            XCTAssertLessThan(maxRelativeError(y, ref), 1e-5, "in=\(i) out=\(o)")
        }
        var g = r.array(100_003, 8), ref = g
        g.withUnsafeMutableBufferPointer { geluTanh($0.baseAddress!, count: $0.count) }
        ref.withUnsafeMutableBufferPointer { geluTanhReference($0.baseAddress!, count: $0.count) }
        for (a, b) in zip(g, ref) where abs(a - b) > 2e-6 * max(1, abs(b)) {
            XCTFail("gelu \(a) vs \(b)")
            break
        }
    }
}
