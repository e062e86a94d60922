import Foundation
import XCTest
import ZooFormats
import ZooTensor
@testable import ZooModels

/// Replays every input the model-side fuzz targets ever flagged (fuzz/regressions/<target>/* for
/// tokenizer-vocab, tokenizer-json, tokenizer-gguf, config, image) through the fuzz targets' own
/// harness (ModelFuzzHarness.swift, a link to fuzz/targets/ModelFuzzHarness.swift): each must be
/// accepted or rejected with a ZooError, never crash or break an invariant. (The file-format targets are replayed by
/// ZooFormatsTests/FuzzRegressionTests.)
final class FuzzModelRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    func testEveryModelRegressionInputIsHandled() throws {
        var replayed = 0
        for target in modelFuzzTargets {
            let folder = Self.root + "/fuzz/regressions/" + target
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
                do {
                    try data.withUnsafeBytes { try Self.replay(target, $0) }
                } catch is ZooError {
                    // rejected cleanly
                } catch {
                    XCTFail("\(target)/\(name): not a ZooError: \(error)")
                }
                replayed += 1
            }
        }
        print("replayed \(replayed) model fuzz regression inputs")
    }

    /// The checks added for the findings say what is wrong (before them: Int overflow traps, a
    /// crashing range, and allocations of 2^40 label strings, a 2 GiB PNG buffer or a 768 MB JPEG
    /// buffer for 2 KB files).
    func testFixesForFindings() throws {
        func vitError(_ text: String) -> String {
            do {
                _ = try ViTConfig.fromHuggingFace(try JSON.parse(text), path: "config.json")
                return "accepted"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(vitError(#"{"model_type":"vit","image_size":4611686018427387904,"patch_size":1}"#)
            .contains("exceeds the limit of 65535 pixels per side"))
        XCTAssertTrue(vitError(#"{"model_type":"vit","num_channels":4611686018427387904}"#).contains("channels is"))
        XCTAssertTrue(vitError(#"{"model_type":"vit","num_labels":-1}"#).contains("num_labels is -1"))
        XCTAssertTrue(vitError(#"{"model_type":"vit","num_labels":1099511627776}"#).contains("num_labels is 1099511627776"))
        // The largest sizes still accepted: 65535-pixel sides with patch 65535, 2^20 labels.
        XCTAssertEqual(vitError(#"{"model_type":"vit","image_size":65535,"patch_size":65535,"num_labels":1048576}"#), "accepted")

        let png = try Data(contentsOf: URL(fileURLWithPath: Self.root
            + "/fuzz/regressions/image/png-ihdr-16384x16384-rgba16-tiny-idat.png"))
        XCTAssertThrowsError(try png.withUnsafeBytes { try ImageDecoder.decode(bytes: $0, path: "bomb.png") }) { error in
            XCTAssertTrue("\(error)".contains("deflate expands at most 1032:1"), "\(error)")
        }
        for name in ["jpeg-sof-16000x16000-baseline-2kb.jpg", "jpeg-sof-16000x16000-progressive-2kb.jpg"] {
            let jpeg = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/fuzz/regressions/image/" + name))
            XCTAssertThrowsError(try jpeg.withUnsafeBytes { try ImageDecoder.decode(bytes: $0, path: name) }) { error in
                XCTAssertTrue("\(error)".contains("250000 coded blocks"), "\(error)")
            }
        }
    }

    /// Splitting on the splitter itself: the parts the harness hands to each loader.
    func testSplitting() {
        let bytes: [UInt8] = [1, 2, 0, 3, 0, 4, 0, 5]
        bytes.withUnsafeBytes { raw in
            XCTAssertEqual(fuzzParts(raw, 3).map { $0.map(Array.init) }, [[1, 2], [3], [4, 0, 5]])
            XCTAssertEqual(fuzzParts(raw, 1).map { $0.map(Array.init) }, [bytes])
        }
        [UInt8]([7]).withUnsafeBytes { raw in
            XCTAssertEqual(fuzzParts(raw, 3).map { $0.map(Array.init) }, [[7], nil, nil])
        }
    }

    /// The fuzz target's work on one input, without the round-trip check the fuzzer adds.
    static func replay(_ target: String, _ bytes: UnsafeRawBufferPointer) throws {
        try runModelFuzzTarget(target, bytes, checkRoundTrip: false) {
            try Checkpoint.open(root + "/fixtures/vit/timm-tiny/model.safetensors")
        }
    }
}
