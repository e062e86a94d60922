import Foundation
import XCTest
import ZooFormats
import ZooTensor
@testable import ZooModels

/// Bad input gives a ZooError that says what is wrong and where.
final class TokenizerErrorTests: XCTestCase {
    /// vocab.json for the 256 byte tokens plus `extra` (ids from 256).
    private func vocab(_ extra: [String] = []) -> String {
        let tokens = (0..<256).map { ByteLevelAlphabet.encode([UInt8($0)]) } + extra
        return "{" + tokens.enumerated().map { "\"\(escape($0.element))\": \($0.offset)" }.joined(separator: ", ") + "}"
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    private func assertError(_ expression: @autoclosure () throws -> some Any, mentions parts: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let zoo = error as? ZooError else { return XCTFail("not a ZooError: \(error)", file: file, line: line) }
            for part in parts {
                XCTAssertTrue(zoo.description.contains(part), "\"\(zoo.description)\" should mention \"\(part)\"", file: file, line: line)
            }
        }
    }

    func testGoodInputLoads() throws {
        let t = try GPT2Tokenizer(vocabJSON: vocab(["ab"]), mergesTXT: "#version: 0.2\na b\n")
        XCTAssertEqual(t.encode("ab"), [256])
        XCTAssertEqual(t.merges, ["a b"])
        // CRLF line ends and no header are accepted too.
        XCTAssertEqual(try GPT2Tokenizer(vocabJSON: vocab(["ab"]), mergesTXT: "a b\r\n").encode("ab"), [256])
    }

    func testMalformedMergesLines() {
        assertError(try GPT2Tokenizer(vocabJSON: vocab(["ab"]), mergesTXT: "#version: 0.2\na b c\n"),
                    mentions: ["merges.txt line 2", "two tokens"])
        assertError(try GPT2Tokenizer(vocabJSON: vocab(["ab"]), mergesTXT: "#version: 0.2\nab\n"), mentions: ["line 2"])
        assertError(try GPT2Tokenizer(vocabJSON: vocab(["ab"]), mergesTXT: "a b\n\na b\n"), mentions: ["line 2"])
        assertError(try GPT2Tokenizer(vocabJSON: vocab(["ab"]), mergesTXT: "a  b\n"), mentions: ["line 1"])
    }

    func testMergesOutsideTheVocabulary() {
        assertError(try GPT2Tokenizer(vocabJSON: vocab(), mergesTXT: "a b\n"), mentions: ["line 1", "merged token \"ab\""])
        assertError(try GPT2Tokenizer(vocabJSON: vocab(["xyz"]), mergesTXT: "x yz\n"), mentions: ["right part \"yz\""])
        assertError(try GPT2Tokenizer(vocabJSON: vocab(["Qab"]), mergesTXT: "Qa b\n"), mentions: ["left part \"Qa\""])
    }

    func testVocabularyShape() {
        assertError(try GPT2Tokenizer(vocabJSON: "[1, 2]", mergesTXT: ""), mentions: ["vocab.json", "expected a JSON object"])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"a\": \"1\"}", mergesTXT: ""), mentions: ["\"a\"", "expected an integer"])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"a\": 0, \"b\": 0}", mergesTXT: ""), mentions: ["id 0", "\"a\"", "\"b\""])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"a\": 0, \"b\": 2}", mergesTXT: ""), mentions: ["\"b\"", "id 2", "0...1"])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"a\": -1}", mergesTXT: ""), mentions: ["-1"])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"a\": 0, \"a\": 1}", mergesTXT: ""), mentions: ["twice"])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"a b\": 0}", mergesTXT: ""), mentions: ["\"a b\"", "U+20", "byte-level alphabet"])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"\": 0}", mergesTXT: ""), mentions: ["empty"])
        assertError(try GPT2Tokenizer(vocabJSON: "{\"a\": 0", mergesTXT: ""), mentions: ["not valid JSON"])
    }

    func testDecodeRejectsIdsOutOfRange() throws {
        let t = try GPT2Tokenizer(vocabJSON: vocab(), mergesTXT: "")
        assertError(try t.decode([65, 256]), mentions: ["256", "out of range", "256 tokens"])
        assertError(try t.decode([-1]), mentions: ["-1"])
        XCTAssertEqual(try t.decode([0x48, 0x21]), "H!", "in this vocabulary, id = byte")
    }

    func testTokenizerJSONPipelinesThatAreNotGPT2() throws {
        let good = """
        {"added_tokens": [{"id": 257, "content": "<|endoftext|>", "special": true}], "normalizer": null,
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
         "model": {"type": "BPE", "dropout": null, "vocab": \(vocab(["ab"])), "merges": [["a", "b"]]}}
        """
        let t = try GPT2Tokenizer(tokenizerJSON: good)
        XCTAssertEqual(t.encode("ab<|endoftext|>"), [256, 257])
        XCTAssertEqual(t.endOfTextId, 257)
        let prefixed = try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "\"add_prefix_space\": false", with: "\"add_prefix_space\": true"))
        XCTAssertEqual(prefixed.encode("ab"), [0x20, 256], "a space (id = byte) then ab")

        assertError(try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"WordPiece\"")),
                    mentions: ["model type", "WordPiece"])
        assertError(try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "\"normalizer\": null", with: "\"normalizer\": {\"type\": \"NFC\"}")),
                    mentions: ["normalizer", "NFC"])
        assertError(try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "\"type\": \"ByteLevel\"", with: "\"type\": \"Metaspace\"")),
                    mentions: ["pre_tokenizer", "Metaspace"])
        assertError(try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "\"dropout\": null", with: "\"dropout\": 0.1")),
                    mentions: ["dropout"])
        assertError(try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "[[\"a\", \"b\"]]", with: "[[\"a\"]]")),
                    mentions: ["model.merges[0]"])
        assertError(try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "\"id\": 257", with: "\"id\": 3")),
                    mentions: ["added token", "id 3", "already"])
        assertError(try GPT2Tokenizer(tokenizerJSON: good.replacingOccurrences(of: "\"id\": 257", with: "\"id\": 300")),
                    mentions: ["id 300"])
        assertError(try GPT2Tokenizer(tokenizerJSON: "[]"), mentions: ["top level"])
    }

    func testLoadFolderNamesTheMissingFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-tokenizer-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        assertError(try GPT2Tokenizer.load(folder: folder.path), mentions: ["tokenizer.json", "vocab.json and", "merges.txt"])
        try vocab(["ab"]).write(to: folder.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8)
        assertError(try GPT2Tokenizer.load(folder: folder.path), mentions: ["missing", "/merges.txt"])
        try Data([0x61, 0x20, 0x62, 0x0A, 0xFF]).write(to: folder.appendingPathComponent("merges.txt"))
        assertError(try GPT2Tokenizer.load(folder: folder.path), mentions: ["merges.txt", "UTF-8"])
        try "#version: 0.2\na b\n".write(to: folder.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try GPT2Tokenizer.load(folder: folder.path + "/").encode("ab"), [256])
        try "{\"model\": {}}".write(to: folder.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        assertError(try GPT2Tokenizer.load(folder: folder.path), mentions: ["tokenizer.json", "pre_tokenizer"])
    }

    func testGGUFMetadataChecks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-tokenizer-gguf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokens = (0..<256).map { ByteLevelAlphabet.encode([UInt8($0)]) } + ["ab", "<|endoftext|>"]
        func gguf(_ entries: [MetadataEntry]) throws -> GGUFReader {
            let path = folder.appendingPathComponent("t\(UInt32.random(in: 0...UInt32.max)).gguf").path
            let writer = try GGUFWriter(path: path, force: true)
            try writer.begin(metadata: entries, tensors: [])
            try writer.finish()
            return try GGUFReader(path: path)
        }
        let types = MetadataArray(.int32, tokens.indices.map { .int32($0 == 257 ? 3 : 1) })
        let base: [MetadataEntry] = [
            MetadataEntry("tokenizer.ggml.model", .string("gpt2")),
            MetadataEntry("tokenizer.ggml.pre", .string("gpt-2")),
            MetadataEntry("tokenizer.ggml.tokens", .array(.strings(tokens))),
            MetadataEntry("tokenizer.ggml.token_type", .array(types)),
            MetadataEntry("tokenizer.ggml.merges", .array(.strings(["a b"]))),
        ]
        let t = try GPT2Tokenizer(gguf: try gguf(base))
        XCTAssertEqual(t.encode("ab<|endoftext|>a"), [256, 257, 0x61])
        XCTAssertEqual(t.endOfTextId, 257)

        func replacing(_ key: String, _ value: MetadataValue?) -> [MetadataEntry] {
            base.compactMap { $0.key == key ? value.map { MetadataEntry(key, $0) } : $0 }
        }
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.model", .string("llama")))),
                    mentions: [".gguf", "tokenizer.ggml.model", "\"llama\"", "\"gpt2\""])
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.model", nil))), mentions: ["tokenizer.ggml.model is missing"])
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.pre", .string("llama-bpe")))), mentions: ["llama-bpe"])
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.merges", nil))), mentions: ["tokenizer.ggml.merges is missing"])
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.merges", .array(.strings(["ab"]))))),
                    mentions: ["tokenizer.ggml.merges[0]"])
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.tokens", .uint32(3)))),
                    mentions: ["tokenizer.ggml.tokens", "expected an array of strings"])
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.token_type", .array(MetadataArray(.int32, [.int32(1)]))))),
                    mentions: ["token_type has 1 entries", "258"])
        assertError(try GPT2Tokenizer(gguf: try gguf(replacing("tokenizer.ggml.tokens", .array(.strings(tokens.dropLast() + ["a"]))))),
                    mentions: ["\"a\" appears twice", "97"])
    }
}
