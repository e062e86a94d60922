import Foundation
import XCTest
import ZooFormats
import ZooTensor
@testable import ZooModels

/// Replays every input the model-side fuzz targets ever flagged (fuzz/regressions/<target>/* for
/// tokenizer-vocab, tokenizer-json, tokenizer-gguf, config, image) through the same entry points
/// as fuzz/targets/models.swift, with the same splitting of one input into files: each must be
/// accepted or rejected with a ZooError, never crash. (The file-format targets are replayed by
/// ZooFormatsTests/FuzzRegressionTests.)
final class FuzzModelRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let targets = ["tokenizer-vocab", "tokenizer-json", "tokenizer-gguf", "config", "image"]

    func testEveryModelRegressionInputIsHandled() throws {
        var replayed = 0
        for target in Self.targets {
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
            XCTAssertEqual(Self.parts(raw, 3).map { $0.map(Array.init) }, [[1, 2], [3], [4, 0, 5]])
            XCTAssertEqual(Self.parts(raw, 1).map { $0.map(Array.init) }, [bytes])
        }
        [UInt8]([7]).withUnsafeBytes { raw in
            XCTAssertEqual(Self.parts(raw, 3).map { $0.map(Array.init) }, [[7], nil, nil])
        }
    }

    static func replay(_ target: String, _ bytes: UnsafeRawBufferPointer) throws {
        switch target {
        case "tokenizer-vocab":
            let p = parts(bytes, 3)
            let tokenizer = try GPT2Tokenizer(vocabJSON: text(p[0]), mergesTXT: text(p[1]))
            try exercise(tokenizer, text(p[2]))
        case "tokenizer-json":
            let p = parts(bytes, 2)
            try exercise(try GPT2Tokenizer(tokenizerJSON: text(p[0])), text(p[1]))
        case "tokenizer-gguf":
            let reader = try GGUFReader(file: MappedFile(copying: bytes, path: "regression.gguf"))
            try exercise(try GPT2Tokenizer(gguf: reader), text(UnsafeRawBufferPointer(rebasing: bytes.suffix(1024))))
        case "config":
            try config(bytes)
        case "image":
            let image = try ImageDecoder.decode(bytes: bytes, path: "regression")
            for p in [ImagePreprocessing.huggingFaceDefaults(imageSize: 16), .timmDefaults(imageSize: 12)] {
                XCTAssertEqual(try p.pixelValues(image).count, 3 * p.height * p.width)
            }
        default:
            XCTFail("unknown fuzz target \(target)")
        }
    }

    /// Splits at the first `count - 1` zero bytes; parts after the last zero byte found are nil.
    static func parts(_ bytes: UnsafeRawBufferPointer, _ count: Int) -> [UnsafeRawBufferPointer?] {
        var out: [UnsafeRawBufferPointer?] = []
        var rest: UnsafeRawBufferPointer? = bytes
        for _ in 0..<(count - 1) {
            guard let r = rest else { out.append(nil); continue }
            if let end = r.firstIndex(of: 0) {
                out.append(UnsafeRawBufferPointer(rebasing: r[..<end]))
                rest = UnsafeRawBufferPointer(rebasing: r[(end + 1)...])
            } else {
                out.append(r)
                rest = nil
            }
        }
        out.append(rest)
        return out
    }

    static func text(_ bytes: UnsafeRawBufferPointer?) -> String {
        bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    static func exercise(_ tokenizer: GPT2Tokenizer, _ sample: String) throws {
        let ids = tokenizer.encode(sample)
        _ = try tokenizer.decode(ids)
        var stream = tokenizer.makeStreamingDecoder()
        for id in ids { _ = try stream.feed(id) }
        _ = stream.flush()
        for bad in [-1, tokenizer.vocabularySize, Int.max, Int.min] {
            XCTAssertThrowsError(try tokenizer.decode([bad]))
        }
    }

    /// What ViTLoader.describe / GPT2Loader compute from config files before reading a weight.
    static func config(_ bytes: UnsafeRawBufferPointer) throws {
        let p = parts(bytes, 2)
        let json = try JSON.parse(p[0]!, what: "config.json", path: "config.json")
        let config: ViTConfig
        if json["architecture"]?.string != nil {
            let reader = try Checkpoint.open(root + "/fixtures/vit/timm-tiny/model.safetensors")
            config = try ViTConfig.fromTimm(json, reader: reader, path: "config.json")
            _ = try ImagePreprocessing.fromTimm(json["pretrained_cfg"] ?? .object([]), imageSize: config.imageHeight,
                                                path: "config.json")
        } else if json["model_type"]?.string == "vit" {
            config = try ViTConfig.fromHuggingFace(json, path: "config.json")
            if let pp = p[1] {
                _ = try ImagePreprocessing.fromHuggingFace(
                    try JSON.parse(pp, what: "preprocessor_config.json", path: "preprocessor_config.json"),
                    imageSize: config.imageHeight, path: "preprocessor_config.json")
            }
        } else {
            let config = try GPT2Config.fromHF(json: json, path: "config.json")
            _ = (config.sizes, config.headDim)
            return
        }
        _ = (config.tableSizes, config.numTokens, config.headDim, ViTNamingTables.table(for: config.convention))
    }
}
