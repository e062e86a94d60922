import Foundation
import XCTest
import ZooTensor
@testable import ZooFormats

/// A GGUF written by llama.cpp's converter (../shared/reference/gpt2-vocab).
final class SharedReferenceTests: XCTestCase {
    func testLlamaCppVocabularyFile() throws {
        let path = Paths.sharedReference + "/gpt2-vocab/ggml-vocab-gpt-2.gguf"
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("shared reference absent: \(path) (clone outside the development setup)")
        }
        let reader = try GGUFReader(path: path)
        XCTAssertEqual(reader.metadata.count, 16)
        XCTAssertEqual(reader.tensors.count, 0)
        XCTAssertEqual(reader.metadataValue("general.architecture"), .string("gpt2"))
        XCTAssertEqual(reader.metadataValue("gpt2.block_count"), .uint32(12))
        XCTAssertEqual(reader.metadataValue("gpt2.attention.layer_norm_epsilon"), .float32(1e-5))
        XCTAssertEqual(reader.metadataValue("tokenizer.ggml.bos_token_id"), .uint32(50256))
        let tokens = try XCTUnwrap(reader.metadataValue("tokenizer.ggml.tokens")?.array?.strings())
        XCTAssertEqual(tokens.count, 50257)
        XCTAssertEqual(tokens[0], "!")
        XCTAssertEqual(tokens[220], "Ġ")
        XCTAssertEqual(tokens[50256], "<|endoftext|>")
        let merges = try XCTUnwrap(reader.metadataValue("tokenizer.ggml.merges")?.array?.strings())
        XCTAssertEqual(merges.count, 50000)
        XCTAssertEqual(merges[0], "Ġ t")
        let types = try XCTUnwrap(reader.metadataValue("tokenizer.ggml.token_type")?.array?.integers())
        XCTAssertEqual(types.count, 50257)
        XCTAssertEqual(types[50256], 3)
        XCTAssertEqual(types[0], 1)
    }
}
