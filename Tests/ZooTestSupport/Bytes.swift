/// Little-endian byte building for hand-made (often hostile) files in tests.
public struct Bytes {
    public var data: [UInt8] = []
    public init() {}
    public mutating func u8(_ v: UInt8) { data.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    /// A GGUF string: u64 length, then the UTF-8 bytes.
    public mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); data += s.utf8 }
    public mutating func raw(_ b: [UInt8]) { data += b }
    public mutating func text(_ s: String) { data += s.utf8 }
}
