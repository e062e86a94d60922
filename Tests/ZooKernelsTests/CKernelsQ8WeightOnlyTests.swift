import CKernels
import XCTest

/// Weight-only Q8_0 (zk_q8w.c): packed Q8_0 weights, f32 activations. Every variant against the plain
/// reference bit for bit (M >= 2: dequantize, then the f32 reference loops; M == 1: zoo_q8_0w_gemv_ref),
/// M >= 2 against zoo_f32_matmul on the dequantized weights, the M == 1 order written out in Swift
/// from the ggml rows, a double-precision product of weights dequantized from the ggml rows, and the
/// bits against thread count.
final class CKernelsQ8WeightOnlyTests: XCTestCase {
    override func tearDown() { zoo_kernel_force(nil) }

    /// ggml Q8_0 rows of random weights W [n, k] and their packing: blocks of magnitudes 1e-4 .. 1e2
    /// (f16 scales from subnormal to ordinary), every fifth block zero.
    private func weights(_ n: Int, _ k: Int, rng: inout CKRandom) -> (q: [UInt8], packed: [UInt8]) {
        var w = CK.values(n * k, mode: 0, rng: &rng)
        for b in 0..<(n * k / 32) {
            let scale: Float = b % 5 == 4 ? 0 : Float(pow(10.0, Double(Int(rng.next() % 7) - 4)))
            for i in (32 * b)..<(32 * b + 32) { w[i] *= scale }
        }
        let q = CK.quantize(w, rows: n, k: k)
        return (q, CK.repack(q, n: n, k: k))
    }

    /// y with every element -7 first: columns past N in a wider ldy must stay -7.
    private func product(_ pool: OpaquePointer?, _ packed: [UInt8], n: Int, k: Int, _ x: [Float], m: Int, ldx: Int,
                         bias: [Float]?, ldy: Int, reference: Bool = false) -> [Float] {
        var y = [Float](repeating: -7, count: m * ldy)
        let rc = packed.withUnsafeBytes { w in
            y.withUnsafeMutableBufferPointer { yp in
                (bias ?? []).withUnsafeBufferPointer { bp in
                    let b = bias == nil ? nil : bp.baseAddress
                    return reference
                        ? zoo_q8_0w_matmul_ref(w.baseAddress, Int64(n), Int64(k), x, Int64(m), Int64(ldx), b, yp.baseAddress, Int64(ldy))
                        : zoo_q8_0w_matmul(pool, w.baseAddress, Int64(n), Int64(k), x, Int64(m), Int64(ldx), b, yp.baseAddress, Int64(ldy))
                }
            }
        }
        XCTAssertEqual(rc, 0)
        return y
    }

    /// W [n, k] from ggml rows with zoo_q8_0_dequantize_row (not the packed layout).
    private func dequantize(_ q: [UInt8], n: Int, k: Int) -> [Float] {
        var w = [Float](repeating: 0, count: n * k)
        q.withUnsafeBytes { qp in
            w.withUnsafeMutableBufferPointer { wp in
                let blocks = qp.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self)
                XCTAssertEqual(zoo_q8_0_dequantize_row(blocks, wp.baseAddress, Int64(n * k)), 0)
            }
        }
        return w
    }

    /// N around the 16-row groups and 32-row panels, M on both sides of the GEMV / GEMM border (4 / 5)
    /// and of the 12- and 6-row micro-kernel tiles, K one block, three blocks, 25 blocks (more than a
    /// 16-block stretch of the decode GEMV, and K blocks of 192 in the GEMM).
    func testEveryVariantHasTheReferenceBits() {
        let pool = zoo_pool_create(3)
        defer { zoo_pool_destroy(pool) }
        var rng = CKRandom(seed: 21)
        for n in [1, 15, 17, 33, 100] {
            for k in [32, 96, 800] {
                let (q, packed) = weights(n, k, rng: &rng)
                let w = dequantize(q, n: n, k: k)
                for m in [1, 2, 5, 13] {
                    let ldx = k + 3, ldy = n + 2
                    var x = [Float](repeating: .nan, count: m * ldx)  // junk between the rows
                    for r in 0..<m { for c in 0..<k { x[r * ldx + c] = rng.float() * 4 } }
                    let bias = (0..<n).map { _ in rng.float() }
                    for b in [bias, nil] as [[Float]?] {
                        let ref = product(nil, packed, n: n, k: k, x, m: m, ldx: ldx, bias: b, ldy: ldy, reference: true)
                        CK.forEachVariant { v in
                            let tag = "\(v) (\(String(cString: zoo_q8_0w_kernel_name()))) M=\(m) N=\(n) K=\(k) bias=\(b != nil)"
                            let one = product(nil, packed, n: n, k: k, x, m: m, ldx: ldx, bias: b, ldy: ldy)
                            XCTAssertEqual(CK.bits(one), CK.bits(ref), tag)
                            XCTAssertEqual(CK.bits(product(pool, packed, n: n, k: k, x, m: m, ldx: ldx, bias: b, ldy: ldy)), CK.bits(ref), tag + " pool")
                            // the contract for M >= 2: zoo_f32_matmul on the dequantized weights, same variant
                            if m > 1 {
                                XCTAssertEqual(CK.bits(CK.f32Matmul(pool, w, n: n, k: k, x, m: m, ldx: ldx, bias: b, ldy: ldy)), CK.bits(one), tag + " vs f32")
                            }
                            for r in 0..<m { XCTAssertEqual(one[r * ldy + n], -7, tag + " padding written") }
                        }
                    }
                }
            }
        }
    }

    /// The M == 1 order of ckernels.h written out in Swift on the ggml rows (not the packed layout):
    /// per row 4 lanes; per block, lane t sums x * q over positions 4c + t (c ascending, fused, from +0),
    /// then adds sum * scale fused; (t0 + t2) + (t1 + t3) + bias.
    func testDecodeOrderMatchesItsDefinition() {
        var rng = CKRandom(seed: 24)
        for (n, k) in [(1, 32), (19, 96), (37, 800)] {
            let (q, packed) = weights(n, k, rng: &rng)
            let x = (0..<k).map { _ in rng.float() * 2 }
            let bias = (0..<n).map { _ in rng.float() }
            var expected = [Float](repeating: 0, count: n)
            for r in 0..<n {
                var a: [Float] = [0, 0, 0, 0]
                for b in 0..<(k / 32) {
                    let (dBits, qs) = CK.block(q, r * (k / 32) + b)
                    let d = Float(Float16(bitPattern: dBits))
                    for t in 0..<4 {
                        var s: Float = 0
                        for c in 0..<8 { s = s.addingProduct(x[32 * b + 4 * c + t], Float(qs[4 * c + t])) }
                        a[t] = a[t].addingProduct(s, d)
                    }
                }
                expected[r] = ((a[0] + a[2]) + (a[1] + a[3])) + bias[r]
            }
            var ref = [Float](repeating: 0, count: n)
            let rc = packed.withUnsafeBytes { w in
                ref.withUnsafeMutableBufferPointer { zoo_q8_0w_gemv_ref(w.baseAddress, Int64(n), Int64(k), x, bias, $0.baseAddress) }
            }
            XCTAssertEqual(rc, 0)
            XCTAssertEqual(CK.bits(ref), CK.bits(expected), "N=\(n) K=\(k)")
            CK.forEachVariant { v in
                XCTAssertEqual(CK.bits(product(nil, packed, n: n, k: k, x, m: 1, ldx: k, bias: bias, ldy: n)), CK.bits(expected), "\(v) N=\(n) K=\(k)")
            }
        }
    }

    /// Against exact arithmetic: the product of weights dequantized from the ggml rows and x, summed in
    /// double (each f32 product is exact in double). Both orders are sums with at most K + 1 roundings
    /// per term (the M >= 2 chain K; M == 1: 8 in the block sum, 1 for the scale, K/32 in the lane,
    /// 2 at the end), so
    /// |y - exact| <= (K + 1) 2^-24 (sum|x w| + |b|) up to a 1/(1 - K u) factor.
    func testWithinRoundingOfDoublePrecision() {
        var rng = CKRandom(seed: 22)
        for (m, n, k) in [(1, 37, 800), (3, 50, 96), (7, 33, 800), (1, 16, 32)] {
            let (q, packed) = weights(n, k, rng: &rng)
            let w = dequantize(q, n: n, k: k)
            let x = (0..<(m * k)).map { _ in rng.float() * 3 }
            let bias = (0..<n).map { _ in rng.float() }
            let y = product(nil, packed, n: n, k: k, x, m: m, ldx: k, bias: bias, ldy: n)
            CK.assertWithinSummationBound(y, x, w, bias: bias, m: m, n: n, k: k)
        }
    }

    /// Hand-computed blocks: all -127 with d = 1, -128 (the offset-binary edge of the packed bytes),
    /// a zero block, a zero scale over nonzero quants, and a NaN scale.
    func testExtremeBlocks() {
        let k = 96, n = 6
        var q = [UInt8](repeating: 0, count: n * 3 * 34)
        for r in 0..<n {
            for b in 0..<3 {
                let o = (r * 3 + b) * 34
                q[o + 1] = 0x3c  // d = 1 (f16 0x3c00)
                for j in 0..<32 { q[o + 2 + j] = UInt8(bitPattern: r == 2 ? -128 : -127) }
            }
        }
        for j in 0..<34 { q[(1 * 3 + 1) * 34 + j] = 0 }            // row 1, block 1: d = 0, q = 0
        q[(3 * 3 + 2) * 34 + 1] = 0                                 // row 3, block 2: d = 0, q = -127
        q[(4 * 3 + 0) * 34] = 0x01; q[(4 * 3 + 0) * 34 + 1] = 0x7e // row 4, block 0: d = NaN
        q[(5 * 3 + 0) * 34 + 1] = 0x7c                              // row 5, block 0: d = +inf
        let packed = CK.repack(q, n: n, k: k)
        let x = [Float](repeating: 1, count: 2 * k)  // two rows: M == 1 and M == 2 paths
        CK.forEachVariant { v in
            for m in [1, 2] {
                let y = product(nil, packed, n: n, k: k, x, m: m, ldx: k, bias: nil, ldy: n)
                XCTAssertEqual(CK.bits(y), CK.bits(product(nil, packed, n: n, k: k, x, m: m, ldx: k, bias: nil, ldy: n, reference: true)), v)
                XCTAssertEqual(y[0], -3 * 32 * 127, v)  // exact: small integers
                XCTAssertEqual(y[1], -2 * 32 * 127, v)
                XCTAssertEqual(y[2], -3 * 32 * 128, v)
                XCTAssertEqual(y[3], -2 * 32 * 127, v)
                XCTAssertTrue(y[4].isNaN, v)
                XCTAssertEqual(y[5], -.infinity, v)   // -127 * inf = -inf per weight, summed
            }
        }
    }

    /// The AVX2 decode GEMV takes a faster, exactly scaled path for blocks whose x are all zero or of
    /// magnitude in [2^-103, 2^90] and the plain one otherwise: activations on both sides of those
    /// edges (and subnormal, huge, infinite, NaN), alone and mixed in a block, give the reference's
    /// bits in every variant (NaNs compared as NaN).
    func testDecodeActivationsAtThePathEdges() {
        let edges: [Float] = [0, -0.0, 0x1p-104, 0x1p-103, -0x1p-103, 0x1.fffffep-104, 0x1p90, -0x1p90, 0x1p91, 0x1.000002p90, 0x1p100, -0x1p110, 0x1p119,
                              Float.leastNonzeroMagnitude, Float.leastNormalMagnitude / 128, Float.greatestFiniteMagnitude, .infinity, -.infinity, .nan, 1, -3.5]
        let n = 37, k = 32 * 24
        var rng = CKRandom(seed: 77)
        let (_, packed) = weights(n, k, rng: &rng)
        // one edge value per trial (a NaN or infinity elsewhere in the row would hide every other
        // difference): alone in a block of ordinary values, or filling a whole block, in every third block
        for (trial, e) in edges.flatMap({ [($0, false), ($0, true)] }).enumerated() {
            var x = CK.values(k, mode: 0, rng: &rng)
            for b in stride(from: trial % 3, to: k / 32, by: 3) {
                if e.1 {
                    for i in (32 * b)..<(32 * b + 32) { x[i] = e.0 }
                } else {
                    x[32 * b + Int(rng.next() % 32)] = e.0
                }
            }
            let want = product(nil, packed, n: n, k: k, x, m: 1, ldx: k, bias: nil, ldy: n, reference: true)
            CK.forEachVariant { v in
                let y = product(nil, packed, n: n, k: k, x, m: 1, ldx: k, bias: nil, ldy: n)
                for (i, (a, b)) in zip(y, want).enumerated() where !(a.isNaN && b.isNaN) && a.bitPattern != b.bitPattern {
                    XCTFail("\(v), trial \(trial), row \(i): \(a) != reference \(b)")
                    return
                }
            }
        }
    }

    /// 1, 2 and 3 threads, and products large enough to be cut into many tasks, give the same bits.
    func testThreadCountsGiveIdenticalBits() {
        var rng = CKRandom(seed: 23)
        for (m, n, k) in [(1, 2100, 800), (2, 515, 96), (7, 1000, 800), (1, 49, 32)] {
            let (_, packed) = weights(n, k, rng: &rng)
            let x = (0..<(m * k)).map { _ in rng.float() }
            let bias = (0..<n).map { _ in rng.float() }
            let ref = CK.bits(product(nil, packed, n: n, k: k, x, m: m, ldx: k, bias: bias, ldy: n, reference: true))
            CK.forEachVariant { v in
                for threads in 1...3 {
                    let pool = zoo_pool_create(Int32(threads))
                    for _ in 0..<2 {
                        XCTAssertEqual(CK.bits(product(pool, packed, n: n, k: k, x, m: m, ldx: k, bias: bias, ldy: n)), ref,
                                       "\(v) M=\(m) N=\(n) K=\(k), \(threads) threads")
                    }
                    zoo_pool_destroy(pool)
                }
            }
        }
    }

    func testKernelNameFollowsTheF32Variant() {
        CK.forEachVariant { v in
            XCTAssertEqual(String(cString: zoo_q8_0w_kernel_name()), String(cString: zoo_f32_kernel_name()), v)
        }
    }

    func testBadArgumentsAreRefused() {
        var y = [Float](repeating: 0, count: 16)
        let x = [Float](repeating: 1, count: 64), packed = [UInt8](repeating: 0x80, count: 2 * 544)
        packed.withUnsafeBytes { w in
            y.withUnsafeMutableBufferPointer { yp in
                let p = w.baseAddress, yb = yp.baseAddress
                XCTAssertEqual(zoo_q8_0w_matmul(nil, p, -1, 32, x, 1, 32, nil, yb, 2), Int32(ZOO_KERR_ARG))
                XCTAssertEqual(zoo_q8_0w_matmul(nil, p, 2, 33, x, 1, 33, nil, yb, 2), Int32(ZOO_KERR_ARG), "K % 32")
                XCTAssertEqual(zoo_q8_0w_matmul(nil, p, 2, 32, x, 2, 31, nil, yb, 2), Int32(ZOO_KERR_ARG), "ldx < K")
                XCTAssertEqual(zoo_q8_0w_matmul(nil, p, 4, 32, x, 2, 32, nil, yb, 3), Int32(ZOO_KERR_ARG), "ldy < N")
                XCTAssertEqual(zoo_q8_0w_matmul_ref(p, 2, 33, x, 1, 33, nil, yb, 2), Int32(ZOO_KERR_ARG), "ref: K % 32")
                // K = 0: empty sums, y = bias
                XCTAssertEqual(zoo_q8_0w_matmul(nil, p, 3, 0, x, 2, 0, [1, 2, 3], yb, 3), 0)
            }
        }
        XCTAssertEqual(Array(y[0..<6]), [1, 2, 3, 1, 2, 3])
    }
}
