import CKernels
import XCTest

// Shared helpers for the CKernels*Tests files (prefixed CK so they do not clash with other test files).

/// Deterministic xorshift64 generator: tests must not depend on the run.
struct CKRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt32 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt32(truncatingIfNeeded: state >> 32)
    }
    /// uniform in [-1, 1)
    mutating func float() -> Float { Float(Int32(bitPattern: next())) / 2_147_483_648 }
}

enum CK {
    static let blockBytes = 34  // zoo_block_q8_0
    static let actBytes = 40    // zoo_block_q8_act

    /// Variants compiled in and runnable here, best first (e.g. ["avx512vnni", "avx2", "scalar"]).
    static func variants() -> [String] {
        String(cString: zoo_kernel_variants()).split(separator: ",").map(String.init)
            .filter { zoo_kernel_supported($0) == 1 }
    }

    /// Runs body once per runnable variant, then goes back to automatic selection.
    static func forEachVariant(_ body: (String) throws -> Void) rethrows {
        defer { zoo_kernel_force(nil) }
        for v in variants() {
            XCTAssertEqual(zoo_kernel_force(v), 0, v)
            XCTAssertEqual(String(cString: zoo_kernel_name()), v)
            try body(v)
        }
    }

    /// zoo_f32_matmul into a fresh Y [m, ldy] prefilled with -7, so padding columns can be checked
    /// untouched.  x: [m, ldx], w: [n, k] -> y: [m, ldy]
    static func f32Matmul(_ pool: OpaquePointer?, _ w: [Float], n: Int, k: Int, _ x: [Float], m: Int, ldx: Int,
                          bias: [Float]?, ldy: Int) -> [Float] {
        var y = [Float](repeating: -7, count: m * ldy)
        let rc = y.withUnsafeMutableBufferPointer { yp in
            (bias ?? []).withUnsafeBufferPointer { bp in
                zoo_f32_matmul(pool, w, Int64(n), Int64(k), x, Int64(m), Int64(ldx), bias == nil ? nil : bp.baseAddress,
                               yp.baseAddress, Int64(ldy))
            }
        }
        XCTAssertEqual(rc, 0)
        return y
    }

    /// Checks y = x W^T + bias against the exact sum (each f32 product is exact in double):
    /// |y - exact| <= (K + 1) 2^-24 (sum|x w| + |b|), up to the 1/(1 - K u) factor (< 1.0001 for the
    /// sizes tested), the bound of K roundings in sequence plus one for the bias.
    /// x: [m, k], w: [n, k], y: [m, n]
    static func assertWithinSummationBound(_ y: [Float], _ x: [Float], _ w: [Float], bias: [Float], m: Int, n: Int, k: Int,
                                           file: StaticString = #filePath, line: UInt = #line) {
        let u = pow(2.0, -24.0)
        for r in 0..<m {
            for j in 0..<n {
                var exact = Double(bias[j]), magnitude = abs(Double(bias[j]))
                for p in 0..<k {
                    let t = Double(x[r * k + p]) * Double(w[j * k + p])
                    exact += t
                    magnitude += abs(t)
                }
                XCTAssertLessThanOrEqual(abs(Double(y[r * n + j]) - exact), Double(k + 1) * u * magnitude * 1.0001,
                                         "M=\(m) N=\(n) K=\(k) [\(r), \(j)]", file: file, line: line)
            }
        }
    }

    /// Bit patterns, so that comparisons are exact (and NaNs compare equal to themselves).
    static func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    /// Q8_0 rows (ggml bytes) of a [rows, k] matrix, with the reference or the selected quantizer.
    static func quantize(_ x: [Float], rows: Int, k: Int, reference: Bool = true) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows * (k / 32) * blockBytes)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBytes { op in
                let blocks = op.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self)
                for r in 0..<rows {
                    let src = xp.baseAddress.map { $0 + r * k }
                    let dst = blocks.map { $0 + r * (k / 32) }
                    let rc = reference ? zoo_q8_0_quantize_row_ref(src, dst, Int64(k)) : zoo_q8_0_quantize_row(src, dst, Int64(k))
                    XCTAssertEqual(rc, 0)
                }
            }
        }
        return out
    }

    /// Activation blocks of a [rows, k] matrix.
    static func quantizeAct(_ x: [Float], rows: Int, k: Int, reference: Bool = true) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows * (k / 32) * actBytes)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBytes { op in
                let blocks = op.baseAddress?.assumingMemoryBound(to: zoo_block_q8_act.self)
                for r in 0..<rows {
                    let src = xp.baseAddress.map { $0 + r * k }
                    let dst = blocks.map { $0 + r * (k / 32) }
                    let rc = reference ? zoo_q8_act_quantize_row_ref(src, dst, Int64(k)) : zoo_q8_act_quantize_row(src, dst, Int64(k))
                    XCTAssertEqual(rc, 0)
                }
            }
        }
        return out
    }

    static func repack(_ q: [UInt8], n: Int, k: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: zoo_q8_0_packed_size(Int64(n), Int64(k)))
        q.withUnsafeBytes { qp in
            out.withUnsafeMutableBytes { op in
                XCTAssertEqual(zoo_q8_0_repack(qp.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self),
                                               Int64(n), Int64(k), op.baseAddress), 0)
            }
        }
        return out
    }

    /// (d bits, quants) of block b of a Q8_0 byte array
    static func block(_ q: [UInt8], _ b: Int) -> (d: UInt16, qs: [Int8]) {
        let o = b * blockBytes
        let d = UInt16(q[o]) | UInt16(q[o + 1]) << 8
        return (d, (0..<32).map { Int8(bitPattern: q[o + 2 + $0]) })
    }

    /// (d, c, quants) of activation block b
    static func actBlock(_ a: [UInt8], _ b: Int) -> (d: Float, c: Int32, qs: [Int8]) {
        let o = b * actBytes
        func u32(_ i: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(a[i + $1]) << (8 * UInt32($1)) } }
        return (Float(bitPattern: u32(o)), Int32(bitPattern: u32(o + 4)), (0..<32).map { Int8(bitPattern: a[o + 8 + $0]) })
    }

    /// Random values in awkward regimes: 0 plain, 1 huge, 2 tiny, 3 with zero blocks, 4 exact .5 ties, 5 mixed magnitudes.
    static func values(_ n: Int, mode: Int, rng: inout CKRandom) -> [Float] {
        (0..<n).map { i in
            let v = rng.float()
            switch mode {
            case 1: return v * 1e30
            case 2: return v * 1e-30
            case 3: return (i / 32) % 3 == 1 ? 0 : v * Float(1 + i % 7)
            case 4: return (v * 127).rounded() + (i % 2 == 1 ? 0.5 : -0.5)
            case 5: return v * Float(pow(10.0, Double(Int(rng.next() % 20) - 10)))
            default: return v
            }
        }
    }
}

final class CKernelsQuantTests: XCTestCase {
    override func tearDown() { zoo_kernel_force(nil) }

    /// ggml's quantize_row_q8_0_ref written out independently in Swift (roundf = .toNearestOrAwayFromZero).
    private func ggmlQuantize(_ x: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in 0..<(x.count / 32) {
            let blk = x[(32 * b)..<(32 * b + 32)]
            let amax = blk.reduce(Float(0)) { max($0, abs($1)) }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            let h = zoo_f32_to_f16(d)
            out += [UInt8(h & 0xff), UInt8(h >> 8)]
            out += blk.map { UInt8(bitPattern: Int8(($0 * id).rounded(.toNearestOrAwayFromZero))) }
        }
        return out
    }

    func testHandComputedBlockTiesRoundAwayFromZero() {
        // amax = 127 -> d = 1 exactly (f16 0x3c00), id = 1, so q = roundf(x)
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = 2.5; x[2] = -2.5; x[3] = 0.5; x[4] = -0.5; x[5] = 0.49999997; x[6] = -126.5; x[7] = 3.4999998
        let expected: [Int8] = [127, 3, -3, 1, -1, 0, -127, 3] + [Int8](repeating: 0, count: 24)
        for reference in [true, false] {
            CK.forEachVariant { v in
                let q = CK.quantize(x, rows: 1, k: 32, reference: reference)
                XCTAssertEqual(CK.block(q, 0).d, 0x3c00, v)
                XCTAssertEqual(CK.block(q, 0).qs, expected, v)
                let a = CK.actBlock(CK.quantizeAct(x, rows: 1, k: 32, reference: reference), 0)
                XCTAssertEqual(a.d, 1, v)
                XCTAssertEqual(a.qs, expected, v)
                XCTAssertEqual(a.c, -128 * (127 + 3 - 3 + 1 - 1 + 0 - 127 + 3), v)
            }
        }
    }

    func testHandComputedScale() {
        // amax = 2: d = 2/127 (f16 of 0.015748031 = 0x2408 = 0.0157470703125); id = 63.5 exactly, 1.0 -> 63.5 -> 64
        var x = [Float](repeating: 0, count: 32)
        x[0] = 2; x[1] = 1; x[2] = -1; x[3] = 0.25
        let q = CK.quantize(x, rows: 1, k: 32)
        XCTAssertEqual(CK.block(q, 0).d, 0x2408)
        XCTAssertEqual(Array(CK.block(q, 0).qs[0..<4]), [127, 64, -64, 16])  // 0.25 * 63.5 = 15.875 -> 16
        var y = [Float](repeating: 0, count: 32)
        q.withUnsafeBytes { XCTAssertEqual(zoo_q8_0_dequantize_row($0.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self), &y, 32), 0) }
        XCTAssertEqual(y[0], 127 * 0.0157470703125)
        XCTAssertEqual(y[2], -64 * 0.0157470703125)
    }

    func testMatchesGgmlTranscriptionAndVariantsAgree() {
        var rng = CKRandom(seed: 1)
        for mode in 0..<6 {
            for _ in 0..<20 {
                let x = CK.values(32 * 40, mode: mode, rng: &rng)
                let ref = CK.quantize(x, rows: 1, k: x.count)
                XCTAssertEqual(ref, ggmlQuantize(x), "mode \(mode)")
                let act = CK.quantizeAct(x, rows: 1, k: x.count)
                CK.forEachVariant { v in
                    XCTAssertEqual(CK.quantize(x, rows: 1, k: x.count, reference: false), ref, "\(v) mode \(mode)")
                    XCTAssertEqual(CK.quantizeAct(x, rows: 1, k: x.count, reference: false), act, "\(v) mode \(mode)")
                }
            }
        }
    }

    func testNonFiniteTinyHugeAndZeroBlocks() {
        var x = [Float](repeating: 1, count: 32 * 5)
        x[5] = .nan                                          // block 0: NaN
        x[40] = -.infinity                                   // block 1: inf
        for j in 64..<96 { x[j] = 1e-38 * Float(j - 80) }    // block 2: 1/d overflows -> zeros
        for j in 96..<128 { x[j] = 0 }                       // block 3: zeros
        for j in 128..<160 { x[j] = 3e38 * (j == 130 ? -1 : 0.5) }  // block 4: huge, d overflows f16
        CK.forEachVariant { v in
            for reference in [true, false] {
                let q = CK.quantize(x, rows: 1, k: x.count, reference: reference)
                XCTAssertTrue(zoo_f16_to_f32(CK.block(q, 0).d).isNaN, v)
                XCTAssertEqual(CK.block(q, 0).qs, [Int8](repeating: 0, count: 32), v)
                XCTAssertEqual(CK.block(q, 1).d, 0x7c00, v)
                XCTAssertEqual(CK.block(q, 1).qs, [Int8](repeating: 0, count: 32), v)
                XCTAssertEqual(CK.block(q, 2).qs, [Int8](repeating: 0, count: 32), v)
                XCTAssertEqual(CK.block(q, 3).d, 0, v)
                XCTAssertEqual(CK.block(q, 3).qs, [Int8](repeating: 0, count: 32), v)
                XCTAssertEqual(CK.block(q, 4).d, 0x7c00, v)  // 3e38/127 is beyond f16: inf, as ggml stores it
                XCTAssertEqual(CK.block(q, 4).qs[2], -127, v)
                XCTAssertEqual(CK.block(q, 4).qs[0], 64, v)   // 0.5 * 127 = 63.5 -> 64
                let a = CK.quantizeAct(x, rows: 1, k: x.count, reference: reference)
                XCTAssertTrue(CK.actBlock(a, 0).d.isNaN, v)
                XCTAssertEqual(CK.actBlock(a, 1).d, .infinity, v)
                XCTAssertEqual(CK.actBlock(a, 2).c, 0, v)
                XCTAssertEqual(CK.actBlock(a, 4).d, 3e38 / 127, v)  // the activation scale stays f32
            }
        }
    }

    func testBadLengthIsRejected() {
        var x = [Float](repeating: 1, count: 48)
        var out = [UInt8](repeating: 0, count: 4 * CK.actBytes)
        out.withUnsafeMutableBytes { op in
            let p = op.baseAddress?.assumingMemoryBound(to: zoo_block_q8_act.self)
            XCTAssertEqual(zoo_q8_act_quantize_row(&x, p, 48), Int32(ZOO_KERR_ARG))
        }
        XCTAssertEqual(zoo_q8_act_size(2, 48), 0)
        XCTAssertEqual(zoo_q8_act_size(2, 64), 2 * 2 * 40)
        XCTAssertEqual(MemoryLayout<zoo_block_q8_0>.size, 34)
        XCTAssertEqual(MemoryLayout<zoo_block_q8_act>.size, 40)
    }
}
