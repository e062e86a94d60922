import CKernels
import Foundation
import XCTest
@testable import ZooKernels

/// zk_vector.c (GELU, layer norm, softmax, adds, attention) in every variant: against
/// double-precision references on awkward sizes, element-wise kernels bit-identical across
/// variants, and every kernel bit-identical for 1, 2 and 3 threads.
final class CKernelsVectorTests: XCTestCase {
    override func tearDown() {
        zoo_kernel_force(nil)
        KernelThreads.configure(1)
    }

    /// Runs body with the kernel pool at 1, 2 and 3 threads and returns each result.
    private func acrossThreads<T>(_ body: () -> T) -> [T] {
        defer { KernelThreads.configure(1) }
        return [1, 2, 3].map { n in
            KernelThreads.configure(n)
            return body()
        }
    }


    /// Largest |a - b| / max(|b|, floor) over the elements.
    private func worstRelative(_ a: [Float], _ b: [Float], floor: Float = 1e-30) -> Float {
        zip(a, b).map { abs($0 - $1) / max(abs($1), floor) }.max() ?? 0
    }

    func testGeluBothFormsAgainstDoubleReferenceInEveryVariant() {
        // -12 ... 12 in uneven steps: deep negative tails (where 1 + tanh and 1 + erf cancel in a
        // naive formula), zero, and a length that is no multiple of any vector width.
        let x = (0..<5003).map { Float($0 - 2501) * 0.0048 + 0.00017 }
        var results: [String: ([Float], [Float])] = [:]
        CK.forEachVariant { v in
            var t = x, e = x
            t.withUnsafeMutableBufferPointer { geluTanh($0.baseAddress!, count: $0.count) }
            e.withUnsafeMutableBufferPointer { geluErf($0.baseAddress!, count: $0.count) }
            results[v] = (t, e)
        }
        var tRef = x, eRef = x
        tRef.withUnsafeMutableBufferPointer { geluTanhReference($0.baseAddress!, count: $0.count) }
        eRef.withUnsafeMutableBufferPointer { geluErfReference($0.baseAddress!, count: $0.count) }
        for (v, (t, e)) in results {
            // Element-wise relative error, tails included. Bounds from an exhaustive sweep of every
            // float in [-12, 12] (worst: tanh 1.21e-5 at x = -9.2499, erf 1.78e-5): in the far
            // negative tail the exp argument (~50-88 in magnitude) carries its own f32 rounding,
            // which exp turns into relative error; inherent to f32, PyTorch's GELU has it too.
            XCTAssertLessThan(worstRelative(t, tRef), 2e-5, "gelu tanh, \(v)")
            XCTAssertLessThan(worstRelative(e, eRef), 2.5e-5, "gelu erf, \(v)")
            let core = (0..<x.count).filter { abs(x[$0]) < 3 }
            // |x| < 3, swept exhaustively: worst 1.04e-6 (tanh, x = -2.967), 1.48e-6 (erf).
            XCTAssertLessThan(worstRelative(core.map { t[$0] }, core.map { tRef[$0] }, floor: 1e-3), 1.5e-6, "gelu tanh |x| < 3, \(v)")
            // erf form near x = -3: erfc's exponent -z^2 + P(t) ~ -4.6 carries an f32 rounding of
            // ~4.8e-7, which exp turns into the same relative error, plus the fit's 1.2e-7.
            XCTAssertLessThan(worstRelative(core.map { e[$0] }, core.map { eRef[$0] }, floor: 1e-3), 2e-6, "gelu erf |x| < 3, \(v)")
            XCTAssertEqual(CK.bits(t), CK.bits(results["scalar"]!.0), "gelu tanh: \(v) differs from scalar")
            XCTAssertEqual(CK.bits(e), CK.bits(results["scalar"]!.1), "gelu erf: \(v) differs from scalar")
        }
        // Closed forms: Phi(1) = 0.8413447461, gelu_new(1) = 0.8411919906.
        var ones: [Float] = [1, 1]
        ones.withUnsafeMutableBufferPointer { geluErf($0.baseAddress!, count: 1); geluTanh($0.baseAddress! + 1, count: 1) }
        XCTAssertEqual(ones[0], 0.8413447461, accuracy: 2e-7)
        XCTAssertEqual(ones[1], 0.8411919906, accuracy: 2e-7)
        // Special values, both forms, every variant: NaN stays NaN, +inf stays +inf, -inf gives NaN
        // (0 * inf, as PyTorch's float32 GELU), huge negatives give -0, signed zeros keep their sign.
        CK.forEachVariant { v in
            for form in ["tanh", "erf"] {
                var special: [Float] = [.nan, .infinity, -.infinity, -200, 0, -0.0, Float.leastNormalMagnitude / 128]
                special.withUnsafeMutableBufferPointer {
                    if form == "tanh" { geluTanh($0.baseAddress!, count: $0.count) } else { geluErf($0.baseAddress!, count: $0.count) }
                }
                XCTAssertTrue(special[0].isNaN, "\(form) NaN, \(v)")
                XCTAssertEqual(special[1], .infinity, "\(form) +inf, \(v)")
                XCTAssertTrue(special[2].isNaN, "\(form) -inf, \(v)")
                XCTAssertEqual(special[3].bitPattern, (-0.0 as Float).bitPattern, "\(form) -200, \(v)")
                XCTAssertEqual(special[4].bitPattern, (0.0 as Float).bitPattern, "\(form) +0, \(v)")
                XCTAssertEqual(special[5].bitPattern, (-0.0 as Float).bitPattern, "\(form) -0, \(v)")
                XCTAssertLessThan(abs(special[6]), Float.leastNormalMagnitude, "\(form) denormal, \(v)")
            }
        }
    }

    func testLayerNormSoftmaxAddAgainstReferenceAndAcrossVariants() {
        var r = TestValues(seed: 11)
        for (t, c) in [(1, 1), (3, 7), (5, 72), (2, 769), (9, 1600)] {
            let x = r.array(t * c, 3).map { $0 + 5 }, w = r.array(c), b = r.array(c)
            let ref = layerNormReference(x, rows: t, cols: c, weight: w, bias: b, eps: 1e-5)
            var first: [Float]?
            CK.forEachVariant { v in
                var y = [Float](repeating: 0, count: t * c)
                layerNorm(x, rows: t, cols: c, weight: w, bias: b, eps: 1e-5, into: &y)
                XCTAssertLessThan(maxRelativeError(y, ref), 2e-6, "layer norm [\(t), \(c)] \(v)")
                if let first { XCTAssertEqual(CK.bits(y), CK.bits(first), "layer norm [\(t), \(c)]: \(v) differs") } else { first = y }
            }
        }
        for n in [1, 2, 15, 16, 17, 100, 1025] {
            let x = r.array(n, 30)
            let ref = softmaxReference(x)
            var first: [Float]?
            CK.forEachVariant { v in
                var y = x
                y.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: n) }
                XCTAssertLessThan(worstRelative(y, ref, floor: 1e-30), 4e-6, "softmax n=\(n) \(v)")
                if let first { XCTAssertEqual(CK.bits(y), CK.bits(first), "softmax n=\(n): \(v) differs") } else { first = y }
            }
        }
        // -inf entries get probability 0; a NaN anywhere makes the row NaN (as PyTorch).
        CK.forEachVariant { v in
            var y: [Float] = [1, -.infinity, 2]
            y.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: 3) }
            XCTAssertEqual(y[0], 0.26894142, accuracy: 1e-7, v)
            XCTAssertEqual(y[1], 0, v)
            XCTAssertEqual(y[2], 0.73105858, accuracy: 1e-7, v)
            var z: [Float] = [1, .nan, 2]
            z.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: 3) }
            XCTAssertTrue(z.allSatisfy(\.isNaN), v)
        }
        let a = r.array(100_003), b = r.array(100_003)
        var sum = a
        sum.withUnsafeMutableBufferPointer { s in b.withUnsafeBufferPointer { addInPlace(s.baseAddress!, $0.baseAddress!, count: s.count) } }
        XCTAssertEqual(sum, zip(a, b).map { $0 + $1 })
    }

    func testElementwiseKernelsIgnoreThreadCount() {
        var r = TestValues(seed: 12)
        let x = r.array(3 * 3072 + 5, 6), w = r.array(769), b = r.array(769), rows = r.array(13 * 769, 4)
        let runs = acrossThreads { () -> [UInt32] in
            var g = x, e = x, n = [Float](repeating: 0, count: rows.count)
            g.withUnsafeMutableBufferPointer { geluTanh($0.baseAddress!, count: $0.count) }
            e.withUnsafeMutableBufferPointer { geluErf($0.baseAddress!, count: $0.count) }
            layerNorm(rows, rows: 13, cols: 769, weight: w, bias: b, eps: 1e-5, into: &n)
            return CK.bits(g + e + n)
        }
        XCTAssertEqual(runs[0], runs[1])
        XCTAssertEqual(runs[0], runs[2])
    }

    /// Causal attention with a past (keys beyond the queries), awkward head sizes (D not a multiple
    /// of 16, D > 64 so the output is done in two blocks, a single head), against the double
    /// reference in every variant, and the same bits for 1, 2 and 3 threads.
    func testAttentionAgainstReferenceEveryVariantAndThreadCount() {
        var r = TestValues(seed: 13)
        for (t, s, heads, d, causal) in [(1, 1, 1, 1, true), (5, 9, 3, 4, true), (17, 17, 2, 24, false),
                                         (33, 70, 2, 80, true), (1, 130, 4, 64, true), (40, 40, 3, 64, false)] {
            let c = heads * d
            let k = r.array(s * c, 2), v = r.array(s * c, 2), q = r.array(t * c, 2)
            let full = r.array((s - t) * c) + q  // the reference wants S query rows; the first S - T are padding
            let ref = Array(multiHeadAttentionReference(q: full, k: k, v: v, queries: s, keys: s, heads: heads,
                                                        headDim: d, causal: causal)[((s - t) * c)...])
            let refNonCausal = causal ? ref : Array(multiHeadAttentionReference(q: q, k: k, v: v, queries: t, keys: s, heads: heads,
                                                                                 headDim: d, causal: false))
            CK.forEachVariant { variant in
                let runs = acrossThreads {
                    multiHeadAttention(q: q, k: k, v: v, queries: t, keys: s, heads: heads, headDim: d, causal: causal)
                }
                XCTAssertLessThan(maxRelativeError(runs[0], causal ? ref : refNonCausal), 2e-6,
                                  "T=\(t) S=\(s) H=\(heads) D=\(d) causal=\(causal) \(variant)")
                XCTAssertEqual(CK.bits(runs[0]), CK.bits(runs[1]), "1 vs 2 threads, \(variant)")
                XCTAssertEqual(CK.bits(runs[0]), CK.bits(runs[2]), "1 vs 3 threads, \(variant)")
            }
        }
    }

    /// A decode step computes exactly what the prefill computed for the same position: the bits
    /// of a row do not depend on how many rows were processed together, in every variant, with
    /// contexts past the 64-key blocks (so paired full blocks, masked tails and the one-row path
    /// all meet). The AVX2 and AVX-512 builds (both fused) also agree bit for bit.
    func testDecodeStepsEqualPrefillBitForBit() throws {
        var r = TestValues(seed: 14)
        let heads = 4, d = 16, c = heads * d, total = 131
        let qkv = r.array(total * 3 * c, 2)
        func run(prefill: Int) throws -> [Float] {
            try attentionPrefillThenSteps(qkv: qkv, heads: heads, width: c, total: total, prefill: prefill)
        }
        var byVariant: [String: [UInt32]] = [:]
        try CK.forEachVariant { v in
            let whole = CK.bits(try run(prefill: total))
            for split in [1, 20, 67] { XCTAssertEqual(CK.bits(try run(prefill: split)), whole, "prefill \(split), \(v)") }
            byVariant[v] = whole
        }
        if let a = byVariant["avx2"], let b = byVariant["avx512vnni"] { XCTAssertEqual(a, b, "avx2 vs avx512vnni attention") }
        // Past the cache: an error, nothing written.
        let cache = KVCache(layers: 1, capacity: 4, width: c)
        var scratch = [Float](repeating: 0, count: 64)
        var out = [Float](repeating: 7, count: 2 * c)
        XCTAssertThrowsError(try qkv.withUnsafeBufferPointer { src in
            try causalSelfAttention(qkv: src.baseAddress!, rows: 2, width: c, heads: heads, cache: cache, layer: 0, past: 3,
                                    scratch: &scratch, into: &out)
        })
        XCTAssertEqual(out, [Float](repeating: 7, count: 2 * c))
    }

    /// Non-causal attention with more queries than keys (cross-attention shapes), through the C
    /// entry point with keys transposed into a buffer of exactly (C-1)*ldkt + S floats, so a read
    /// past the last key shows up under `swift test --sanitize=address`.
    func testNonCausalMoreQueriesThanKeysWithExactBuffers() {
        var r = TestValues(seed: 15)
        for (t, s, heads, d) in [(40, 7, 3, 16), (70, 1, 2, 8), (5, 65, 1, 64)] {
            let c = heads * d
            let q = r.array(t * c), k = r.array(s * c), v = r.array(s * c)
            let ref = multiHeadAttentionReference(q: q, k: k, v: v, queries: t, keys: s, heads: heads, headDim: d, causal: false)
            CK.forEachVariant { variant in
                let kt = UnsafeMutablePointer<Float>.allocate(capacity: (c - 1) * s + s)
                defer { kt.deallocate() }
                k.withUnsafeBufferPointer { zoo_f32_transpose($0.baseAddress!, Int64(s), Int64(c), Int64(c), kt, Int64(s)) }
                var scratch = [Float](repeating: 0, count: Int(zoo_f32_attention_scratch(Int64(t), Int64(s), Int64(heads))))
                var out = [Float](repeating: 0, count: t * c)
                let rc = zoo_f32_attention(nil, q, Int64(c), kt, Int64(s), v, Int64(c), Int64(t), Int64(s), Int64(heads), Int64(d),
                                           0, &out, Int64(c), &scratch)
                XCTAssertEqual(rc, 0)
                XCTAssertLessThan(maxRelativeError(out, ref), 2e-6, "T=\(t) S=\(s) H=\(heads) D=\(d) \(variant)")
            }
        }
        // Causal needs S >= T.
        var out = [Float](repeating: 0, count: 4)
        var scratch = [Float](repeating: 0, count: 64)
        XCTAssertEqual(zoo_f32_attention(nil, [1, 2, 3, 4], 2, [1], 1, [1, 2], 2, 2, 1, 1, 2, 1, &out, 2, &scratch), Int32(ZOO_KERR_ARG))
    }
}
