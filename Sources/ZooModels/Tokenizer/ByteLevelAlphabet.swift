/// GPT-2's byte-level alphabet: a bijection between the 256 byte values and 256 printable Unicode
/// scalars, so that every byte string can be written as a string of visible characters (and BPE
/// vocabularies never contain raw control bytes or spaces).
///
/// The 188 bytes that are already printable and not a space keep their own code point:
/// 0x21...0x7E (`!`...`~`), 0xA1...0xAC (`¡`...`¬`) and 0xAE...0xFF (`®`...`ÿ`).
/// The remaining 68 bytes, in increasing byte order, take U+0100, U+0101, ... U+0143; so space
/// 0x20 is `Ġ` (U+0120) and newline 0x0A is `Ċ` (U+010A). See format-facts.md section 4.
public enum ByteLevelAlphabet {
    /// The scalar value that stands for each byte.
    public static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 0x100
        for b in 0..<256 {
            if keepsItsCodePoint(UInt8(b)) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The inverse: indexed by scalar value (all 256 scalars are below U+0144); -1 where the
    /// scalar is not in the alphabet.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for b in 0..<256 { table[Int(scalarForByte[b])] = Int16(b) }
        return table
    }()

    /// The same as `scalarForByte`, as the UTF-8 bytes of that character (1 or 2 bytes), so
    /// encoding a byte string is a table copy.
    static let utf8ForByte: [[UInt8]] = scalarForByte.map { value in
        guard let scalar = Unicode.Scalar(value) else { return [] }
        return Array(String(Character(scalar)).utf8)
    }

    private static func keepsItsCodePoint(_ b: UInt8) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    /// The byte a scalar stands for, or nil if the scalar is outside the alphabet.
    @inline(__always)
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let v = Int(scalar.value)
        guard v < byteForScalar.count else { return nil }
        let b = byteForScalar[v]
        return b < 0 ? nil : UInt8(b)
    }

    /// Writes bytes in the alphabet: `[0x20, 0x68, 0x69]` -> `"Ġhi"`.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(bytes.count * 2)
        for b in bytes { utf8.append(contentsOf: utf8ForByte[Int(b)]) }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// The bytes a token string stands for, or nil when one of its characters is outside the
    /// alphabet (then the string is not a byte-level token).
    public static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let b = byte(for: scalar) else { return nil }
            bytes.append(b)
        }
        return bytes
    }
}
