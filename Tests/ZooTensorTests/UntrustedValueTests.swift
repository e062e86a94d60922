import XCTest
@testable import ZooTensor

/// Values from a file that once reached a Swift trap (integer conversion of an infinite float, a
/// negative limit turned into UInt64). Each must now give a result or a ZooError.
final class UntrustedValueTests: XCTestCase {
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
