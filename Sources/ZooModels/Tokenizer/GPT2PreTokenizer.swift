/// GPT-2's pre-tokenizer: splits text into the pieces that BPE then encodes one by one, exactly as
/// the regular expression
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// does under Hugging Face tokenizers (Oniguruma): at each position the first alternative that
/// matches wins, each `+` is greedy. Written by hand over Unicode scalars, because Swift's Regex
/// is slow and its `\s` is not Oniguruma's.
///
/// Character classes, as checked against tokenizers 0.23 on every code point:
/// - `\p{L}`: general category L* (Lu, Ll, Lt, Lm, Lo); `\p{N}`: Nd, Nl, No.
/// - `\s`: the Unicode White_Space property (U+0009...U+000D, U+0020, U+0085, U+00A0, U+1680,
///   U+2000...U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). Not Python's `str.isspace`, which
///   also counts U+001C...U+001F.
/// - Oniguruma's tables (in tokenizers 0.23) are Unicode 16.0, Swift 6.3's are Unicode 17.0: the
///   4,657 letters and numbers first assigned in Unicode 17 are "other" to Hugging Face, so they
///   are "other" here too (by their Unicode age). With that, all 1,112,064 scalars classify as in
///   tokenizers 0.23.
/// - The contractions are case-sensitive (`'S` is not one) and use the ASCII apostrophe only.
public enum GPT2PreTokenizer {
    /// What the regex needs to know about a scalar.
    @usableFromInline
    enum Kind: UInt8, Sendable { case other = 0, letter, number, space }

    /// ASCII classes, so plain English text never consults the Unicode tables.
    private static let asciiKinds: [Kind] = (0..<128).map { v -> Kind in
        switch v {
        case 0x41...0x5A, 0x61...0x7A: return .letter
        case 0x30...0x39: return .number
        case 0x09...0x0D, 0x20: return .space
        default: return .other
        }
    }

    /// The Unicode version of the reference's character tables (see above).
    static let referenceUnicodeVersion = (major: 16, minor: 0)

    static func kind(of scalar: Unicode.Scalar) -> Kind {
        if scalar.value < 128 { return asciiKinds[Int(scalar.value)] }
        let properties = scalar.properties
        let kind: Kind
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            kind = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            kind = .number
        default:
            return properties.isWhitespace ? .space : .other
        }
        if let age = properties.age, (age.major, age.minor) > referenceUnicodeVersion { return .other }
        return kind
    }

    /// The pieces of `text`, as strings (for tests and tools; encoding uses `forEachPiece`).
    public static func split(_ text: String) -> [String] {
        var copy = text
        return copy.withUTF8 { utf8 in
            var pieces: [String] = []
            forEachPiece(in: utf8) { range in
                pieces.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[range]), as: UTF8.self))
            }
            return pieces
        }
    }

    /// Calls `body` with the byte range of each piece of `utf8` (valid UTF-8), left to right.
    /// The ranges cover the input exactly, without gaps.
    static func forEachPiece(in utf8: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        // Decode once: the kind of each scalar and where it starts (offsets[n] = byte count).
        var kinds: [Kind] = []
        var offsets: [Int] = []
        kinds.reserveCapacity(utf8.count)
        offsets.reserveCapacity(utf8.count + 1)
        var at = 0
        while at < utf8.count {
            let lead = utf8[at]
            offsets.append(at)
            if lead < 0x80 {
                kinds.append(asciiKinds[Int(lead)])
                at += 1
                continue
            }
            // Valid UTF-8 (it came from a String), so the lead byte gives the length.
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            var value = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            var k = 1
            while k < length && at + k < utf8.count {
                value = value << 6 | (UInt32(utf8[at + k]) & 0x3F)
                k += 1
            }
            kinds.append(Unicode.Scalar(value).map(kind(of:)) ?? .other)
            at += length
        }
        let n = kinds.count
        offsets.append(utf8.count)

        @inline(__always) func byte(_ i: Int) -> UInt8 { utf8[offsets[i]] }  // first byte of scalar i
        @inline(__always) func emit(_ from: Int, _ to: Int) { body(offsets[from]..<offsets[to]) }

        var i = 0
        while i < n {
            // 's|'t|'re|'ve|'m|'ll|'d  (ASCII, case-sensitive)
            if byte(i) == UInt8(ascii: "'") && i + 1 < n {
                let c1 = byte(i + 1)
                if c1 == UInt8(ascii: "s") || c1 == UInt8(ascii: "t") || c1 == UInt8(ascii: "m") || c1 == UInt8(ascii: "d") {
                    emit(i, i + 2); i += 2; continue
                }
                if i + 2 < n {
                    let c2 = byte(i + 2)
                    if (c1 == UInt8(ascii: "r") && c2 == UInt8(ascii: "e")) || (c1 == UInt8(ascii: "v") && c2 == UInt8(ascii: "e"))
                        || (c1 == UInt8(ascii: "l") && c2 == UInt8(ascii: "l")) {
                        emit(i, i + 3); i += 3; continue
                    }
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional U+0020, then a run of one kind.
            // The optional space is taken only when a non-space follows it.
            var runStart = i
            if byte(i) == 0x20 && i + 1 < n && kinds[i + 1] != .space { runStart = i + 1 }
            let kind = kinds[runStart]
            if kind != .space {
                var end = runStart + 1
                while end < n && kinds[end] == kind { end += 1 }
                emit(i, end); i = end; continue
            }
            // `\s+(?!\S)` then `\s+`: a whitespace run at the end of the text is one piece; before a
            // non-space, the run leaves its last character to start the next piece (unless the run
            // is a single character, which `\s+` then takes alone).
            var end = i + 1
            while end < n && kinds[end] == .space { end += 1 }
            if end < n && end - i >= 2 { end -= 1 }
            emit(i, end); i = end
        }
    }
}
