import CKernels
import XCTest

/// f16 / bf16 conversions against values worked out by hand from the IEEE 754 binary16 layout and
/// ggml's bf16 rule, then every SIMD variant against the scalar functions. (The standalone harness
/// also checks all 2^32 f32 inputs against the F16C instructions; too slow for a unit test.)
final class CKernelsHalfTests: XCTestCase {
    override func tearDown() { zoo_kernel_force(nil) }

    func testF16ToF32KnownValues() {
        let cases: [(UInt16, Float)] = [
            (0x3c00, 1), (0xc000, -2), (0x7bff, 65504), (0x0400, 0x1p-14), (0x0001, 0x1p-24),
            (0x03ff, 1023 * 0x1p-24), (0x7c00, .infinity), (0xfc00, -.infinity), (0x3555, 0x1.554p-2),
        ]
        for (h, f) in cases { XCTAssertEqual(zoo_f16_to_f32(h), f, String(h, radix: 16)) }
        XCTAssertEqual(zoo_f16_to_f32(0x8000).bitPattern, 0x8000_0000)      // -0 keeps its sign
        XCTAssertEqual(zoo_f16_to_f32(0x7e01).bitPattern, 0x7fc0_2000)      // quiet NaN, payload shifted
        XCTAssertEqual(zoo_f16_to_f32(0xfc01).bitPattern, 0xffc0_2000)      // signalling NaN comes back quiet
    }

    func testF32ToF16RoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3c00), (1 + 0x1p-11, 0x3c00),          // tie, even mantissa stays
            (1 + 3 * 0x1p-11, 0x3c02),                   // tie, odd mantissa rounds up
            (1 + 0x1p-11 + 0x1p-20, 0x3c01),             // just above the tie
            (65504, 0x7bff), (65519.996, 0x7bff), (65520, 0x7c00), (1e10, 0x7c00), (-1e10, 0xfc00),
            (0x1p-24, 0x0001), (0x1p-25, 0x0000),        // tie between 0 and the smallest subnormal: 0
            (0x1.8p-25, 0x0001), (3 * 0x1p-25, 0x0002),  // 1.5 units -> 2 (even)
            (0x1p-14, 0x0400), (0x1.ff8p-15, 0x03ff), (0x1.ffap-15, 0x03ff),
            (0x1.ffcp-15, 0x0400),                       // tie above the top subnormal: even = smallest normal
            (1e-30, 0), (-1e-30, 0x8000), (.infinity, 0x7c00),
        ]
        for (f, h) in cases { XCTAssertEqual(zoo_f32_to_f16(f), h, "\(f)") }
        XCTAssertEqual(zoo_f32_to_f16(Float(bitPattern: 0x7fc0_2000)), 0x7e01)   // NaN payload kept
        XCTAssertEqual(zoo_f32_to_f16(Float(bitPattern: 0xff80_0001)), 0xfe00)   // sNaN: quiet, sign kept
        XCTAssertTrue(zoo_f16_to_f32(zoo_f32_to_f16(.nan)).isNaN)
    }

    func testBF16() {
        XCTAssertEqual(zoo_f32_to_bf16(1), 0x3f80)
        XCTAssertEqual(zoo_f32_to_bf16(Float(bitPattern: 0x3f80_8000)), 0x3f80)  // tie, even stays
        XCTAssertEqual(zoo_f32_to_bf16(Float(bitPattern: 0x3f81_8000)), 0x3f82)  // tie, odd rounds up
        XCTAssertEqual(zoo_f32_to_bf16(Float(bitPattern: 0x3f80_8001)), 0x3f81)
        XCTAssertEqual(zoo_f32_to_bf16(.greatestFiniteMagnitude), 0x7f80)         // rounds to inf
        XCTAssertEqual(zoo_f32_to_bf16(Float(bitPattern: 0x7f80_0001)), 0x7fc0)   // ggml: NaN | 0x40
        XCTAssertEqual(zoo_f32_to_bf16(Float(bitPattern: 0x0000_0001)), 0x0000)   // subnormals round, no flush
        XCTAssertEqual(zoo_f32_to_bf16(Float(bitPattern: 0x0000_c000)), 0x0001)
        XCTAssertEqual(zoo_bf16_to_f32(0xc0a0), -5)
    }

    func testRowVariantsMatchScalar() {
        let allHalf = (0...0xffff).map { UInt16($0) }
        var rng = CKRandom(seed: 7)
        var f32: [Float] = (0..<100_003).map { _ in Float(bitPattern: rng.next()) }
        f32 += [0, -0, .infinity, -.infinity, .nan, 65520, 65519.99, 0x1p-25, 0x1p-24, 0x1.8p-25]
        f32 += (0..<10_000).map { _ in rng.float() * 70000 }
        f32 += (0..<10_000).map { _ in rng.float() * 0x1p-13 }
        let want16 = f32.map { zoo_f32_to_f16($0) }
        let wantB16 = f32.map { zoo_f32_to_bf16($0) }
        let wantF = allHalf.map { zoo_f16_to_f32($0).bitPattern }
        let wantBF = allHalf.map { zoo_bf16_to_f32($0).bitPattern }
        CK.forEachVariant { v in
            for offset in [0, 3] {  // unaligned starts and odd tails
                let n = f32.count - offset
                var h = [UInt16](repeating: 0, count: n), b = [UInt16](repeating: 0, count: n)
                f32.withUnsafeBufferPointer { p in
                    zoo_f32_to_f16_row(p.baseAddress.map { $0 + offset }, &h, Int64(n))
                    zoo_f32_to_bf16_row(p.baseAddress.map { $0 + offset }, &b, Int64(n))
                }
                XCTAssertEqual(h, Array(want16[offset...]), v)
                XCTAssertEqual(b, Array(wantB16[offset...]), v)
                let m = allHalf.count - offset
                var f = [Float](repeating: 0, count: m), g = [Float](repeating: 0, count: m)
                allHalf.withUnsafeBufferPointer { p in
                    zoo_f16_to_f32_row(p.baseAddress.map { $0 + offset }, &f, Int64(m))
                    zoo_bf16_to_f32_row(p.baseAddress.map { $0 + offset }, &g, Int64(m))
                }
                XCTAssertEqual(f.map(\.bitPattern), Array(wantF[offset...]), v)
                XCTAssertEqual(g.map(\.bitPattern), Array(wantBF[offset...]), v)
            }
        }
    }
}
