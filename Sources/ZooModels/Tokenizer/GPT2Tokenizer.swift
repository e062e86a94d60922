import ZooTensor

/// GPT-2's byte-level BPE tokenizer, equivalent to Hugging Face's `GPT2TokenizerFast` with its
/// defaults (`encode(text, add_special_tokens=False)`, `decode(ids)`): special tokens in the text
/// are split out first, the rest goes through GPT-2's pre-tokenizer regex, each piece's UTF-8 bytes
/// through the byte alphabet and BPE. No BOS/EOS is added and no prefix space (unless a
/// tokenizer.json asks for one).
///
/// Stages, one file each: `SpecialTokens` -> `GPT2PreTokenizer` -> `ByteLevelAlphabet` ->
/// `BPEModel`; decoding maps tokens back to bytes and UTF-8-decodes them, replacing invalid
/// sequences with U+FFFD. Loading (tokenizer.json, vocab.json + merges.txt, GGUF) is in
/// `GPT2TokenizerLoading.swift`; incremental decoding in `GPT2StreamingDecoder.swift`.
public final class GPT2Tokenizer: Sendable {
    /// Token strings, index = id (byte-level alphabet for ordinary tokens; special tokens as written).
    public let tokens: [String]
    /// Merges in rank order, each `"left right"` (as merges.txt and GGUF store them).
    public let merges: [String]
    /// Special/added token content -> id (split out of the text before BPE).
    public let specialTokens: [String: Int]
    /// The id of `<|endoftext|>` (or the GGUF file's end-of-sequence token), if there is one.
    public let endOfTextId: Int?

    let model: BPEModel
    let specials: SpecialTokens
    /// Hugging Face's ByteLevel `add_prefix_space`: a space is put before each text segment that
    /// does not start with one. False for GPT-2.
    let addPrefixSpace: Bool
    /// The bytes each id decodes to.
    let tokenBytes: [[UInt8]]

    public var vocabularySize: Int { tokens.count }

    /// Builds the tokenizer from parts already checked for shape by a loader.
    /// - tokens: index = id, dense.
    /// - special: ids of the special/added tokens.
    /// - mergePairs: (left, right, where) in rank order; `where` names the line for errors.
    init(tokens: [String], special: Set<Int>, mergePairs: [(left: String, right: String, location: String)],
         addPrefixSpace: Bool, endOfTextId: Int?, what: String, path: String?) throws {
        // Ids are kept as Int32 while encoding.
        if tokens.count > Int(Int32.max) { throw ZooError("\(what): \(tokens.count) tokens; at most \(Int32.max) are supported", path: path) }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        var specialTokens: [String: Int] = [:]
        var tokenBytes: [[UInt8]] = []
        tokenBytes.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            if let other = vocabulary.updateValue(id, forKey: token) {
                throw ZooError("\(what): the token \"\(token)\" appears twice, as ids \(other) and \(id)", path: path)
            }
            if special.contains(id) {
                specialTokens[token] = id
                if token.isEmpty { throw ZooError("\(what): special token \(id) is the empty string", path: path) }
                // Hugging Face's ByteLevel decoder: through the alphabet when every character is in
                // it, else the token's own UTF-8.
                tokenBytes.append(ByteLevelAlphabet.decode(token) ?? Array(token.utf8))
                continue
            }
            guard let bytes = ByteLevelAlphabet.decode(token) else {
                let bad = token.unicodeScalars.first { ByteLevelAlphabet.byte(for: $0) == nil }
                let code = bad.map { "U+" + String($0.value, radix: 16, uppercase: true) } ?? "?"
                throw ZooError("\(what): token \(id) \"\(token)\" has the character \(code), which is not in GPT-2's byte-level alphabet", path: path)
            }
            if bytes.isEmpty { throw ZooError("\(what): token \(id) is the empty string", path: path) }
            tokenBytes.append(bytes)
        }
        self.tokens = tokens
        self.merges = mergePairs.map { $0.left + " " + $0.right }
        self.specialTokens = specialTokens
        self.endOfTextId = endOfTextId ?? specialTokens["<|endoftext|>"] ?? vocabulary["<|endoftext|>"]
        self.model = try BPEModel(vocabulary: vocabulary, merges: mergePairs, path: path)
        self.specials = SpecialTokens(specialTokens)
        self.addPrefixSpace = addPrefixSpace
        self.tokenBytes = tokenBytes
    }

    /// The ids of `text`. Never fails: every byte has a token (see `BPEModel` for the one exception).
    public func encode(_ text: String) -> [Int] {
        var copy = text
        let ids: [Int32] = copy.withUTF8 { utf8 in
            var out: [Int32] = []
            out.reserveCapacity(utf8.count / 3 + 1)
            var cache = WordCache()
            var scratch = BPEScratch()
            specials.forEachSegment(in: utf8) { segment in
                switch segment {
                case .special(let id):
                    out.append(id)
                case .text(let range):
                    let text = UnsafeBufferPointer(rebasing: utf8[range])
                    if addPrefixSpace && text.first != 0x20 {
                        // A new buffer: its words must not enter the call's cache, whose keys point
                        // into `utf8`.
                        let prefixed = [0x20] + Array(text)
                        prefixed.withUnsafeBufferPointer { buffer in
                            var local = WordCache()
                            encodeText(buffer, into: &out, cache: &local, scratch: &scratch)
                        }
                    } else {
                        encodeText(text, into: &out, cache: &cache, scratch: &scratch)
                    }
                }
            }
            return out
        }
        return ids.map { Int($0) }
    }

    /// Pre-tokenizes `text` (no special tokens in it) and BPE-encodes each piece.
    private func encodeText(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Int32],
                            cache: inout WordCache, scratch: inout BPEScratch) {
        GPT2PreTokenizer.forEachPiece(in: text) { range in
            let word = UnsafeBufferPointer(rebasing: text[range])
            if cache.append(word, to: &out) { return }
            let start = out.count
            model.encodeWord(word, into: &out, scratch: &scratch)
            if word.count > 1 { cache.store(word, ids: out[start...]) }
        }
    }

    /// The text of `ids`. Invalid UTF-8 (a multi-byte character cut off, or a token sequence no
    /// real text produces) becomes U+FFFD, one per maximal invalid subsequence, as Python's
    /// `errors="replace"` and Rust's `from_utf8_lossy` (Hugging Face) do.
    public func decode(_ ids: [Int]) throws -> String {
        String(decoding: try bytes(of: ids), as: UTF8.self)
    }

    /// The raw bytes of `ids`, before UTF-8 decoding.
    public func bytes(of ids: [Int]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids { bytes.append(contentsOf: try self.bytes(of: id)) }
        return bytes
    }

    /// The bytes of one token; an id outside the vocabulary is an error.
    public func bytes(of id: Int) throws -> [UInt8] {
        guard id >= 0 && id < tokenBytes.count else {
            throw ZooError("token id \(id) is out of range: the vocabulary has \(tokenBytes.count) tokens (ids 0...\(tokenBytes.count - 1))")
        }
        return tokenBytes[id]
    }

    /// True for special/added tokens (GGUF token type 3), false for ordinary ones (type 1).
    public func isSpecial(_ id: Int) -> Bool {
        id >= 0 && id < tokens.count && specialTokens[tokens[id]] == id
    }
}
