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

    private func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

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
            // Element-wise relative error, tails included. tanh form: exp to ~2 ulp, but in the far
            // negative tail the argument -2u ~ 50 carries its own f32 rounding (~3e-6 relative after
            // exp); erf form: erfc fit 1.2e-7 plus exp and rounding.
            XCTAssertLessThan(worstRelative(t, tRef), 1e-5, "gelu tanh, \(v)")
            XCTAssertLessThan(worstRelative(e, eRef), 2e-5, "gelu erf, \(v)")
            let core = (0..<x.count).filter { abs(x[$0]) < 3 }
            XCTAssertLessThan(worstRelative(core.map { t[$0] }, core.map { tRef[$0] }, floor: 1e-3), 1e-6, "gelu tanh |x| < 3, \(v)")
            // erf form near x = -3: erfc's exponent -z^2 + P(t) ~ -4.6 carries an f32 rounding of
            // ~4.8e-7, which exp turns into the same relative error, plus the fit's 1.2e-7.
            XCTAssertLessThan(worstRelative(core.map { e[$0] }, core.map { eRef[$0] }, floor: 1e-3), 2e-6, "gelu erf |x| < 3, \(v)")
            XCTAssertEqual(bits(t), bits(results["scalar"]!.0), "gelu tanh: \(v) differs from scalar")
            XCTAssertEqual(bits(e), bits(results["scalar"]!.1), "gelu erf: \(v) differs from scalar")
        }
        // Closed forms: Phi(1) = 0.8413447461, gelu_new(1) = 0.8411919906.
        var ones: [Float] = [1, 1]
        ones.withUnsafeMutableBufferPointer { geluErf($0.baseAddress!, count: 1); geluTanh($0.baseAddress! + 1, count: 1) }
        XCTAssertEqual(ones[0], 0.8413447461, accuracy: 2e-7)
        XCTAssertEqual(ones[1], 0.8411919906, accuracy: 2e-7)
        // NaN stays NaN; infinities go to their limits.
        var special: [Float] = [.nan, .infinity, -.infinity, -200]
        special.withUnsafeMutableBufferPointer { geluTanh($0.baseAddress!, count: $0.count) }
        XCTAssertTrue(special[0].isNaN)
        XCTAssertTrue(special[1].isNaN || special[1] == .infinity)
        XCTAssertEqual(special[3], 0)
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
                if let first { XCTAssertEqual(bits(y), bits(first), "layer norm [\(t), \(c)]: \(v) differs") } else { first = y }
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
                if let first { XCTAssertEqual(bits(y), bits(first), "softmax n=\(n): \(v) differs") } else { first = y }
            }
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
            return bits(g + e + n)
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
                XCTAssertEqual(bits(runs[0]), bits(runs[1]), "1 vs 2 threads, \(variant)")
                XCTAssertEqual(bits(runs[0]), bits(runs[2]), "1 vs 3 threads, \(variant)")
            }
        }
    }

    /// A decode step computes exactly what the prefill computed for the same position: the bits
    /// of a row do not depend on how many rows were processed together.
    func testDecodeStepsEqualPrefillBitForBit() {
        var r = TestValues(seed: 14)
        let heads = 4, d = 16, c = heads * d, total = 37
        let qkv = r.array(total * 3 * c, 2)
        func run(prefill: Int) -> [Float] {
            let cache = KVCache(layers: 1, capacity: total, width: c)
            var out = [Float](repeating: 0, count: total * c)
            var scratch = [Float](repeating: 0, count: causalSelfAttentionScratch(rows: total, keys: total, heads: heads))
            qkv.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    causalSelfAttention(qkv: src.baseAddress!, rows: prefill, width: c, heads: heads, cache: cache, layer: 0,
                                        past: 0, scratch: &scratch, into: dst.baseAddress!)
                    for p in prefill..<total {
                        causalSelfAttention(qkv: src.baseAddress! + p * 3 * c, rows: 1, width: c, heads: heads, cache: cache,
                                            layer: 0, past: p, scratch: &scratch, into: dst.baseAddress! + p * c)
                    }
                }
            }
            return out
        }
        let whole = run(prefill: total)
        XCTAssertEqual(bits(run(prefill: 1)), bits(whole))
        XCTAssertEqual(bits(run(prefill: 20)), bits(whole))
    }
}
