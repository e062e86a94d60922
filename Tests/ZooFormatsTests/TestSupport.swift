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

func floats(_ t: Tensor) throws -> [Double] { try t.floats().map(Double.init) }

