import XCTest
@testable import ZooTensor

/// Values from a file that once reached a Swift trap (integer conversion of an infinite float, a
/// negative limit turned into UInt64). Each must now give a result or a ZooError.
final class UntrustedValueTests: XCTestCase {
    /// A block whose largest magnitude is tiny gives a subnormal d = amax / 127 whose inverse is
    /// infinite; amax * inf used to reach Int(inf) and trap. d narrows to f16 0, so the block is
    /// 34 zero bytes, as the C kernels' zk_block_scale makes it (its `zero` flag).
    func testQ8_0OfTinyValuesIsAZeroBlock() throws {
        for amax in [Float.leastNonzeroMagnitude * 127, Float.leastNormalMagnitude / 1000, 1e-37] {
            var x = [Float](repeating: 0, count: 32)
            x[0] = amax; x[1] = -amax; x[2] = amax / 2
            let d = amax / 127
            XCTAssertNotEqual(d, 0)
            XCTAssertFalse((1 / d).isFinite, "the case needs 1/d to overflow (amax \(amax))")
            let t = try x.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: .q8_0, shape: [32]) }
            XCTAssertEqual(t.byteArray, [UInt8](repeating: 0, count: 34), "amax \(amax)")
            XCTAssertEqual(try t.floats(), [Float](repeating: 0, count: 32))
        }
        // Just above the overflow, 1/d is finite and the quants are the usual ±127.
        let amax: Float = 1e-35
        var x = [Float](repeating: 0, count: 32)
        x[0] = amax; x[1] = -amax
        let t = try x.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: .q8_0, shape: [32]) }
        XCTAssertEqual(t.bytes[2..<4].map { Int8(bitPattern: $0) }, [127, -127])
    }

    /// A limit computed as "bytes left minus a record size" is negative in a short file; the count
    /// must then be rejected (or be 0), not trap converting the limit to UInt64.
    func testCountWithNegativeLimit() throws {
        let bytes: [UInt8] = [5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, path: "short.bin")
            XCTAssertThrowsError(try r.count("length", limit: -14)) { error in
                XCTAssertEqual((error as? ZooError)?.description.contains("more than the limit 0"), true, "\(error)")
                XCTAssertEqual((error as? ZooError)?.description.contains("short.bin"), true, "\(error)")
            }
            XCTAssertEqual(try r.count("zero", limit: -3), 0)
        }
    }
}
