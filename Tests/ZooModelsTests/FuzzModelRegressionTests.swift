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

    /// The model-gguf and model-folder seeds are whole models the targets must accept (load in
    /// every weight mode and run), so that fuzzing starts from inputs that reach the forward pass.
    func testModelSeedsRunWholeModels() throws {
        for (target, expected) in [("model-gguf", ["gpt2-f32.gguf", "gpt2-q8_0.gguf", "vit-f32.gguf", "vit-q8_0.gguf"]),
                                   ("model-folder", ["gpt2-hf.seed", "vit-hf.seed", "vit-timm.seed"])] {
            let folder = Self.root + "/fuzz/seeds/" + target
            let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            XCTAssertEqual(names, expected)
            for name in names {
                let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
                XCTAssertNoThrow(try data.withUnsafeBytes { try Self.replay(target, $0) }, "\(target)/\(name)")
            }
        }
    }

    /// Image settings a file gives are checked when read, not when the first image traps on them.
    func testPreprocessingFromFilesIsValidated() throws {
        func timmError(_ text: String) -> String {
            do {
                _ = try ImagePreprocessing.fromTimm(try JSON.parse(text), imageSize: 224, path: "config.json")
                return "accepted"
            } catch { return "\(error)" }
        }
        // floor(224 / 1e-300) is no Int: it trapped in timmResizeSize before.
        XCTAssertTrue(timmError(#"{"crop_pct":1e-300}"#).contains("crop_pct 1e-300 is out of range"), timmError(#"{"crop_pct":1e-300}"#))
        XCTAssertTrue(timmError(#"{"crop_pct":0.001}"#).contains("at most 65535 pixels"))
        XCTAssertEqual(timmError(#"{"crop_pct":0.00342}"#), "accepted")  // 224 / 0.00342 = 65497
        XCTAssertTrue(timmError(#"{"input_size":[3,0,224]}"#).contains("width and height must be at least 1"))
        XCTAssertTrue(timmError(#"{"mean":[1e300,0,0]}"#).contains("is not 3 finite numbers"))
        XCTAssertEqual(timmError(#"{"crop_pct":0.9,"mean":[0.5,0.5,0.5],"std":[0.2,0.2,0.2]}"#), "accepted")
        XCTAssertThrowsError(try ImagePreprocessing.fromHuggingFace(try JSON.parse(#"{"rescale_factor":1e999}"#), imageSize: 8,
                                                                    path: "preprocessor_config.json")) { error in
            XCTAssertTrue("\(error)".contains("rescale_factor"), "\(error)")
        }
        // The same settings from a ViT GGUF's vit.preprocess.* keys.
        var p = ImagePreprocessing.timmDefaults(imageSize: 8)
        p.cropPct = 0
        XCTAssertThrowsError(try p.validate(path: "m.gguf"))
        p.cropPct = .nan
        XCTAssertThrowsError(try p.validate(path: "m.gguf"))
        p.cropPct = 1
        XCTAssertNoThrow(try p.validate(path: "m.gguf"))
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
