/// The one bounds-checked little-endian cursor every parser uses.
///
/// Every read says which field it reads, so a short file reports
/// "<field>: needs N bytes at offset O, M remain".
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset: Int
    public let path: String

    public init(_ bytes: UnsafeRawBufferPointer, path: String, offset: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func need(_ n: Int, _ field: String) throws {
        if n < 0 || n > remaining {
            throw ZooError("\(field): needs \(n) bytes at offset \(offset), \(max(remaining, 0)) remain", path: path)
        }
    }

    @inline(__always)
    private mutating func load<T: FixedWidthInteger>(_: T.Type, _ field: String) throws -> T {
        try need(MemoryLayout<T>.size, field)
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    public mutating func u8(_ field: String) throws -> UInt8 { try load(UInt8.self, field) }
    public mutating func u16(_ field: String) throws -> UInt16 { try load(UInt16.self, field) }
    public mutating func u32(_ field: String) throws -> UInt32 { try load(UInt32.self, field) }
    public mutating func u64(_ field: String) throws -> UInt64 { try load(UInt64.self, field) }
    public mutating func i8(_ field: String) throws -> Int8 { try load(Int8.self, field) }
    public mutating func i16(_ field: String) throws -> Int16 { try load(Int16.self, field) }
    public mutating func i32(_ field: String) throws -> Int32 { try load(Int32.self, field) }
    public mutating func i64(_ field: String) throws -> Int64 { try load(Int64.self, field) }
    public mutating func f32(_ field: String) throws -> Float { Float(bitPattern: try u32(field)) }
    public mutating func f64(_ field: String) throws -> Double { Double(bitPattern: try u64(field)) }

    /// A u64 length or count that must fit in Int and be at most `limit`. A negative limit (callers
    /// pass "bytes left minus a record size", which a short file makes negative) allows only 0.
    public mutating func count(_ field: String, limit: Int) throws -> Int {
        let at = offset
        let raw = try u64(field)
        let limit = max(limit, 0)
        if raw > UInt64(limit) {
            throw ZooError("\(field) at offset \(at) is \(raw), more than the limit \(limit)", path: path)
        }
        return Int(raw)
    }

    /// `n` raw bytes (a view into the buffer, no copy).
    public mutating func slice(_ n: Int, _ field: String) throws -> UnsafeRawBufferPointer {
        try need(n, field)
        let view = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        offset += n
        return view
    }

    /// A string of `n` bytes that must be valid UTF-8.
    public mutating func utf8(_ n: Int, _ field: String) throws -> String {
        let at = offset
        let raw = try slice(n, field)
        guard let text = String(validatingUTF8Bytes: raw) else {
            throw ZooError("\(field) at offset \(at) is not valid UTF-8", path: path)
        }
        return text
    }

    public mutating func skip(_ n: Int, _ field: String) throws {
        try need(n, field)
        offset += n
    }

    public mutating func seek(to position: Int, _ field: String) throws {
        if position < 0 || position > bytes.count {
            throw ZooError("\(field): offset \(position) is outside the file of \(bytes.count) bytes", path: path)
        }
        offset = position
    }
}

extension String {
    /// Decodes UTF-8, returning nil (not replacing) on invalid sequences.
    public init?(validatingUTF8Bytes raw: UnsafeRawBufferPointer) {
        guard let s = String(validating: raw, as: UTF8.self) else { return nil }
        self = s
    }
}
