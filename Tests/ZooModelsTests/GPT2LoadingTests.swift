import Foundation
import XCTest
import ZooFormats
import ZooModels
import ZooTensor

final class GPT2LoadingTests: XCTestCase {
    static let fixtures = GPT2FixtureTests.gpt2Fixtures

    func testConfigFromHFAndGGUFAgree() throws {
        let hf = try GPT2Config.fromHF(configPath: Self.fixtures + "/tiny-a/config.json")
        let gguf = try GPT2Config.fromGGUF(try GGUFReader(path: Self.fixtures + "/tiny-a.gguf"))
        XCTAssertEqual(hf, GPT2Config(embedding: 72, layers: 2, heads: 3, positions: 64, vocabulary: 451, inner: 200,
                                      layerNormEpsilon: 1e-5, activation: .geluTanh))
        XCTAssertEqual(gguf.embedding, hf.embedding)
        XCTAssertEqual(gguf.inner, hf.inner)
        XCTAssertEqual(gguf.layerNormEpsilon, hf.layerNormEpsilon)
    }

    func testNullInnerMeansFourTimesEmbedding() throws {
        let json = try JSON.parse(#"{"model_type":"gpt2","n_embd":8,"n_layer":1,"n_head":2,"n_positions":4,"vocab_size":5,"n_inner":null}"#)
        XCTAssertEqual(try GPT2Config.fromHF(json: json, path: nil).inner, 32)
        let bad = try JSON.parse(#"{"n_embd":8,"n_layer":1,"n_head":2,"n_positions":4,"vocab_size":5,"activation_function":"relu"}"#)
        XCTAssertThrowsError(try GPT2Config.fromHF(json: bad, path: nil))
    }

    func testConfigThatDisagreesWithWeightsIsOneClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-gpt2-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Self.fixtures + "/tiny-a/model.safetensors", toPath: dir + "/model.safetensors")
        var config = try String(contentsOfFile: Self.fixtures + "/tiny-a/config.json", encoding: .utf8)
        config = config.replacingOccurrences(of: "\"n_layer\": 2", with: "\"n_layer\": 3")
        try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GPT2Loader.load(path: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("n_layer 3"), text)
            XCTAssertTrue(text.contains("12 missing"), text)
            XCTAssertTrue(text.contains("transformer.h.2.attn.c_attn.weight"), text)
        }
    }

    func testWeightsFileNeedsConfigBesideIt() throws {
        XCTAssertThrowsError(try GPT2Source.resolve("/nonexistent/model.safetensors"))
        let source = try GPT2Source.resolve(Self.fixtures + "/tiny-a/model.safetensors")
        XCTAssertEqual(source.kind, .weightsBesideConfig)
        XCTAssertEqual(try GPT2Source.resolve(Self.fixtures + "/tiny-a.gguf").kind, .gguf)
    }

    func testTablesMapEveryTinyATensor() throws {
        let config = try GPT2Config.fromHF(configPath: Self.fixtures + "/tiny-a/config.json")
        let hf = try GPT2NamingTables.huggingFace.expand(sizes: config.sizes)
        let gguf = try GPT2NamingTables.gguf.expand(sizes: config.sizes)
        XCTAssertEqual(hf.map(\.field), gguf.map(\.field), "both conventions describe the same model fields")
        XCTAssertEqual(hf.first { $0.field == "h.1.attn.qkv.weight" }?.storedShape, [72, 216])
        XCTAssertEqual(gguf.first { $0.field == "h.1.attn.qkv.weight" }?.checkpoint, ["blk.1.attn_qkv.weight"])
    }

    func testGGUFConfigNeedsItsMetadata() throws {
        let embd = try Tensor(zeros: .f32, shape: [5, 8])
        XCTAssertThrowsError(try GPT2Config.fromGGUF(MemoryCheckpoint([("token_embd.weight", embd)]))) { error in
            XCTAssertTrue("\(error)".contains("gpt2."), "\(error)")
        }
        XCTAssertThrowsError(try GPT2Config.fromGGUF(MemoryCheckpoint([]))) { error in
            XCTAssertTrue("\(error)".contains("token_embd.weight"), "\(error)")
        }
    }

    /// An n_embd so large that 4 * n_embd (the default n_inner) overflows was a trap before
    /// validation, from config.json and from GGUF metadata alike (the CI config fuzz target found it);
    /// now it is an error that names n_embd.
    func testHugeEmbeddingIsAnErrorNotACrash() throws {
        for embd in [Int.max / 4 + 1, Int.max, 1 << 62, (1 << 24) + 1] {
            let json = try JSON.parse(#"{"model_type":"gpt2","n_embd":\#(embd),"n_layer":1,"n_head":1,"n_positions":4,"vocab_size":5}"#)
            XCTAssertThrowsError(try GPT2Config.fromHF(json: json, path: "config.json")) { error in
                XCTAssertTrue("\(error)".contains("n_embd is \(embd)"), "\(error)")
            }
            let embdTensor = try Tensor(zeros: .f32, shape: [5, 8])
            let metadata = [MetadataEntry("gpt2.embedding_length", .uint64(UInt64(embd))), MetadataEntry("gpt2.block_count", .uint32(1)),
                            MetadataEntry("gpt2.attention.head_count", .uint32(1)), MetadataEntry("gpt2.context_length", .uint32(4))]
            XCTAssertThrowsError(try GPT2Config.fromGGUF(MemoryCheckpoint([("token_embd.weight", embdTensor)], metadata: metadata))) { error in
                XCTAssertTrue("\(error)".contains("n_embd is \(embd)"), "\(error)")
            }
        }
    }

    /// A layer count far beyond the tensors a file holds is one short error, at once (a 12 KB
    /// fuzzed GGUF saying 1048566 blocks took over 10 s listing 12 million missing names).
    func testLayerCountFarBeyondTheFileIsOneShortError() throws {
        let config = try GPT2Config.fromHF(configPath: Self.fixtures + "/tiny-a/config.json")
        var huge = config
        huge.layers = 1_048_566
        let reader = try Checkpoint.open(Self.fixtures + "/tiny-a/model.safetensors")
        XCTAssertEqual(GPT2NamingTables.huggingFace.requiredTensorCount(sizes: config.sizes), 2 * 12 + 4,
                       "12 per block (ln_1, c_attn, attn c_proj, ln_2, c_fc, mlp c_proj; weight and bias) + wte, wpe, ln_f")
        XCTAssertEqual(reader.tensors.count, 28)
        let start = Date()
        XCTAssertThrowsError(try GPT2Loader.load(reader: reader, config: huge, table: GPT2NamingTables.huggingFace)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("1048566 layers need at least 12582796 tensors, the checkpoint holds \(reader.tensors.count)"), text)
            XCTAssertLessThan(text.count, 1000, text)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "refused without expanding every layer's names")
        XCTAssertEqual(GPT2NamingTables.huggingFace.requiredTensorCount(sizes: ["L": Int.max / 2]), Int.max)
    }
}
