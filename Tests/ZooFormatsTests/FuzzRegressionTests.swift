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
        // Only the file-format targets; the model-side ones are ZooModelsTests/FuzzModelRegressionTests.
        for format in formats.sorted() where format == "json" || CheckpointFormat(rawValue: format) != nil {
            let folder = root + "/" + format
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
                let file = data.withUnsafeBytes { MappedFile(copying: $0, path: name) }
                do {
                    if format == "json" { _ = try data.withUnsafeBytes { try JSON.parse($0) }; replayed += 1; continue }
                    let reader = try Checkpoint.open(file, as: CheckpointFormat(rawValue: format) ?? .safetensors)
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
