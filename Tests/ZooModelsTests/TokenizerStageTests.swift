import XCTest
import ZooTensor
@testable import ZooModels

/// Each stage on its own, with expectations from format-facts.md section 4 and from Hugging Face
/// tokenizers 0.23 (`pre_tokenizers.Split(Regex(GPT-2 pattern), "isolated")` and Python's
/// `bytes.decode("utf-8", "replace")`, run by hand when writing these tests).
final class TokenizerStageTests: XCTestCase {
    /// A tokenizer whose ids 0...255 are the bytes themselves, plus one token per merge.
    static func byteTokenizer(merges: [(String, String)], special: [String] = []) throws -> GPT2Tokenizer {
        var tokens = (0..<256).map { ByteLevelAlphabet.encode([UInt8($0)]) }
        for (left, right) in merges where !tokens.contains(left + right) { tokens.append(left + right) }
        let specialIds = Set(special.indices.map { tokens.count + $0 })
        tokens += special
        return try GPT2Tokenizer(tokens: tokens, special: specialIds, mergePairs: merges.map { ($0.0, $0.1, "test") },
                                 addPrefixSpace: false, endOfTextId: nil, what: "test", path: nil)
    }

    // MARK: byte alphabet

    func testByteAlphabet() {
        let map = ByteLevelAlphabet.scalarForByte
        XCTAssertEqual(Set(map).count, 256, "a bijection")
        XCTAssertEqual(map[0x20], 0x120)  // space -> Ġ
        XCTAssertEqual(map[0x0A], 0x10A)  // \n -> Ċ
        XCTAssertEqual(map[0x09], 0x109)  // \t -> ĉ
        XCTAssertEqual(map[0x0D], 0x10D)  // \r -> č
        XCTAssertEqual(map[0x00], 0x100)
        XCTAssertEqual(map[0x7F], 0x121)
        XCTAssertEqual(map[0x80], 0x122)
        XCTAssertEqual(map[0xA0], 0x142)
        XCTAssertEqual(map[0xAD], 0x143)
        for b in [0x21, 0x7E, 0xA1, 0xAC, 0xAE, 0xFF] { XCTAssertEqual(map[b], UInt32(b)) }
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(ByteLevelAlphabet.decode(ByteLevelAlphabet.encode(all)), all)
        XCTAssertEqual(ByteLevelAlphabet.encode(Array(" hi".utf8)), "Ġhi")
        XCTAssertNil(ByteLevelAlphabet.decode("a b"), "a real space is outside the alphabet")
        XCTAssertNil(ByteLevelAlphabet.decode("\u{144}"))
    }

    // MARK: pre-tokenizer

    func testPreTokenizerMatchesHuggingFace() {
        let cases: [(String, [String])] = [
            ("\u{1C}", ["\u{1C}"]),
            ("a\u{1C}b", ["a", "\u{1C}", "b"]),              // U+001C: Python isspace, not regex \s
            ("\u{3000}x", ["\u{3000}", "x"]),
            ("x\u{85} y", ["x", "\u{85}", " y"]),
            ("'S 're 'RE ''s", ["'", "S", " '", "re", " '", "RE", " ''", "s"]),
            ("a  \n b", ["a", "  \n", " b"]),
            (" 's", [" '", "s"]),
            ("x\t\t y", ["x", "\t\t", " y"]),
            ("Hello   world  ", ["Hello", "  ", " world", "  "]),
            ("   Hello", ["  ", " Hello"]),
            ("12 345 6a7", ["12", " 345", " 6", "a", "7"]),
            (" ?!  ?!", [" ?!", " ", " ?!"]),
            ("naïve café", ["naïve", " café"]),
            ("\u{915}\u{93F}", ["\u{915}", "\u{93F}"]),       // a combining vowel sign is "other"
            ("a\u{A0}b", ["a", "\u{A0}", "b"]),
            ("\u{2028}\n", ["\u{2028}\n"]),
            ("x\u{200B}y", ["x", "\u{200B}", "y"]),           // zero-width space is not \s
            ("don't I'll we've", ["don", "'t", " I", "'ll", " we", "'ve"]),
            ("  ", ["  "]),
            (" \t", [" \t"]),
            ("e\u{301}", ["e", "\u{301}"]),
            ("😀😀 x", ["😀😀", " x"]),
            ("", []),
        ]
        for (text, expected) in cases {
            // Compare scalars: Swift's String == would equate "e\u{301}" with "é".
            XCTAssertEqual(GPT2PreTokenizer.split(text).map { Array($0.unicodeScalars) }, expected.map { Array($0.unicodeScalars) },
                           "text \(text.debugDescription)")
        }
    }

    /// Hugging Face's `\s` (found by running tokenizers 0.23 on every code point): exactly the
    /// Unicode White_Space scalars, without U+001C...U+001F that Python's `str.isspace` adds.
    func testWhitespaceIsOnigurumasBackslashS() {
        let expected: Set<UInt32> = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
                                     0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
                                     0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
        var found = Set<UInt32>()
        for value in UInt32(0)..<0x1_0000 {
            if let scalar = Unicode.Scalar(value), GPT2PreTokenizer.kind(of: scalar) == .space { found.insert(value) }
        }
        XCTAssertEqual(found, expected)
    }

    /// Letters first assigned in Unicode 17 are "other" to tokenizers 0.23 (Unicode 16 tables).
    func testUnicode17LettersAreOther() {
        // U+088F (assigned in Unicode 17, Lo) is "other" to Hugging Face; U+0870 ARABIC LETTER ALEF
        // WITH ATTACHED FATHA (Unicode 14, Lo) is a letter to both.
        XCTAssertEqual(Unicode.Scalar(0x870).map(GPT2PreTokenizer.kind(of:)), .letter)
        if let new = Unicode.Scalar(0x88F), new.properties.age.map({ $0.major >= 17 }) == true {
            XCTAssertEqual(GPT2PreTokenizer.kind(of: new), .other)
        }
        XCTAssertEqual(Unicode.Scalar(0x4E00).map(GPT2PreTokenizer.kind(of:)), .letter)
        XCTAssertEqual(Unicode.Scalar(0x2460).map(GPT2PreTokenizer.kind(of:)), .number)  // ① is No
    }

    // MARK: BPE

    func testLowestRankMergesFirst() throws {
        // "abc": (b,c) has rank 0, so it wins over (a,b) at rank 1.
        let t1 = try Self.byteTokenizer(merges: [("b", "c"), ("a", "b")])
        XCTAssertEqual(t1.encode("abc").map { t1.tokens[$0] }, ["a", "bc"])
        let t2 = try Self.byteTokenizer(merges: [("a", "b"), ("b", "c")])
        XCTAssertEqual(t2.encode("abc").map { t2.tokens[$0] }, ["ab", "c"])
    }

    func testOccurrencesMergeLeftToRightWithoutOverlap() throws {
        let t = try Self.byteTokenizer(merges: [("a", "a"), ("aa", "aa")])
        XCTAssertEqual(t.encode("aaa").map { t.tokens[$0] }, ["aa", "a"])
        XCTAssertEqual(t.encode("aaaaa").map { t.tokens[$0] }, ["aaaa", "a"])
        // The long-word path (heap) gives the same: 101 a's -> 25 x "aaaa" + "a".
        let long = String(repeating: "a", count: 101)
        XCTAssertEqual(t.encode(long).map { t.tokens[$0] }, Array(repeating: "aaaa", count: 25) + ["a"])
    }

    func testShortAndLongMergePathsAgree() throws {
        let tokenizer = try TokenizerTestData.gpt2()
        // Words longer than BPEScratch.shortWord bytes take the heap path; compare with the
        // quadratic path on the same words.
        var generator = TokenizerTestRandom(seed: 7)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzthe".utf8)
        for length in [49, 60, 120, 333] {
            for _ in 0..<20 {
                let word = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
                var viaHeap: [Int32] = [], viaScan: [Int32] = []
                var scratch = BPEScratch()
                word.withUnsafeBufferPointer { tokenizer.model.encodeWord($0, into: &viaHeap, scratch: &scratch, shortWordLimit: 0) }
                word.withUnsafeBufferPointer { tokenizer.model.encodeWord($0, into: &viaScan, scratch: &scratch, shortWordLimit: Int.max) }
                XCTAssertEqual(viaHeap, viaScan)
                XCTAssertEqual(try tokenizer.bytes(of: viaHeap.map { Int($0) }), word)
            }
        }
    }

    func testSpecialTokensAreSplitOutFirst() throws {
        let t = try Self.byteTokenizer(merges: [("<", "|")], special: ["<|endoftext|>", "<|end|>"])
        let eot = t.specialTokens["<|endoftext|>"], end = t.specialTokens["<|end|>"]
        XCTAssertEqual(t.endOfTextId, eot)
        let ids = t.encode("a<|endoftext|><|end|> <|end")
        XCTAssertEqual(ids.map { t.tokens[$0] }, ["a", "<|endoftext|>", "<|end|>", "Ġ", "<|", "e", "n", "d"])
        XCTAssertEqual(ids[1], eot)
        XCTAssertEqual(ids[2], end)
        XCTAssertEqual(try t.decode(ids), "a<|endoftext|><|end|> <|end")
        XCTAssertTrue(t.isSpecial(eot ?? -1))
        XCTAssertFalse(t.isSpecial(97))
    }

    // MARK: decoding

    func testInvalidUTF8DecodesLikePythonReplace() throws {
        let t = try Self.byteTokenizer(merges: [])
        let cases: [([Int], String)] = [
            ([0xE0, 0x80, 0x61], "\u{FFFD}\u{FFFD}a"),
            ([0xC0, 0x80], "\u{FFFD}\u{FFFD}"),
            ([0xF0, 0x9F, 0x98], "\u{FFFD}"),
            ([0xED, 0xA0, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}"),
            ([0xF4, 0x90, 0x80, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
            ([0xE2, 0x82], "\u{FFFD}"),
            ([0xF0, 0x9F, 0x98, 0x80], "😀"),
        ]
        for (ids, expected) in cases { XCTAssertEqual(try t.decode(ids), expected, "bytes \(ids)") }
    }

    func testStreamingHoldsBackEmojiBytesWithTinyVocabulary() throws {
        // tiny-a has no emoji tokens: each emoji is four byte tokens, three of them held back.
        let tokenizer = try GPT2Tokenizer.load(folder: TokenizerTestData.root + "/fixtures/gpt2/tiny-a")
        let ids = tokenizer.encode("a😀🦙")
        XCTAssertEqual(ids.count, 9)
        var decoder = tokenizer.makeStreamingDecoder()
        let outputs = try ids.map { try decoder.feed($0) }
        XCTAssertEqual(outputs, ["a", "", "", "", "😀", "", "", "", "🦙"])
        XCTAssertEqual(decoder.flush(), "")
    }

    func testStreamingHoldsBackSplitEmoji() throws {
        let tokenizer = try TokenizerTestData.gpt2()
        // GPT-2 spells these emoji with tokens that end inside a character.
        let text = "Hi 😀 🤗🦙 ok"
        let ids = tokenizer.encode(text)
        XCTAssertGreaterThan(ids.count, 6)
        XCTAssertTrue(try ids.contains { try tokenizer.decode([$0]).contains("\u{FFFD}") }, "some token holds part of a character")
        var decoder = tokenizer.makeStreamingDecoder()
        var pieces: [String] = []
        for id in ids { pieces.append(try decoder.feed(id)) }
        pieces.append(decoder.flush())
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") }, "streaming never prints a broken character")
        XCTAssertTrue(pieces.contains(""), "something was held back")
    }

    func testStreamingInvalidAndTruncatedBytes() throws {
        let t = try Self.byteTokenizer(merges: [])
        var d = t.makeStreamingDecoder()
        XCTAssertEqual(try d.feed(0xF0), "")
        XCTAssertEqual(try d.feed(0x9F), "")
        XCTAssertEqual(try d.feed(0x98), "")
        XCTAssertEqual(try d.feed(0x80), "😀")
        XCTAssertEqual(try d.feed(0xE2), "")
        XCTAssertEqual(try d.feed(0x61), "\u{FFFD}a", "a byte that cannot continue the character")
        XCTAssertEqual(try d.feed(0xE0), "")
        XCTAssertEqual(try d.feed(0x80), "\u{FFFD}\u{FFFD}", "E0 80 is an overlong start: invalid at once")
        XCTAssertEqual(try d.feed(0xF0), "")
        XCTAssertEqual(d.flush(), "\u{FFFD}", "an incomplete character at the end")
        XCTAssertEqual(d.flush(), "")
        XCTAssertThrowsError(try d.feed(256))
    }

    func testStreamingMatchesBatchDecodingOnRandomBytes() throws {
        let t = try Self.byteTokenizer(merges: [])
        var generator = TokenizerTestRandom(seed: 3)
        let interesting: [Int] = [0x61, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        for _ in 0..<2000 {
            let ids = (0..<Int(generator.next() % 12)).map { _ in interesting[Int(generator.next() % UInt64(interesting.count))] }
            var d = t.makeStreamingDecoder()
            var streamed = ""
            for id in ids { streamed += try d.feed(id) }
            streamed += d.flush()
            XCTAssertEqual(Array(streamed.unicodeScalars), Array(try t.decode(ids).unicodeScalars), "bytes \(ids)")
        }
    }
}

/// A small deterministic generator for test inputs (TokenizerTestRandom64).
struct TokenizerTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
