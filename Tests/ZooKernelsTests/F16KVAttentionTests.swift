import CKernels
import Foundation
import XCTest
@testable import ZooKernels

/// Attention over an f16 KV cache (zoo_f16kv_attention, zoo_f32_to_f16_transpose, KVCache .f16).
/// The widening f16 -> f32 is exact and the arithmetic the same as the f32 kernel's, so in every
/// variant the f16 kernel must give the bits of that variant's f32 kernel run on the f16-decoded
/// keys and values; rounding into the cache must match the scalar f16 converter bit for bit.
final class F16KVAttentionTests: XCTestCase {
    override func tearDown() {
        zoo_kernel_force(nil)
        KernelThreads.configure(1)
    }


    /// f32 -> f16 bits by the scalar reference converter, and back.
    private func toF16(_ x: [Float]) -> [UInt16] { x.map { zoo_f32_to_f16($0) } }
    private func fromF16(_ h: [UInt16]) -> [Float] { h.map { zoo_f16_to_f32($0) } }

    /// The f16 kernel against the f32 kernel on decoded K and V, bit for bit, for 1, 2 and 3
    /// threads, in every variant; key row stride wider than S (as the cache has); shapes with one
    /// key, D not a multiple of 16, D > 64, partial 64-key blocks, more queries than keys.
    func testF16KVEqualsF32KernelOnDecodedValuesEveryVariantAndThreadCount() {
        var r = TestValues(seed: 21)
        for (t, s, heads, d, causal) in [(1, 1, 1, 1, true), (5, 9, 3, 4, true), (17, 17, 2, 24, false), (33, 70, 2, 80, true),
                                         (1, 130, 4, 64, true), (2, 131, 2, 64, true), (40, 7, 3, 16, false)] {
            let c = heads * d, ldkt = s + 5
            let q = r.array(t * c, 2), k = r.array(s * c, 2), v = r.array(s * c, 2)
            // kt [C, ldkt]: the f16 one written by the cache's writer, the f32 one its decoding
            var kt16 = [UInt16](repeating: 0, count: (c - 1) * ldkt + s)
            k.withUnsafeBufferPointer { zoo_f32_to_f16_transpose($0.baseAddress!, Int64(s), Int64(c), Int64(c), &kt16, Int64(ldkt)) }
            let kt32 = fromF16(kt16), v16 = toF16(v), v32 = fromF16(v16)
            // against the double reference on the unrounded K, V: only f16's rounding apart
            let ref = multiHeadAttentionReference(q: r.array((causal ? s - t : 0) * c) + q, k: k, v: v,
                                                  queries: causal ? s : t, keys: s, heads: heads, headDim: d, causal: causal)
            let refRows = Array(ref.suffix(t * c))
            var scratch = [Float](repeating: 0, count: Int(zoo_f32_attention_scratch(Int64(t), Int64(s), Int64(heads))))
            CK.forEachVariant { variant in
                var runs: [[Float]] = []
                for threads in [1, 2, 3] {
                    KernelThreads.configure(threads)
                    var out16 = [Float](repeating: 0, count: t * c), out32 = out16
                    let rc16 = zoo_f16kv_attention(KernelThreads.pool, q, Int64(c), kt16, Int64(ldkt), v16, Int64(c), Int64(t), Int64(s),
                                                   Int64(heads), Int64(d), causal ? 1 : 0, &out16, Int64(c), &scratch)
                    let rc32 = zoo_f32_attention(KernelThreads.pool, q, Int64(c), kt32, Int64(ldkt), v32, Int64(c), Int64(t), Int64(s),
                                                 Int64(heads), Int64(d), causal ? 1 : 0, &out32, Int64(c), &scratch)
                    XCTAssertEqual(rc16, 0); XCTAssertEqual(rc32, 0)
                    XCTAssertEqual(CK.bits(out16), CK.bits(out32), "f16 vs f32 on decoded K/V, T=\(t) S=\(s) H=\(heads) D=\(d) \(variant) \(threads) threads")
                    runs.append(out16)
                }
                XCTAssertEqual(CK.bits(runs[0]), CK.bits(runs[1]), "1 vs 2 threads, \(variant)")
                XCTAssertEqual(CK.bits(runs[0]), CK.bits(runs[2]), "1 vs 3 threads, \(variant)")
                let err = maxRelativeError(runs[0], refRows)
                XCTAssertLessThan(err, 2e-3, "f16 rounding only, T=\(t) S=\(s) \(variant)")
            }
        }
        // Same argument checks as the f32 entry point: causal needs S >= T.
        var out = [Float](repeating: 0, count: 4), scratch = [Float](repeating: 0, count: 64)
        XCTAssertEqual(zoo_f16kv_attention(nil, [1, 2, 3, 4], 2, [0x3c00], 1, [0x3c00, 0], 2, 2, 1, 1, 2, 1, &out, 2, &scratch),
                       Int32(ZOO_KERR_ARG))
    }

    /// The transposing writer rounds like zoo_f32_to_f16 element by element (nearest even, ties,
    /// subnormals, overflow to inf, NaN, signed zero), with tile edges (rows and columns not
    /// multiples of 32) and strides on both sides, and writes nothing outside its block.
    func testTransposeToF16RoundsLikeScalarConverter() {
        var r = TestValues(seed: 22)
        let specials: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -1e9, .infinity, -.infinity, .nan, 6e-8, 2.98e-8,
                                 2.9802322e-8, 1 + 1 / 2048, 1 + 3 / 2048, 6.1035156e-5, 6.1e-5, Float(bitPattern: 1), 3.14159]
        for (rows, cols, lds, ldd) in [(1, 1, 1, 1), (33, 70, 75, 40), (64, 32, 32, 64), (5, 100, 100, 7), (40, 3, 9, 41)] {
            var src = r.array(rows * lds, 1000)
            for (i, x) in specials.enumerated() where i < src.count { src[(i * 7919) % src.count] = x }
            let sentinel: UInt16 = 0xBEEF
            CK.forEachVariant { variant in
                var dst = [UInt16](repeating: sentinel, count: (cols - 1) * ldd + rows + 3)
                zoo_f32_to_f16_transpose(src, Int64(rows), Int64(cols), Int64(lds), &dst, Int64(ldd))
                var expected = [UInt16](repeating: sentinel, count: dst.count)
                for i in 0..<rows { for j in 0..<cols { expected[j * ldd + i] = zoo_f32_to_f16(src[i * lds + j]) } }
                XCTAssertEqual(dst, expected, "rows \(rows) cols \(cols) lds \(lds) ldd \(ldd) \(variant)")
            }
        }
    }

    /// Through KVCache(.f16) and causalSelfAttention: a decode step gives the bits the prefill gave
    /// that row (splits 1, 20, 67 of 131 rows), and those are the bits of an f32 cache fed the
    /// same K and V rounded to f16 first (so the writer, the strides and the kernel all agree).
    func testF16CacheDecodeStepsEqualPrefillAndF32CacheOnRoundedKV() throws {
        var r = TestValues(seed: 23)
        let heads = 4, d = 16, c = heads * d, total = 131
        let qkv = r.array(total * 3 * c, 2)
        var rounded = qkv
        for i in 0..<total {
            for j in c..<(3 * c) { rounded[i * 3 * c + j] = zoo_f16_to_f32(zoo_f32_to_f16(qkv[i * 3 * c + j])) }
        }
        try CK.forEachVariant { v in
            let whole = CK.bits(try attentionPrefillThenSteps(qkv: qkv, heads: heads, width: c, total: total, prefill: total, dtype: .f16))
            for split in [1, 20, 67] {
                XCTAssertEqual(CK.bits(try attentionPrefillThenSteps(qkv: qkv, heads: heads, width: c, total: total, prefill: split, dtype: .f16)),
                               whole, "prefill \(split), \(v)")
            }
            let viaF32 = CK.bits(try attentionPrefillThenSteps(qkv: rounded, heads: heads, width: c, total: total, prefill: 20))
            XCTAssertEqual(whole, viaF32, "f16 cache vs f32 cache on f16-rounded K/V, \(v)")
            XCTAssertNotEqual(whole, CK.bits(try attentionPrefillThenSteps(qkv: qkv, heads: heads, width: c, total: total, prefill: 20)),
                              "an f16 cache should round something, \(v)")
        }
    }

    /// Past an f16 cache's capacity: an error, nothing written; and the cache holds half the bytes.
    func testF16CacheCapacityErrorAndSize() {
        let heads = 2, c = 8
        let cache = KVCache(layers: 1, capacity: 4, width: c, dtype: .f16)
        var scratch = [Float](repeating: 0, count: 64)
        var out = [Float](repeating: 7, count: 2 * c)
        let qkv = [Float](repeating: 1, count: 2 * 3 * c)
        XCTAssertThrowsError(try causalSelfAttention(qkv: qkv, rows: 2, width: c, heads: heads, cache: cache, layer: 0, past: 3,
                                                     scratch: &scratch, into: &out))
        XCTAssertEqual(out, [Float](repeating: 7, count: 2 * c))
        // GPT-2 124M at its full context: 12 layers x 1024 positions x 768, keys padded by one cache line
        let f32 = KVCache(layers: 12, capacity: 1024, width: 768), f16 = KVCache(layers: 12, capacity: 1024, width: 768, dtype: .f16)
        XCTAssertEqual(f32.bytes, 12 * (1024 + 16 + 1024) * 768 * 4)
        XCTAssertEqual(f16.bytes, 12 * (1024 + 32 + 1024) * 768 * 2)
        XCTAssertEqual(f32.keyStride * 4 % 64, 0); XCTAssertEqual(f16.keyStride * 2 % 64, 0)
    }
}
