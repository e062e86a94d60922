import ZooTensor

/// The header of a `.npy` array (NEP 1 / numpy `_format_impl`): magic, version, a Python dict
/// literal with exactly `descr`, `fortran_order` and `shape`.
public struct NpyHeader: Equatable, Sendable {
    public var dtype: DType
    public var bigEndian: Bool
    public var fortranOrder: Bool
    public var shape: Shape
    /// Offset of the data from the start of the .npy bytes.
    public var dataOffset: Int

    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    public static let maxHeaderBytes = 1 << 20

    /// Parses the header at the start of `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> NpyHeader {
        var r = ByteReader(bytes, path: path)
        let magicBytes = try r.slice(6, "npy magic")
        if !magicBytes.elementsEqual(magic) { throw ZooError("not a .npy array: bad magic (expected \\x93NUMPY)", path: path) }
        let major = try r.u8("npy major version"), minor = try r.u8("npy minor version")
        let length: Int
        switch (major, minor) {
        case (1, 0): length = Int(try r.u16("npy header length"))
        case (2, 0), (3, 0): length = Int(try r.u32("npy header length"))
        default: throw ZooError("unsupported .npy version \(major).\(minor) (expected 1.0, 2.0 or 3.0)", path: path)
        }
        if length > maxHeaderBytes { throw ZooError(".npy header of \(length) bytes is more than the limit \(maxHeaderBytes)", path: path) }
        let raw = try r.slice(length, "npy header")
        // v1/v2 headers are latin-1, v3 UTF-8; the keys and values Zoo accepts are ASCII either way.
        var text = String(decoding: raw, as: Unicode.ASCII.self)
        if raw.contains(where: { $0 >= 0x80 }) {
            if major == 3, let utf8 = String(validatingUTF8Bytes: raw) { text = utf8 }
            else { text = String(raw.map { Character(Unicode.Scalar($0)) }) }
        }
        var parser = DictLiteralParser(text: text, path: path)
        let dict = try parser.parseDict()
        let keys = Set(dict.keys)
        if keys != ["descr", "fortran_order", "shape"] {
            throw ZooError(".npy header must have exactly the keys descr, fortran_order and shape; found \(keys.sorted())", path: path)
        }
        guard case .string(let descr)? = dict["descr"] else {
            throw ZooError(".npy descr is not a simple type string (structured arrays are not supported)", path: path)
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw ZooError(".npy fortran_order is not True or False", path: path) }
        guard case .tuple(let dims)? = dict["shape"] else { throw ZooError(".npy shape is not a tuple of integers", path: path) }
        let (dtype, bigEndian) = try parseDescr(descr, path: path)
        return NpyHeader(dtype: dtype, bigEndian: bigEndian, fortranOrder: fortran, shape: Shape(dims), dataOffset: r.offset)
    }

    /// numpy descr strings: byte order (<, >, |, =) then kind and size, or a one-letter alias.
    static func parseDescr(_ descr: String, path: String) throws -> (DType, Bool) {
        let aliases: [String: String] = ["e": "f2", "f": "f4", "d": "f8", "b": "i1", "B": "u1", "h": "i2", "H": "u2",
                                         "i": "i4", "I": "u4", "q": "i8", "Q": "u8", "l": "i8", "L": "u8", "?": "b1"]
        var body = Substring(descr)
        var bigEndian = false
        if let first = body.first, "<>|=".contains(first) {
            bigEndian = first == ">"
            body = body.dropFirst()
        }
        let code = aliases[String(body)] ?? String(body)
        let table: [String: DType] = ["f2": .f16, "f4": .f32, "f8": .f64, "i1": .i8, "i2": .i16, "i4": .i32, "i8": .i64,
                                      "u1": .u8, "u2": .u16, "u4": .u32, "u8": .u64, "b1": .bool]
        guard let dtype = table[code] else {
            throw ZooError(".npy descr '\(descr)' is not a supported numeric type (f2/f4/f8, i1-i8, u1-u8, b1)", path: path)
        }
        return (dtype, bigEndian && dtype.bytesPerBlock > 1)
    }

    /// The descr Zoo writes for `dtype` (little-endian), nil where numpy has no such type (bf16, blocks).
    public static func descr(for dtype: DType) -> String? {
        switch dtype {
        case .f16: return "<f2"
        case .f32: return "<f4"
        case .f64: return "<f8"
        case .i8: return "|i1"
        case .i16: return "<i2"
        case .i32: return "<i4"
        case .i64: return "<i8"
        case .u8: return "|u1"
        case .u16: return "<u2"
        case .u32: return "<u4"
        case .u64: return "<u8"
        case .bool: return "|b1"
        default: return nil
        }
    }

    /// The complete header bytes numpy would write (version 1.0 unless too long), padded with
    /// spaces so the data starts at a multiple of 64.
    public static func encode(dtype: DType, shape: Shape) throws -> [UInt8] {
        guard let descr = descr(for: dtype) else { throw ZooError(".npy cannot hold \(dtype.name) values") }
        let dims = shape.dims.map(String.init)
        let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        var prefixLength = 10
        if dict.utf8.count + 1 + 10 > 65535 { prefixLength = 12 }
        let total = prefixLength + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = magic
        if prefixLength == 10 {
            out += [1, 0, UInt8(dict.utf8.count & 0xFF), UInt8(dict.utf8.count >> 8)]
        } else {
            let n = UInt32(dict.utf8.count)
            out += [2, 0, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
        }
        out += Array(dict.utf8)
        return out
    }
}

/// Just enough of Python's literal syntax for .npy headers: a dict of quoted-string keys to
/// strings, True/False, and tuples of non-negative integers.
struct DictLiteralParser {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]) }
    let chars: [Character]
    var i = 0
    let path: String

    init(text: String, path: String) {
        chars = Array(text)
        self.path = path
    }

    mutating func fail(_ what: String) -> ZooError {
        ZooError(".npy header: \(what) at character \(i) of \"\(String(chars.prefix(120)))\"", path: path)
    }

    mutating func skipSpace() { while i < chars.count && chars[i].isWhitespace { i += 1 } }

    mutating func expect(_ c: Character) throws {
        skipSpace()
        guard i < chars.count, chars[i] == c else { throw fail("expected '\(c)'") }
        i += 1
    }

    mutating func parseDict() throws -> [String: Value] {
        try expect("{")
        var out: [String: Value] = [:]
        while true {
            skipSpace()
            if i < chars.count && chars[i] == "}" { i += 1; break }
            let key = try parseString()
            try expect(":")
            if out[key] != nil { throw fail("duplicate key '\(key)'") }
            out[key] = try parseValue()
            skipSpace()
            if i < chars.count && chars[i] == "," { i += 1; continue }
            try expect("}")
            break
        }
        skipSpace()
        if i != chars.count { throw fail("unexpected text after the dict") }
        return out
    }

    mutating func parseString() throws -> String {
        skipSpace()
        guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else { throw fail("expected a quoted string") }
        let quote = chars[i]
        i += 1
        var s = ""
        while i < chars.count && chars[i] != quote {
            if chars[i] == "\\" { throw fail("escapes are not supported in header strings") }
            s.append(chars[i]); i += 1
        }
        guard i < chars.count else { throw fail("unterminated string") }
        i += 1
        return s
    }

    mutating func parseValue() throws -> Value {
        skipSpace()
        guard i < chars.count else { throw fail("expected a value") }
        if chars[i] == "'" || chars[i] == "\"" { return .string(try parseString()) }
        if chars[i] == "(" {
            i += 1
            var dims: [Int] = []
            while true {
                skipSpace()
                if i < chars.count && chars[i] == ")" { i += 1; break }
                var digits = ""
                while i < chars.count, chars[i].isASCII, chars[i].isNumber { digits.append(chars[i]); i += 1 }
                if i < chars.count && chars[i] == "L" { i += 1 }  // Python 2 long suffix
                guard !digits.isEmpty else { throw fail("expected a non-negative integer in shape") }
                guard digits.count <= 19, let v = Int(digits) else { throw fail("shape entry \(digits) is too large") }
                dims.append(v)
                skipSpace()
                if i < chars.count && chars[i] == "," { i += 1; continue }
                try expect(")")
                break
            }
            return .tuple(dims)
        }
        for (word, value) in [("True", true), ("False", false)] where chars[i...].starts(with: word) {
            i += word.count
            return .bool(value)
        }
        throw fail("unsupported value")
    }
}
