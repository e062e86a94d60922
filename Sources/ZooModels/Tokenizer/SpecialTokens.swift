/// Added and special tokens (`<|endoftext|>`, ...): found in the text before pre-tokenization and
/// mapped straight to their ids, as Hugging Face's tokenizers does by default (its added-token
/// split, leftmost-longest match). They come from `added_tokens` in tokenizer.json, from vocab.json
/// entries written like `<|...|>` when there is no tokenizer.json, or from GGUF tokens of type 3
/// (control) and 4 (user-defined).
///
/// Hugging Face's per-token options `lstrip`, `rstrip`, `single_word` and `normalized` are not
/// implemented: GPT-2's tokens set none of them (`normalized` has no effect without a normalizer).
struct SpecialTokens: Sendable {
    /// One text segment: ordinary text to pre-tokenize, or one special token.
    enum Segment: Equatable {
        case text(Range<Int>)
        case special(Int32)
    }

    /// content -> id
    let ids: [String: Int]
    /// The tokens' UTF-8 bytes grouped by first byte, longest first (so the first hit is the
    /// longest at that position).
    private let byFirstByte: [[(bytes: [UInt8], id: Int32)]]

    init(_ ids: [String: Int]) {
        self.ids = ids
        var groups = [[(bytes: [UInt8], id: Int32)]](repeating: [], count: 256)
        for (content, id) in ids {
            let bytes = Array(content.utf8)
            guard let first = bytes.first else { continue }  // an empty token can never be matched
            groups[Int(first)].append((bytes, Int32(id)))
        }
        for b in 0..<256 {
            groups[b].sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.bytes.lexicographicallyPrecedes($1.bytes) }
        }
        byFirstByte = groups
    }

    var isEmpty: Bool { ids.isEmpty }

    /// Splits `utf8` into text segments and special tokens, left to right. Text segments are never
    /// empty. A special token's first byte is a UTF-8 lead byte, so a match never starts inside a
    /// character.
    func forEachSegment(in utf8: UnsafeBufferPointer<UInt8>, _ body: (Segment) -> Void) {
        var textStart = 0
        var i = 0
        let n = utf8.count
        outer: while i < n {
            for candidate in byFirstByte[Int(utf8[i])] where candidate.bytes.count <= n - i {
                var k = 1
                while k < candidate.bytes.count && utf8[i + k] == candidate.bytes[k] { k += 1 }
                if k == candidate.bytes.count {
                    if textStart < i { body(.text(textStart..<i)) }
                    body(.special(candidate.id))
                    i += k
                    textStart = i
                    continue outer
                }
            }
            i += 1
        }
        if textStart < n { body(.text(textStart..<n)) }
    }
}
