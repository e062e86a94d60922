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

    /// The convert target's promises (ConvertInvariants.swift, a link to fuzz/targets/) on its
    /// regressions and on every small checkpoint the repository holds, valid and hostile alike.
    func testConversionPromisesHoldOnRegressionsAndSmallCheckpoints() throws {
        var inputs: [String] = []
        for folder in ["fuzz/regressions/convert", "fuzz/regressions/safetensors", "fuzz/regressions/gguf",
                       "fuzz/regressions/npy", "fuzz/regressions/npz", "fuzz/seeds/model-gguf", "formats"] {
            let dir = Paths.root + "/" + folder
            guard let enumerator = FileManager.default.enumerator(atPath: dir) else { continue }
            for case let name as String in enumerator where !name.hasSuffix(".md") && !name.hasSuffix(".py") && !name.hasSuffix(".json") {
                let path = dir + "/" + name
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                      attributes[.type] as? FileAttributeType == .typeRegular,
                      let size = attributes[.size] as? Int, size <= 1 << 16 else { continue }
                inputs.append(path)
            }
        }
        XCTAssertGreaterThanOrEqual(inputs.count, 20)
        var converted = 0
        for path in inputs.sorted() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let file = data.withUnsafeBytes { MappedFile(copying: $0, path: (path as NSString).lastPathComponent) }
            do {
                try fuzzConversion(file)
                converted += 1
            } catch is ZooError {
                // rejected cleanly when opened
            } catch {
                XCTFail("\(path): \(error)")
            }
        }
        XCTAssertGreaterThanOrEqual(converted, 5, "some inputs are valid checkpoints that convert")
        print("conversion promises checked on \(inputs.count) inputs, \(converted) opened and converted")
    }
}
