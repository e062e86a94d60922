import XCTest
import ZooFormats
import ZooTensor
@testable import ZooModels

/// The tokenizer against ids produced by Hugging Face's GPT-2 tokenizer: llama.cpp's 46 test
/// vectors for GPT-2 (../shared/reference/gpt2-vocab) and the committed corpus
/// fixtures/tokenizer/cases.json (made by fixtures/tokenizer/make_tokenizer_cases.py).
final class TokenizerReferenceTests: XCTestCase {
    // MARK: llama.cpp's test vectors

    func testLlamaCppVocabCases() throws {
        let tokenizer = try TokenizerTestData.gpt2()
        let base = TokenizerTestData.sharedVocab
        let input = try TokenizerTestData.readText(base + ".inp")
        let output = try TokenizerTestData.readText(base + ".out")
        let separator = "\n__ggml_vocab_test__\n"
        var texts = input.components(separatedBy: separator)
        XCTAssertEqual(texts.last, "", "the .inp file ends with a separator")
        texts.removeLast()
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        XCTAssertEqual(texts.count, 46)
        XCTAssertEqual(lines.count, texts.count)
        for (text, line) in zip(texts, lines) {
            let expected = line.split(separator: " ").compactMap { Int($0) }
            XCTAssertEqual(tokenizer.encode(text), expected, "text \(text.debugDescription)")
            XCTAssertEqual(try tokenizer.decode(expected), text)
        }
    }

    // MARK: fixtures/tokenizer/cases.json

    func testCorpusWithGPT2VocabularyFromGGUF() throws {
        let cases = try TokenizerTestData.corpus()
        try check(cases, vocabulary: "gpt2", tokenizer: try TokenizerTestData.gpt2())
    }

    func testCorpusWithTinyVocabularyFromTokenizerJSON() throws {
        let cases = try TokenizerTestData.corpus()
        let tokenizer = try GPT2Tokenizer.load(folder: TokenizerTestData.root + "/fixtures/gpt2/tiny-a")
        XCTAssertEqual(tokenizer.vocabularySize, 451)
        XCTAssertEqual(tokenizer.endOfTextId, 450)
        try check(cases, vocabulary: "tiny", tokenizer: tokenizer)
    }

    func testCorpusWithTinyVocabularyFromVocabAndMerges() throws {
        let cases = try TokenizerTestData.corpus()
        let folder = TokenizerTestData.root + "/fixtures/gpt2/tiny-a"
        let tokenizer = try GPT2Tokenizer(vocabJSON: try TokenizerTestData.readText(folder + "/vocab.json"),
                                          mergesTXT: try TokenizerTestData.readText(folder + "/merges.txt"))
        XCTAssertEqual(tokenizer.endOfTextId, 450)
        try check(cases, vocabulary: "tiny", tokenizer: tokenizer)
    }

    /// The GPT-2 vocabulary read from GGUF equals the one in vocab.json + merges.txt form (the way
    /// cases.json's script rebuilt it for Hugging Face).
    func testGGUFAndTextFormsAgree() throws {
        let fromGGUF = try TokenizerTestData.gpt2()
        let vocab = "{" + fromGGUF.tokens.enumerated().map { "\(jsonString($0.element)): \($0.offset)" }.joined(separator: ",") + "}"
        let merges = "#version: 0.2\n" + fromGGUF.merges.joined(separator: "\n") + "\n"
        let fromText = try GPT2Tokenizer(vocabJSON: vocab, mergesTXT: merges)
        XCTAssertEqual(fromText.tokens, fromGGUF.tokens)
        XCTAssertEqual(fromText.merges, fromGGUF.merges)
        XCTAssertEqual(fromText.specialTokens, ["<|endoftext|>": 50256])
        XCTAssertEqual(fromGGUF.specialTokens, ["<|endoftext|>": 50256])
        let text = "Hello<|endoftext|> world, naïve 🙂 'twas 12345"
        XCTAssertEqual(fromText.encode(text), fromGGUF.encode(text))
    }

    private func check(_ cases: [JSONValue], vocabulary: String, tokenizer: GPT2Tokenizer) throws {
        XCTAssertGreaterThanOrEqual(cases.count, 220)
        var failures = 0
        for (index, item) in cases.enumerated() {
            guard let text = item["text"]?.string, let ids = item[vocabulary]?.array?.compactMap(\.int),
                  let decoded = item[vocabulary + "_decoded"]?.string,
                  let pieces = item[vocabulary + "_pieces"]?.array?.compactMap(\.string) else {
                XCTFail("case \(index) is malformed"); continue
            }
            let got = tokenizer.encode(text)
            if got != ids {
                failures += 1
                XCTAssertEqual(got, ids, "\(vocabulary) case \(index) \(text.debugDescription)")
            }
            XCTAssertEqual(try tokenizer.decode(ids), decoded, "\(vocabulary) case \(index)")
            XCTAssertEqual(decoded, text, "\(vocabulary) case \(index) does not round-trip in the fixture")
            XCTAssertEqual(try ids.map { try tokenizer.decode([$0]) }, pieces, "\(vocabulary) case \(index) pieces")
            // Streaming gives the same text as decoding at once.
            var stream = tokenizer.makeStreamingDecoder()
            var streamed = ""
            for id in ids { streamed += try stream.feed(id) }
            streamed += stream.flush()
            XCTAssertEqual(streamed, decoded, "\(vocabulary) case \(index) streamed")
        }
        XCTAssertEqual(failures, 0, "\(vocabulary): \(failures) of \(cases.count) cases differ")
    }

    private func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// Where the tests find their data: the repository root from this file's path, and the shared
/// reference data beside it (skipped with the missing path named when absent).
enum TokenizerTestData {
    static let root: String = {
        var path = "\(#filePath)"
        // .../Tests/ZooModelsTests/TokenizerReferenceTests.swift -> the folder holding Package.swift
        while let slash = path.lastIndex(of: "/") {
            path = String(path[..<slash])
            if access(path + "/Package.swift", F_OK) == 0 { return path }
        }
        return "."
    }()

    static let sharedVocab = root + "/../shared/reference/gpt2-vocab/ggml-vocab-gpt-2.gguf"

    static func readText(_ path: String) throws -> String {
        let file = try MappedFile(path: path)
        return String(decoding: file.bytes, as: UTF8.self)
    }

    /// The GPT-2 vocabulary from the shared GGUF file, loaded once.
    static func gpt2() throws -> GPT2Tokenizer {
        guard access(sharedVocab, F_OK) == 0 else {
            throw XCTSkip("reference vocabulary missing: \(sharedVocab)")
        }
        return try cachedGPT2.get()
    }

    private static let cachedGPT2 = Result { try GPT2Tokenizer(gguf: try GGUFReader(path: sharedVocab)) }

    static func corpus() throws -> [JSONValue] {
        let path = root + "/fixtures/tokenizer/cases.json"
        let file = try MappedFile(path: path)
        let json = try JSON.parse(file.bytes, what: "cases.json", path: path)
        guard let cases = json["cases"]?.array else { throw ZooError("no \"cases\" array", path: path) }
        return cases
    }
}
