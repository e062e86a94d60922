import CKernels
import XCTest

/// CKernels' f32 GEMM / GEMV (zk_f32_*.c): every variant against the plain reference on awkward sizes,
/// the reference against exact (double) sums, and the bits against thread count, split and M.
final class CKernelsF32GemmTests: XCTestCase {
    override func tearDown() { zoo_kernel_force(nil) }

    /// (M, N, K): 1s, sizes that are not multiples of the tiles (16 / 32 weight rows, 12 / 6 rows of x,
    /// K blocks of 192, 256 weight rows per packed block, 144 rows of x per block), the GEMV / GEMM
    /// border at M = 4 / 5.
    private let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 37, 5), (1, 17, 1), (2, 50, 300), (3, 1, 17), (4, 31, 17), (5, 33, 1),
        (7, 100, 385), (13, 65, 3), (12, 32, 16), (25, 300, 200), (150, 40, 70), (146, 257, 193), (1, 3, 1000),
    ]

    /// The variants this machine can run (the f32 kernels follow the Q8 variant names).
    private var variants: [String] {
        ["avx512vnni", "avx2", "neon", "scalar"].filter { zoo_kernel_supported($0) != 0 }
    }

    private func data(_ m: Int, _ n: Int, _ k: Int, seed: UInt64) -> (x: [Float], w: [Float], b: [Float]) {
        var r = TestValues(seed: seed)
        return (r.array(m * k), r.array(n * k), r.array(n))
    }

    private func reference(_ w: [Float], n: Int, k: Int, _ x: [Float], m: Int, ldx: Int, bias: [Float]?, ldy: Int) -> [Float] {
        var y = [Float](repeating: -7, count: m * ldy)
        if m == 1 {  // a decode step's order: 32 lanes, fixed tree (see ckernels.h)
            let rc = y.withUnsafeMutableBufferPointer { yp in
                (bias ?? []).withUnsafeBufferPointer { bp in
                    zoo_f32_gemv_ref(w, Int64(n), Int64(k), x, bias == nil ? nil : bp.baseAddress, yp.baseAddress)
                }
            }
            XCTAssertEqual(rc, 0)
            return y
        }
        let rc = y.withUnsafeMutableBufferPointer { yp in
            (bias ?? []).withUnsafeBufferPointer { bp in
                zoo_f32_gemm_ref(w, Int64(n), Int64(k), x, Int64(m), Int64(ldx), bias == nil ? nil : bp.baseAddress,
                                 yp.baseAddress, Int64(ldy))
            }
        }
        XCTAssertEqual(rc, 0)
        return y
    }

    /// Every variant, on one thread and on a pool, gives the reference's bits, with and without bias
    /// and with row strides wider than the rows (padding left alone).
    func testEveryVariantHasTheReferenceBits() {
        let pool = zoo_pool_create(3)
        defer { zoo_pool_destroy(pool) }
        for (i, (m, n, k)) in shapes.enumerated() {
            let (x, w, b) = data(m, n, k, seed: UInt64(i + 1))
            // x with row stride k + 3: the same rows with junk in between
            var xs = [Float](repeating: .nan, count: m * (k + 3))
            for r in 0..<m { for c in 0..<k { xs[r * (k + 3) + c] = x[r * k + c] } }
            for bias in [b, nil] as [[Float]?] {
                let ref = reference(w, n: n, k: k, x, m: m, ldx: k, bias: bias, ldy: n)
                let refWide = reference(w, n: n, k: k, xs, m: m, ldx: k + 3, bias: bias, ldy: n + 2)
                for variant in variants {
                    XCTAssertEqual(zoo_kernel_force(variant), 0)
                    let name = String(cString: zoo_f32_kernel_name())
                    let tag = "\(variant) (\(name)) M=\(m) N=\(n) K=\(k) bias=\(bias != nil)"
                    XCTAssertEqual(CK.bits(CK.f32Matmul(nil, w, n: n, k: k, x, m: m, ldx: k, bias: bias, ldy: n)), CK.bits(ref), tag)
                    XCTAssertEqual(CK.bits(CK.f32Matmul(pool, w, n: n, k: k, x, m: m, ldx: k, bias: bias, ldy: n)), CK.bits(ref), tag + " pool")
                    let wide = CK.f32Matmul(pool, w, n: n, k: k, xs, m: m, ldx: k + 3, bias: bias, ldy: n + 2)
                    XCTAssertEqual(CK.bits(wide), CK.bits(refWide), tag + " strided")
                    XCTAssertEqual(wide[n], -7, tag + " padding written")
                }
            }
        }
    }

    /// The reference against the exact sum (each f32 product is exact in double, and the double sum's
    /// own error, K * 2^-53 relative, is negligible). K fused multiply-adds in sequence are recursive
    /// summation with one rounding per step, so |y - exact| <= gamma_K * sum|x w| with
    /// gamma_K = K u / (1 - K u), u = 2^-24; adding the bias rounds once more: + u (sum|x w| + |b|).
    /// So the bound is (K + 1) u (sum|x w| + |b|) up to the 1/(1 - K u) factor (< 1.0001 here).
    func testReferenceIsWithinTheSummationBound() {
        for (i, (m, n, k)) in shapes.enumerated() {
            let (x, w, b) = data(m, n, k, seed: UInt64(100 + i))
            let y = reference(w, n: n, k: k, x, m: m, ldx: k, bias: b, ldy: n)
            CK.assertWithinSummationBound(y, x, w, bias: b, m: m, n: n, k: k)
        }
        // closed form: x = 1..K, w = 1 gives K(K+1)/2, exact in f32 for K = 1000 (500500 < 2^24)
        let k = 1000
        let x = (1...k).map(Float.init), w = [Float](repeating: 1, count: 2 * k)
        let y = CK.f32Matmul(nil, w, n: 2, k: k, x, m: 1, ldx: k, bias: [0.5, -500500], ldy: 2)
        XCTAssertEqual(y, [500500.5, 0])
    }

    /// 1, 2 and 3 threads, any split of N, and M >= 2 (rows in a batch of 38, 9 or 3) give the same
    /// bits; a row alone (M == 1, the decode order) gives zoo_f32_gemv_ref's, on any thread count.
    func testBitsDoNotDependOnThreadsSplitOrM() {
        let (m, n, k) = (38, 515, 401)  // 38 = 12*3 + 2 = 4*9 + 2: no group is a lone row
        let (x, w, b) = data(m, n, k, seed: 42)
        for variant in variants {
            XCTAssertEqual(zoo_kernel_force(variant), 0)
            var results: [[UInt32]] = []
            for threads in 1...3 {
                let pool = zoo_pool_create(Int32(threads))
                results.append(CK.bits(CK.f32Matmul(pool, w, n: n, k: k, x, m: m, ldx: k, bias: b, ldy: n)))
                zoo_pool_destroy(pool)
            }
            XCTAssertEqual(results[0], results[1], "\(variant): 1 vs 2 threads")
            XCTAssertEqual(results[0], results[2], "\(variant): 1 vs 3 threads")
            // columns in odd pieces, each on its own call
            var pieces = [Float](repeating: 0, count: m * n)
            var start = 0
            for end in [1, 17, 40, 300, 301, n] {
                let rc = pieces.withUnsafeMutableBufferPointer {
                    zoo_f32_gemm(w, Int64(n), Int64(k), x, Int64(m), Int64(k), b, $0.baseAddress, Int64(n), Int64(start), Int64(end))
                }
                XCTAssertEqual(rc, 0)
                start = end
            }
            XCTAssertEqual(CK.bits(pieces), results[0], "\(variant): split of N")
            // rows in groups of 3 (GEMV with 3 rows) and 9 (GEMM); each row alone below
            for group in [3, 9] {
                var rows: [UInt32] = []
                var r0 = 0
                while r0 < m {
                    let g = min(group, m - r0)
                    rows += CK.bits(CK.f32Matmul(nil, w, n: n, k: k, Array(x[(r0 * k)..<((r0 + g) * k)]), m: g, ldx: k, bias: b, ldy: n))
                    r0 += g
                }
                XCTAssertEqual(rows, results[0], "\(variant): rows in groups of \(group)")
            }
            for threads in 1...3 {
                let pool = zoo_pool_create(Int32(threads))
                for r in [0, 17, 37] {
                    let row = Array(x[(r * k)..<((r + 1) * k)])
                    XCTAssertEqual(CK.bits(CK.f32Matmul(pool, w, n: n, k: k, row, m: 1, ldx: k, bias: b, ldy: n)),
                                   CK.bits(reference(w, n: n, k: k, row, m: 1, ldx: k, bias: b, ldy: n)),
                                   "\(variant): row \(r) alone, \(threads) threads")
                }
                zoo_pool_destroy(pool)
            }
        }
    }

    /// Weights big enough (8.6 MB) that the product is cut into more than 4 tasks per thread.
    func testManyTasksGiveTheReferenceBits() {
        let (n, k) = (2100, 1024)
        for m in [2, 6] {
            let (x, w, b) = data(m, n, k, seed: UInt64(m))
            let ref = CK.bits(reference(w, n: n, k: k, x, m: m, ldx: k, bias: b, ldy: n))
            for threads in 1...3 {
                let pool = zoo_pool_create(Int32(threads))
                XCTAssertEqual(CK.bits(CK.f32Matmul(pool, w, n: n, k: k, x, m: m, ldx: k, bias: b, ldy: n)), ref, "M=\(m), \(threads) threads")
                zoo_pool_destroy(pool)
            }
        }
    }

    func testBadArgumentsAreRefused() {
        var y = [Float](repeating: 0, count: 16)
        let x = [Float](repeating: 1, count: 16), w = x
        y.withUnsafeMutableBufferPointer { yp in
            XCTAssertEqual(zoo_f32_matmul(nil, w, -1, 2, x, 1, 2, nil, yp.baseAddress, 2), Int32(ZOO_KERR_ARG))
            XCTAssertEqual(zoo_f32_matmul(nil, w, 2, 4, x, 2, 3, nil, yp.baseAddress, 2), Int32(ZOO_KERR_ARG), "ldx < K")
            XCTAssertEqual(zoo_f32_matmul(nil, w, 4, 2, x, 2, 2, nil, yp.baseAddress, 3), Int32(ZOO_KERR_ARG), "ldy < N")
            XCTAssertEqual(zoo_f32_gemm(w, 4, 2, x, 1, 2, nil, yp.baseAddress, 4, 0, 5), Int32(ZOO_KERR_ARG), "past N")
            // K = 0: empty sums, y = bias
            XCTAssertEqual(zoo_f32_matmul(nil, w, 3, 0, x, 2, 0, [1, 2, 3], yp.baseAddress, 3), 0)
        }
        XCTAssertEqual(Array(y[0..<6]), [1, 2, 3, 1, 2, 3])
    }
}
