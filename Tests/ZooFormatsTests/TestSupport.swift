import Foundation
@_exported import ZooTestSupport
import XCTest
import ZooTensor
@testable import ZooFormats

enum Paths {
    /// The repository root, found from this file's location.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let golden = root + "/formats/golden"
    static let sharedReference = root + "/../shared/reference"
}

/// A scratch folder removed when the test ends.
final class ScratchFolder {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "zoo-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))  // a failed write shows as the test's read error
        return p
    }
}

/// Little-endian byte building for hand-made files.
struct Bytes {
    var data: [UInt8] = []
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); data += s.utf8 }
    mutating func raw(_ b: [UInt8]) { data += b }
    mutating func text(_ s: String) { data += s.utf8 }
}

func floats(_ t: Tensor) throws -> [Double] { try t.floats().map(Double.init) }

