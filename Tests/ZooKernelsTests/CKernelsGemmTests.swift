import CKernels
import XCTest

/// The packed layout, GEMV / GEMM against the plain reference and against closed forms, and
/// thread-count independence.
final class CKernelsGemmTests: XCTestCase {
    override func tearDown() { zoo_kernel_force(nil) }

    /// Runs gemm (or gemv when m == 1 and useGemv) on packed weights for rows [r0, r1), into y.
    private func gemm(_ wp: [UInt8], n: Int, k: Int, _ xq: [UInt8], m: Int, bias: [Float]?, y: inout [Float],
                      ldy: Int, rows: Range<Int>, useGemv: Bool = false) {
        wp.withUnsafeBytes { w in
            xq.withUnsafeBytes { xp in
                let x = xp.baseAddress?.assumingMemoryBound(to: zoo_block_q8_act.self)
                let rc: Int32 = y.withUnsafeMutableBufferPointer { yp in
                    if let bias {
                        return bias.withUnsafeBufferPointer { bp in
                            useGemv ? zoo_q8_0_gemv(w.baseAddress, Int64(n), Int64(k), x, bp.baseAddress, yp.baseAddress, Int64(rows.lowerBound), Int64(rows.upperBound))
                                : zoo_q8_0_gemm(w.baseAddress, Int64(n), Int64(k), x, Int64(m), bp.baseAddress, yp.baseAddress, Int64(ldy), Int64(rows.lowerBound), Int64(rows.upperBound))
                        }
                    }
                    return useGemv ? zoo_q8_0_gemv(w.baseAddress, Int64(n), Int64(k), x, nil, yp.baseAddress, Int64(rows.lowerBound), Int64(rows.upperBound))
                        : zoo_q8_0_gemm(w.baseAddress, Int64(n), Int64(k), x, Int64(m), nil, yp.baseAddress, Int64(ldy), Int64(rows.lowerBound), Int64(rows.upperBound))
                }
                XCTAssertEqual(rc, 0)
            }
        }
    }

    private func gemmRef(_ q: [UInt8], n: Int, k: Int, _ xq: [UInt8], m: Int, bias: [Float]?, ldy: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * ldy)
        q.withUnsafeBytes { w in
            xq.withUnsafeBytes { xp in
                let rc = y.withUnsafeMutableBufferPointer { yp in
                    (bias ?? []).withUnsafeBufferPointer { bp in
                        zoo_q8_0_gemm_ref(w.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self), Int64(n), Int64(k),
                                          xp.baseAddress?.assumingMemoryBound(to: zoo_block_q8_act.self), Int64(m),
                                          bias == nil ? nil : bp.baseAddress, yp.baseAddress, Int64(ldy), 0, Int64(n))
                    }
                }
                XCTAssertEqual(rc, 0)
            }
        }
        return y
    }

    private func matmul(_ pool: OpaquePointer?, _ wp: [UInt8], n: Int, k: Int, x: [Float], m: Int, bias: [Float]?, ldy: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * ldy)
        var work = [UInt8](repeating: 0, count: zoo_q8_act_size(Int64(m), Int64(k)) + 4)
        wp.withUnsafeBytes { w in
            let rc = y.withUnsafeMutableBufferPointer { yp in
                work.withUnsafeMutableBytes { wk in
                    (bias ?? []).withUnsafeBufferPointer { bp in
                        zoo_q8_0_matmul(pool, w.baseAddress, Int64(n), Int64(k), x, Int64(m), Int64(k),
                                        bias == nil ? nil : bp.baseAddress, yp.baseAddress, Int64(ldy), wk.baseAddress)
                    }
                }
            }
            XCTAssertEqual(rc, 0)
        }
        return y
    }

    func testPackedLayoutBytes() {
        // 17 rows x 64 values: 2 groups (the second padded with 15 zero rows) x 2 blocks x 544 bytes
        let n = 17, k = 64
        XCTAssertEqual(zoo_q8_0_packed_size(Int64(n), Int64(k)), 2 * 2 * 544)
        var q = [UInt8](repeating: 0, count: n * 2 * 34)
        for r in 0..<n {
            for b in 0..<2 {
                let o = (r * 2 + b) * 34
                q[o] = UInt8(r); q[o + 1] = UInt8(b + 0x30)
                for j in 0..<32 { q[o + 2 + j] = UInt8(truncatingIfNeeded: r * 7 + b * 3 + j - 100) }
            }
        }
        let p = CK.repack(q, n: n, k: k)
        for g in 0..<2 {
            for b in 0..<2 {
                let cell = (g * 2 + b) * 544
                for r in 0..<16 {
                    let row = g * 16 + r
                    let d = row < n ? UInt16(row) | UInt16(b + 0x30) << 8 : 0
                    XCTAssertEqual(UInt16(p[cell + 2 * r]) | UInt16(p[cell + 2 * r + 1]) << 8, d)
                    for j in 0..<32 {
                        let qv = row < n ? Int8(truncatingIfNeeded: row * 7 + b * 3 + j - 100) : 0
                        // value j of row r sits in chunk j/4 at 32 + 64*(j/4) + 4r + j%4, as q + 128
                        XCTAssertEqual(p[cell + 32 + 64 * (j / 4) + 4 * r + j % 4], UInt8(Int(qv) + 128))
                    }
                }
            }
        }
        var back = [UInt8](repeating: 0, count: 5 * 2 * 34)
        p.withUnsafeBytes { pp in
            back.withUnsafeMutableBytes { bp in
                XCTAssertEqual(zoo_q8_0_unpack(pp.baseAddress, Int64(n), Int64(k), 12, 17, bp.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self)), 0)
            }
            var row = [Float](repeating: 0, count: k), want = [Float](repeating: 0, count: k)
            XCTAssertEqual(zoo_q8_0_packed_dequantize_row(pp.baseAddress, Int64(n), Int64(k), 16, &row), 0)
            q.withUnsafeBytes { qp in
                let blocks = qp.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self)
                XCTAssertEqual(zoo_q8_0_dequantize_row(blocks.map { $0 + 16 * 2 }, &want, Int64(k)), 0)
            }
            XCTAssertEqual(row, want)
            XCTAssertEqual(zoo_q8_0_packed_dequantize_row(pp.baseAddress, Int64(n), Int64(k), 17, &row), Int32(ZOO_KERR_ARG))
        }
        XCTAssertEqual(back, Array(q[(12 * 68)...]))
    }

    func testQuantizePackEqualsQuantizeThenRepack() {
        var rng = CKRandom(seed: 5)
        for (n, k) in [(1, 32), (17, 96), (40, 800)] {
            let w = CK.values(n * k, mode: 5, rng: &rng)
            let want = CK.repack(CK.quantize(w, rows: n, k: k), n: n, k: k)
            CK.forEachVariant { v in
                var got = [UInt8](repeating: 0xee, count: want.count)
                got.withUnsafeMutableBytes { XCTAssertEqual(zoo_q8_0_quantize_pack(w, Int64(n), Int64(k), $0.baseAddress), 0) }
                XCTAssertEqual(got, want, "\(v) n=\(n) k=\(k)")
            }
        }
    }

    func testHandComputedGemv() {
        // W: one row of 64, block 0 all 1 with d = 1, block 1 all -127 with d = 0.5; x = 2 everywhere.
        // x blocks: d = 2/127 (f32), q = 127, c = -128 * 32 * 127.
        // block 0: isum = 32 * 127 = 4064; block 1: isum = 32 * 127 * -127 = -516128.
        var q = [UInt8](repeating: 0, count: 2 * 34)
        q[0] = 0x00; q[1] = 0x3c                                       // 1.0
        for j in 0..<32 { q[2 + j] = 1 }
        q[34] = 0x00; q[35] = 0x38                                     // 0.5
        for j in 0..<32 { q[36 + j] = UInt8(bitPattern: -127) }
        let x = [Float](repeating: 2, count: 64)
        let xq = CK.quantizeAct(x, rows: 1, k: 64)
        XCTAssertEqual(CK.actBlock(xq, 0).c, -128 * 32 * 127)
        let dx: Float = 2.0 / 127.0
        var s: Float = 0
        s = s + Float(4064) * (dx * 1.0)
        s = s + Float(-516128) * (dx * 0.5)
        XCTAssertEqual(Double(s), 64 - 4064, accuracy: 1e-3)           // closed form: 2*32*1 - 2*32*127*0.5
        let wp = CK.repack(q, n: 1, k: 64)
        CK.forEachVariant { v in
            var y = [Float](repeating: 0, count: 1)
            gemm(wp, n: 1, k: 64, xq, m: 1, bias: [0.25], y: &y, ldy: 1, rows: 0..<1, useGemv: true)
            XCTAssertEqual(y[0], s + 0.25, v)
        }
    }

    func testVariantsBitIdenticalToReferenceOnAwkwardShapes() {
        var rng = CKRandom(seed: 42)
        var checked = 0
        for n in [1, 3, 17, 65, 1000] {
            for k in [32, 96, 800] {
                for m in [1, 2, 5, 33] where n * k * m <= 1000 * 800 * 5 || m == 1 {
                    let mode = (n + k + m) % 6
                    let w = CK.values(n * k, mode: mode == 4 ? 0 : mode, rng: &rng)
                    var q = CK.quantize(w, rows: n, k: k)
                    if mode == 3 { for i in 0..<min(3, n * k / 32) { for j in 0..<32 { q[i * 34 + 2 + j] = UInt8(bitPattern: -127) } } }
                    if mode == 5 && k > 32 { for j in 0..<32 { q[34 + 2 + j] = UInt8(bitPattern: -128) } }  // -128 can come from a file
                    let x = CK.values(m * k, mode: (mode + 1) % 6, rng: &rng)
                    let xq = CK.quantizeAct(x, rows: m, k: k)
                    let bias: [Float]? = mode % 2 == 1 ? (0..<n).map { _ in rng.float() } : nil
                    let ldy = n + 3
                    let ref = gemmRef(q, n: n, k: k, xq, m: m, bias: bias, ldy: ldy)
                    let wp = CK.repack(q, n: n, k: k)
                    CK.forEachVariant { v in
                        var y = [Float](repeating: 0, count: m * ldy)
                        let cut = n / 3  // two calls with an unaligned split
                        gemm(wp, n: n, k: k, xq, m: m, bias: bias, y: &y, ldy: ldy, rows: 0..<cut)
                        gemm(wp, n: n, k: k, xq, m: m, bias: bias, y: &y, ldy: ldy, rows: cut..<n)
                        XCTAssertEqual(y.map(\.bitPattern), ref.map(\.bitPattern), "\(v) n=\(n) k=\(k) m=\(m)")
                        if m == 1 {
                            var g = [Float](repeating: 0, count: n)
                            gemm(wp, n: n, k: k, xq, m: 1, bias: bias, y: &g, ldy: n, rows: 0..<n, useGemv: true)
                            XCTAssertEqual(g.map(\.bitPattern), Array(ref[0..<n]).map(\.bitPattern), "gemv \(v) n=\(n) k=\(k)")
                        }
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 50)
    }

    func testEveryTileRemainderAndGroupPairing() {
        // GEMM kernels cut m into tiles of a few activation rows and may take 16-row groups in pairs:
        // every m up to 13 (each remainder of tiles up to 12 rows), group counts 1..4 with a partial
        // last group, and row ranges that start or end inside a group, an odd number of groups in
        // or one group only, all against the reference
        var rng = CKRandom(seed: 21)
        let k = 96
        for n in [16, 33, 48, 64] {
            let q = CK.quantize(CK.values(n * k, mode: 0, rng: &rng), rows: n, k: k)
            let wp = CK.repack(q, n: n, k: k)
            let bias = (0..<n).map { _ in rng.float() }
            for m in 2...13 {
                let xq = CK.quantizeAct(CK.values(m * k, mode: m % 6, rng: &rng), rows: m, k: k)
                let ref = gemmRef(q, n: n, k: k, xq, m: m, bias: bias, ldy: n)
                let cuts = [[0, n], [0, 5, n], [0, 16, n], [0, 21, n], [0, n - 1, n], [0, 3, n - 17, n].filter { $0 >= 0 }]
                CK.forEachVariant { v in
                    for cut in cuts where zip(cut, cut.dropFirst()).allSatisfy({ $0 <= $1 }) {
                        var y = [Float](repeating: 0, count: m * n)
                        for (a, b) in zip(cut, cut.dropFirst()) { gemm(wp, n: n, k: k, xq, m: m, bias: bias, y: &y, ldy: n, rows: a..<b) }
                        XCTAssertEqual(y.map(\.bitPattern), ref.map(\.bitPattern), "\(v) n=\(n) m=\(m) cuts=\(cut)")
                    }
                }
            }
        }
    }

    func testReferenceAgreesWithDoublePrecision() {
        // the reference's f32 accumulation vs the exact sum of dequantized products
        var rng = CKRandom(seed: 3)
        let n = 9, k = 800, m = 2
        let q = CK.quantize(CK.values(n * k, mode: 3, rng: &rng), rows: n, k: k)
        let xq = CK.quantizeAct(CK.values(m * k, mode: 0, rng: &rng), rows: m, k: k)
        let y = gemmRef(q, n: n, k: k, xq, m: m, bias: nil, ldy: n)
        for i in 0..<m {
            for r in 0..<n {
                var exact = 0.0, scale = 0.0
                for b in 0..<(k / 32) {
                    let wb = CK.block(q, r * (k / 32) + b), xb = CK.actBlock(xq, i * (k / 32) + b)
                    let dw = Double(zoo_f16_to_f32(wb.d))
                    for j in 0..<32 {
                        let t = Double(wb.qs[j]) * dw * Double(xb.qs[j]) * Double(xb.d)
                        exact += t; scale += abs(t)
                    }
                }
                XCTAssertEqual(Double(y[i * n + r]), exact, accuracy: scale * 1e-6 + 1e-30)
            }
        }
    }

    func testExtremeInputs() {
        let k = 96, n = 5
        var q = [UInt8](repeating: 0, count: n * 3 * 34)
        for r in 0..<n { for b in 0..<3 {
            let o = (r * 3 + b) * 34
            q[o + 1] = 0x3c                                                   // d = 1
            for j in 0..<32 { q[o + 2 + j] = UInt8(bitPattern: r == 2 ? -128 : -127) }
        } }
        for j in 0..<34 { q[34 * 4 + j] = 0 }                                  // row 1, block 1: zero block, d = 0
        var x = [Float](repeating: -127, count: k)
        var xq = CK.quantizeAct(x, rows: 1, k: k)                              // d = 1, q = -127
        let wp = CK.repack(q, n: n, k: k)
        let ref = gemmRef(q, n: n, k: k, xq, m: 1, bias: nil, ldy: n)
        XCTAssertEqual(ref[0], 3 * 32 * 127 * 127)                             // 1548384: exact in f32
        XCTAssertEqual(ref[1], 2 * 32 * 127 * 127)
        XCTAssertEqual(ref[2], 3 * 32 * 128 * 127)
        CK.forEachVariant { v in
            var y = [Float](repeating: 0, count: n)
            gemm(wp, n: n, k: k, xq, m: 1, bias: nil, y: &y, ldy: n, rows: 0..<n)
            XCTAssertEqual(y, ref, v)
        }
        // NaN in an activation block: every output that uses it is NaN, in every variant
        x[40] = .nan
        xq = CK.quantizeAct(x, rows: 1, k: k)
        CK.forEachVariant { v in
            var y = [Float](repeating: 0, count: n)
            gemm(wp, n: n, k: k, xq, m: 1, bias: nil, y: &y, ldy: n, rows: 0..<n)
            XCTAssertTrue(y.allSatisfy(\.isNaN), v)
        }
    }

    func testThreadCountsGiveIdenticalBits() {
        var rng = CKRandom(seed: 11)
        for (n, k, m) in [(1000, 96, 1), (65, 800, 5), (17, 32, 33), (3, 96, 2)] {
            let q = CK.quantize(CK.values(n * k, mode: 0, rng: &rng), rows: n, k: k)
            let x = CK.values(m * k, mode: 5, rng: &rng)
            let bias = (0..<n).map { _ in rng.float() }
            let ref = gemmRef(q, n: n, k: k, CK.quantizeAct(x, rows: m, k: k), m: m, bias: bias, ldy: n)
            let wp = CK.repack(q, n: n, k: k)
            CK.forEachVariant { v in
                XCTAssertEqual(matmul(nil, wp, n: n, k: k, x: x, m: m, bias: bias, ldy: n).map(\.bitPattern), ref.map(\.bitPattern), v)
                for threads in 1...3 {
                    let pool = zoo_pool_create(Int32(threads))
                    XCTAssertNotNil(pool)
                    defer { zoo_pool_destroy(pool) }
                    XCTAssertEqual(zoo_pool_size(pool), Int32(threads))
                    for _ in 0..<3 {
                        let y = matmul(pool, wp, n: n, k: k, x: x, m: m, bias: bias, ldy: n)
                        XCTAssertEqual(y.map(\.bitPattern), ref.map(\.bitPattern), "\(v) threads=\(threads) n=\(n) k=\(k) m=\(m)")
                    }
                }
            }
        }
    }

    func testSharedQuantizedInputMatchesMatmul() {
        // quantize once (in parallel), multiply twice: same bits as the one-call path and the reference
        var rng = CKRandom(seed: 13)
        let n = 40, k = 96, m = 9
        let x = CK.values(m * k, mode: 0, rng: &rng)
        let q = CK.quantize(CK.values(n * k, mode: 0, rng: &rng), rows: n, k: k)
        let wp = CK.repack(q, n: n, k: k)
        let ref = gemmRef(q, n: n, k: k, CK.quantizeAct(x, rows: m, k: k), m: m, bias: nil, ldy: n)
        let pool = zoo_pool_create(3)
        defer { zoo_pool_destroy(pool) }
        var xq = [UInt8](repeating: 0, count: zoo_q8_act_size(Int64(m), Int64(k)))
        xq.withUnsafeMutableBytes { p in
            XCTAssertEqual(zoo_q8_act_quantize_rows(pool, x, Int64(m), Int64(k), Int64(k), p.baseAddress?.assumingMemoryBound(to: zoo_block_q8_act.self)), 0)
        }
        XCTAssertEqual(xq, CK.quantizeAct(x, rows: m, k: k))
        for _ in 0..<2 {
            var y = [Float](repeating: 0, count: m * n)
            xq.withUnsafeBytes { p in
                XCTAssertEqual(zoo_q8_0_matmul_q(pool, wp, Int64(n), Int64(k), p.baseAddress?.assumingMemoryBound(to: zoo_block_q8_act.self),
                                                 Int64(m), nil, &y, Int64(n)), 0)
            }
            XCTAssertEqual(y.map(\.bitPattern), ref.map(\.bitPattern))
        }
    }

    func testBadArgumentsAreRejected() {
        var y = [Float](repeating: 0, count: 4)
        let kerr = Int32(ZOO_KERR_ARG)
        XCTAssertEqual(zoo_q8_0_gemm(nil, 4, 33, nil, 1, nil, &y, 4, 0, 4), kerr)   // K not a multiple of 32
        XCTAssertEqual(zoo_q8_0_gemm(nil, 4, 32, nil, 1, nil, &y, 4, 0, 5), kerr)   // rows past N
        XCTAssertEqual(zoo_q8_0_gemm(nil, 4, 32, nil, 2, nil, &y, 3, 0, 4), kerr)   // ldy < N
        XCTAssertEqual(zoo_q8_0_gemm(nil, 4, 32, nil, 1, nil, &y, 4, 2, 2), 0)      // empty range: nothing to do
        XCTAssertEqual(zoo_q8_0_packed_size(3, 40), 0)
        XCTAssertTrue(zoo_q8_0_dot(nil, nil, 31).isNaN)
    }
}
