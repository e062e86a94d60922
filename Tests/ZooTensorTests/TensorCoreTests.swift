import Foundation
import XCTest
@testable import ZooTensor

final class HalfFloatTests: XCTestCase {
    /// Every f16 bit pattern widens exactly and narrows back to itself (NaNs stay NaN).
    func testAllHalfPatternsRoundTrip() {
        for bits in 0...UInt16.max {
            let f = HalfFloat.f16ToF32(bits)
            #if arch(x86_64) || arch(arm64)
            let reference = Float(Float16(bitPattern: bits))  // the compiler's IEEE conversion, an independent path
            if f.isNaN { XCTAssertTrue(reference.isNaN) } else { XCTAssertEqual(f.bitPattern, reference.bitPattern, "f16 0x\(String(bits, radix: 16))") }
            #endif
            let back = HalfFloat.f32ToF16(f)
            if f.isNaN { XCTAssertTrue(HalfFloat.f16ToF32(back).isNaN) } else { XCTAssertEqual(back, bits) }
        }
    }

    /// Narrowing rounds to nearest even, as IEEE (and Swift's Float16 init) does, on random and tie values.
    func testNarrowingMatchesIEEE() {
        var generator = SystemRandomNumberGenerator()
        var samples: [Float] = [65504, 65519.996, 65520, 1e-8, 5.96e-8, 2.98e-8, 6.1e-5, -0.0, .infinity, -.infinity]
        for bits in stride(from: UInt16(0), to: 0x7BFF, by: 7) {  // exact midpoints between neighbouring halves
            let lo = HalfFloat.f16ToF32(bits), hi = HalfFloat.f16ToF32(bits + 1)
            samples.append((lo + hi) / 2)
        }
        for _ in 0..<20000 { samples.append(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))) }
        for x in samples where !x.isNaN {
            XCTAssertEqual(HalfFloat.f32ToF16(x), Float16(x).bitPattern, "\(x)")
        }
        XCTAssertTrue(HalfFloat.f16ToF32(HalfFloat.f32ToF16(.nan)).isNaN)
    }

    func testBFloat16() {
        XCTAssertEqual(HalfFloat.f32ToBF16(1.0), 0x3F80)
        XCTAssertEqual(HalfFloat.f32ToBF16(Float(bitPattern: 0x3F80_8000)), 0x3F80)  // tie, even stays
        XCTAssertEqual(HalfFloat.f32ToBF16(Float(bitPattern: 0x3F81_8000)), 0x3F82)  // tie, odd rounds up
        XCTAssertEqual(HalfFloat.f32ToBF16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(HalfFloat.f32ToBF16(Float(bitPattern: 0x7F80_0001)), 0x7FC0)  // signalling NaN -> quiet NaN
        XCTAssertEqual(HalfFloat.bf16ToF32(0xC040), -3.0)
    }
}

final class QuantizationTests: XCTestCase {
    /// Zoo's Q8_0 quantizer gives gguf-py's bytes (formats/golden/expected.json, written by gguf.quants.quantize).
    func testQ8_0MatchesGGUFPyByteForByte() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let file = try MappedFile(path: root + "/formats/golden/expected.json")
        let reference = try XCTUnwrap(try JSON.parse(file.bytes)["q8_0_reference"])
        let input = try XCTUnwrap(reference["input"]?.array).map { Float($0.double ?? .nan) }
        let expected = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(reference["blocks_base64"]?.string)))
        let t = try input.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: .q8_0, shape: [3, 64]) }
        XCTAssertEqual(t.byteArray, Array(expected))
    }

    func testQ8_0HandComputedBlock() throws {
        // amax 127 -> d 1.0; 0.5 and -0.5 round away from zero; 2.5 -> 3.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = 0.5; x[2] = -0.5; x[3] = 2.5; x[4] = -127; x[5] = 1.49
        let t = try x.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: .q8_0, shape: [32]) }
        XCTAssertEqual(Array(t.bytes[0..<2]), [0x00, 0x3C])  // f16 1.0
        XCTAssertEqual(t.bytes[2..<8].map { Int8(bitPattern: $0) }, [127, 1, -1, 3, -127, 1])
        XCTAssertEqual(try t.floats()[0..<6], [127, 1, -1, 3, -127, 1])
        let zeros = try [Float](repeating: 0, count: 32).withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: .q8_0, shape: [32]) }
        XCTAssertEqual(zeros.byteArray, [UInt8](repeating: 0, count: 34))
    }

    func testBlockGeometry() throws {
        XCTAssertEqual(DType.q8_0.bytesPerBlock, 34)
        XCTAssertEqual(DType.q4_K.bytesPerBlock, 144)
        XCTAssertEqual(DType.q6_K.bytesPerBlock, 210)
        XCTAssertEqual(try DType.q8_0.byteCount(shape: [3, 64]), 3 * 2 * 34)
        XCTAssertThrowsError(try DType.q8_0.byteCount(shape: [3, 33]))
        XCTAssertThrowsError(try Shape([Int.max, 2]).elementCount())
        XCTAssertEqual(DType(ggmlType: 30), .bf16)
        XCTAssertNil(DType(ggmlType: 4))
    }
}

final class SupportTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(Array("abc".utf8).withUnsafeBytes { SHA256.hex($0) }, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual([UInt8]().withUnsafeBytes { SHA256.hex($0) }, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(million.withUnsafeBytes { SHA256.hex($0) }, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Chunked updates across block boundaries agree with one-shot hashing.
        var h = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 127, 1000, 5] {
            million.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + size)])) }
            offset += size
        }
        let chunked = h.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        XCTAssertEqual(chunked, million[0..<offset].withUnsafeBytes { SHA256.hex($0) })
    }

    func testJSONParsingRulesAndLimits() throws {
        let v = try JSON.parse("{\"a\": [1, 2.5, \"x\", true, null], \"big\": 18446744073709551615}")
        XCTAssertEqual(v["a"]?.array?.count, 5)
        XCTAssertEqual(v["big"], .uint(UInt64.max))
        XCTAssertThrowsError(try JSON.parse("{\"a\": 1, \"a\": 2}")) { XCTAssertTrue("\($0)".contains("twice")) }
        XCTAssertThrowsError(try JSON.parse("{'a': 1}"))
        XCTAssertThrowsError(try JSON.parse("{\"a\": 1} x"))
        XCTAssertThrowsError(try JSON.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
        XCTAssertEqual(try JSON.parse("{\"k\": \"é\\n\"}").serialized(), "{\"k\":\"é\\n\"}")
    }
}
