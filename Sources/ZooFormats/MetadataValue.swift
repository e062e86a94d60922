import ZooTensor

/// GGUF metadata value types (gguf.h `enum gguf_type`); safetensors metadata uses strings only.
public enum MetadataType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Size of one element, nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    public var name: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .float32: return "f32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float64: return "f64"
        }
    }
}

/// One typed metadata value. The type is kept so a GGUF file round-trips with the same types
/// (llama.cpp checks them exactly).
public enum MetadataValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(MetadataArray)

    public var type: MetadataType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// The value as an integer, when it is one of the integer types and fits.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(exactly: v)
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var array: MetadataArray? { if case .array(let a) = self { return a }; return nil }

    /// JSON form for `zoo inspect --json`.
    public var json: JSONValue {
        switch self {
        case .uint8(let v): return .int(Int64(v))
        case .int8(let v): return .int(Int64(v))
        case .uint16(let v): return .int(Int64(v))
        case .int16(let v): return .int(Int64(v))
        case .uint32(let v): return .int(Int64(v))
        case .int32(let v): return .int(Int64(v))
        case .uint64(let v): return v > UInt64(Int64.max) ? .uint(v) : .int(Int64(v))
        case .int64(let v): return .int(v)
        case .float32(let v): return .double(Double(v))
        case .float64(let v): return .double(v)
        case .bool(let v): return .bool(v)
        case .string(let v): return .string(v)
        case .array(let a): return .array((0..<a.count).map { a[$0].json })
        }
    }

    /// Short human form for `zoo inspect`: arrays are summarised.
    public var summary: String {
        switch self {
        case .string(let s):
            let clipped = s.count > 80 ? String(s.prefix(77)) + "..." : s
            return "\"" + clipped.replacingOccurrences(of: "\n", with: "\\n") + "\""
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return v ? "true" : "false"
        case .array(let a):
            let shown = (0..<min(a.count, 4)).map { a[$0].summary }.joined(separator: ", ")
            return "[\(a.count) x \(a.elementType.name)] [" + shown + (a.count > 4 ? ", ...]" : "]")
        case .uint64(let v): return String(v)
        default: return int.map(String.init) ?? "?"
        }
    }
}

/// A metadata array. Fixed-size elements stay a view into the file and strings are decoded on
/// access, so a header never makes Zoo allocate much more than the file holds.
public struct MetadataArray: Sendable, Equatable {
    public let elementType: MetadataType
    public let count: Int
    private let storage: Storage

    private enum Storage: @unchecked Sendable {
        case raw(UnsafeRawBufferPointer, owner: AnyObject)       // fixed-size elements, little-endian
        case fileStrings(UnsafeRawBufferPointer, offsets: [Int], owner: AnyObject)  // offset of each length prefix
        case values([MetadataValue])                             // built in memory (writers, tests)
    }

    public static func == (a: MetadataArray, b: MetadataArray) -> Bool {
        a.elementType == b.elementType && a.count == b.count && (0..<a.count).allSatisfy { a[$0] == b[$0] }
    }

    /// An array built in memory; all values must have `elementType`.
    public init(_ elementType: MetadataType, _ values: [MetadataValue]) {
        self.elementType = elementType
        self.count = values.count
        self.storage = .values(values)
    }

    public static func strings(_ values: [String]) -> MetadataArray { MetadataArray(.string, values.map { .string($0) }) }

    init(fixed type: MetadataType, count: Int, raw: UnsafeRawBufferPointer, owner: AnyObject) {
        elementType = type
        self.count = count
        storage = .raw(raw, owner: owner)
    }

    init(stringsIn file: UnsafeRawBufferPointer, offsets: [Int], owner: AnyObject) {
        elementType = .string
        count = offsets.count
        storage = .fileStrings(file, offsets: offsets, owner: owner)
    }

    public subscript(i: Int) -> MetadataValue {
        switch storage {
        case .values(let values): return values[i]
        case .fileStrings(let file, let offsets, _):
            let at = offsets[i]
            let n = Int(UInt64(littleEndian: file.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            return .string(String(decoding: UnsafeRawBufferPointer(rebasing: file[(at + 8)..<(at + 8 + n)]), as: UTF8.self))
        case .raw(let raw, _):
            let size = elementType.fixedSize ?? 1
            let o = i * size
            switch elementType {
            case .uint8: return .uint8(raw[o])
            case .int8: return .int8(Int8(bitPattern: raw[o]))
            case .bool: return .bool(raw[o] != 0)
            case .uint16: return .uint16(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            case .int16: return .int16(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
            case .uint32: return .uint32(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            case .int32: return .int32(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
            case .float32: return .float32(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))))
            case .uint64: return .uint64(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
            case .int64: return .int64(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
            case .float64: return .float64(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
            case .string, .array: return .bool(false)  // not stored raw
            }
        }
    }

    /// All elements as strings (nil when the array is not of strings).
    public func strings() -> [String]? {
        guard elementType == .string else { return nil }
        return (0..<count).map { self[$0].string ?? "" }
    }

    /// All elements as integers (nil when not an integer array).
    public func integers() -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let v = self[i].int else { return nil }
            out.append(v)
        }
        return out
    }

    public func doubles() -> [Double]? {
        var out: [Double] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let v = self[i].double else { return nil }
            out.append(v)
        }
        return out
    }
}
