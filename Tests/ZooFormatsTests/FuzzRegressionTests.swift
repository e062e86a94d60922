import Foundation
import XCTest
import ZooTensor
@testable import ZooFormats

/// Replays every input the fuzzers ever flagged (fuzz/regressions/<format>/*): each must be read
/// or rejected with a ZooError, never crash.
final class FuzzRegressionTests: XCTestCase {
    func testEveryRegressionInputIsHandled() throws {
        let root = Paths.root + "/fuzz/regressions"
        let formats = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        var replayed = 0
        for format in formats.sorted() {
            let folder = root + "/" + format
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
                let file = data.withUnsafeBytes { MappedFile(copying: $0, path: name) }
                do {
                    let reader: CheckpointReader
                    switch format {
                    case "gguf": reader = try GGUFReader(file: file)
                    case "npy": reader = try NpyReader(file: file)
                    case "npz": reader = try NpzReader(file: file)
                    case "json": _ = try data.withUnsafeBytes { try JSON.parse($0) }; replayed += 1; continue
                    default: reader = try SafetensorsReader(file: file)
                    }
                    for info in reader.tensors { _ = try reader.tensor(info.name).floats() }
                } catch is ZooError {
                    // rejected cleanly
                }
                replayed += 1
            }
        }
        print("replayed \(replayed) fuzz regression inputs")
    }
}
