extension GPT2Tokenizer {
    /// Decodes ids one at a time (during generation) into text that can be printed at once.
    ///
    /// A token may end in the middle of a UTF-8 character (GPT-2 splits most emoji over two or
    /// three tokens), so the bytes of an incomplete character at the end are held back until the
    /// next token completes them. Bytes that can no longer become valid are replaced by U+FFFD
    /// right away. The concatenation of every `feed` result and the final `flush` equals
    /// `decode(allIds)` exactly.
    public struct StreamingDecoder: Sendable {
        public let tokenizer: GPT2Tokenizer
        /// Bytes of a possibly incomplete character (at most 3).
        private var pending: [UInt8] = []

        public init(tokenizer: GPT2Tokenizer) {
            self.tokenizer = tokenizer
        }

        /// The text completed by `id` (possibly empty). An id outside the vocabulary is an error
        /// (and changes nothing).
        public mutating func feed(_ id: Int) throws -> String {
            pending.append(contentsOf: try tokenizer.bytes(of: id))
            let keep = GPT2Tokenizer.incompleteSuffixLength(pending)
            let ready = pending.count - keep
            if ready == 0 { return "" }
            let text = String(decoding: pending[..<ready], as: UTF8.self)
            pending.removeFirst(ready)
            return text
        }

        /// The text held back (an incomplete character at the very end becomes U+FFFD). The
        /// decoder is empty afterwards and can be reused.
        public mutating func flush() -> String {
            defer { pending.removeAll() }
            return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
        }
    }

    public func makeStreamingDecoder() -> StreamingDecoder { StreamingDecoder(tokenizer: self) }

    /// How many bytes at the end of `bytes` are the start of a UTF-8 character that later bytes
    /// could still complete (0 when the end is complete or already invalid).
    ///
    /// Why holding back exactly these is safe: they begin with a lead byte (0xC2...0xF4), which a
    /// lossy decoder always treats as the start of a new character, so decoding what comes before
    /// them separately gives the same text as decoding everything at once.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Find the last lead (non-continuation) byte within the last 3 bytes.
        var start = n - 1
        while start >= 0 && start >= n - 3 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 && start >= n - 3 else { return 0 }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return 0  // ASCII or a byte that can never start a character
        }
        let have = n - start
        if have >= needed { return 0 }  // complete (or invalid: either way nothing to wait for)
        if have >= 2 {
            // The second byte's allowed range depends on the lead (no overlongs, no surrogates,
            // nothing above U+10FFFF); later bytes are plain continuations, already checked above.
            let second = bytes[start + 1]
            let allowed: ClosedRange<UInt8>
            switch lead {
            case 0xE0: allowed = 0xA0...0xBF
            case 0xED: allowed = 0x80...0x9F
            case 0xF0: allowed = 0x90...0xBF
            case 0xF4: allowed = 0x80...0x8F
            default: allowed = 0x80...0xBF
            }
            if !allowed.contains(second) { return 0 }
        }
        return have
    }
}
