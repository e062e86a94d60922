import Foundation
import ZooTensor

/// Writes GGUF v3 as ggml's reader requires: KVs, tensor infos (ggml `ne` = shape reversed),
/// zero padding to the alignment, then each tensor in info order padded to the alignment.
public final class GGUFWriter: ChunkedCheckpointWriter {
    public let path: String
    private let output: AtomicOutput
    private var order: WriteOrder
    /// Guards `order` for positioned writes from several threads.
    private let lock = NSLock()
    private var alignment = GGUFReader.defaultAlignment
    /// Absolute file offset where tensor data starts (after the header and its padding).
    public private(set) var dataStart = 0
    /// For each metadata key, where its encoded value (type code included) sits in the header.
    private var valueRanges: [String: Range<Int>] = [:]

    /// The temporary file the bytes go to until `finish()` (readable while writing, for checks).
    public var temporaryPath: String { output.temporaryPath }

    public init(path: String, force: Bool) throws {
        self.path = path
        output = try AtomicOutput(path: path, force: force)
        order = WriteOrder(path: path)
    }

    public static func canStore(_ dtype: DType) -> Bool { dtype.ggmlType != nil }

    public func begin(metadata: [MetadataEntry], tensors: [TensorSpec]) throws {
        var out = GGUFEncoder()
        out.u32(0x4655_4747)
        out.u32(3)
        out.u64(UInt64(tensors.count))
        out.u64(UInt64(metadata.count))
        var keys = Set<String>()
        for entry in metadata {
            if !keys.insert(entry.key).inserted { throw ZooError("metadata key '\(entry.key)' given twice", path: path) }
            if entry.key == "general.alignment" {
                guard case .uint32(let a) = entry.value, a > 0, a & (a - 1) == 0 else {
                    throw ZooError("general.alignment must be a u32 power of two", path: path)
                }
                // Carried over from an input file, 2^31 made a 45-byte GGUF convert into 2 GiB of
                // padding. ggml writes 32; 64 KiB covers every page size.
                guard a <= GGUFWriter.maxAlignment else {
                    throw ZooError("general.alignment \(a) is above the \(GGUFWriter.maxAlignment) Zoo writes (the header and "
                                   + "every tensor are padded to it; ggml writes 32)", path: path)
                }
                alignment = Int(a)
            }
            out.string(entry.key)
            let start = out.bytes.count
            try out.value(entry.value, key: entry.key, path: path)
            valueRanges[entry.key] = start..<out.bytes.count
        }
        var offset = 0
        var names = Set<String>()
        for spec in tensors {
            guard let code = spec.dtype.ggmlType else { throw ZooError("GGUF cannot hold \(spec.dtype.name)", path: path, tensor: spec.name) }
            if spec.name.utf8.count > GGUFReader.maxNameBytes {
                throw ZooError("name is \(spec.name.utf8.count) bytes; GGUF allows at most \(GGUFReader.maxNameBytes)", path: path, tensor: spec.name)
            }
            if spec.shape.rank > GGUFReader.maxDims {
                throw ZooError("has \(spec.shape.rank) dimensions; GGUF allows at most \(GGUFReader.maxDims)", path: path, tensor: spec.name)
            }
            if !names.insert(spec.name).inserted { throw ZooError("tensor name used twice", path: path, tensor: spec.name) }
            let size = try spec.byteCount()
            out.string(spec.name)
            out.u32(UInt32(spec.shape.rank))
            for d in spec.shape.dims.reversed() { out.u64(UInt64(d)) }
            out.u32(code)
            out.u64(UInt64(offset))
            order.declare(spec, size: size, offset: offset)
            offset += size + GGUFWriter.padding(size, alignment)
        }
        out.bytes += [UInt8](repeating: 0, count: GGUFWriter.padding(out.bytes.count, alignment))
        dataStart = out.bytes.count
        try output.write(out.bytes)
        // The file has its final size from here on, so the header can be parsed while data is written.
        try output.reserve(size: dataStart + offset)
    }

    /// Absolute file offset of tensor `name`'s data.
    public func dataOffset(_ name: String) -> Int? { order.index[name].map { dataStart + order.offsets[$0] } }

    /// Replaces a metadata value written by `begin` with one of exactly the same encoded size (a
    /// value known only later, such as a source file's hash computed while the tensors are written).
    public func replaceMetadata(_ entry: MetadataEntry) throws {
        guard let range = valueRanges[entry.key] else { throw ZooError("metadata key '\(entry.key)' was not written", path: path) }
        var out = GGUFEncoder()
        try out.value(entry.value, key: entry.key, path: path)
        if out.bytes.count != range.count {
            throw ZooError("metadata '\(entry.key)' would change size from \(range.count) to \(out.bytes.count) bytes", path: path)
        }
        try output.patch(out.bytes, at: range.lowerBound)
        // Read back what the file now holds there.
        var back = [UInt8](repeating: 0, count: out.bytes.count)
        try back.withUnsafeMutableBytes { try output.readBack(at: range.lowerBound, into: $0) }
        if back != out.bytes { throw ZooError("metadata '\(entry.key)' reads back differently from what was written", path: path) }
    }

    static func padding(_ n: Int, _ alignment: Int) -> Int { (alignment - n % alignment) % alignment }

    /// The largest general.alignment written.
    public static let maxAlignment: UInt32 = 1 << 16

    public func write(_ name: String, _ bytes: UnsafeRawBufferPointer) throws {
        try order.expect(name, bytes.count)
        try output.write(bytes)
        try output.writeZeros(GGUFWriter.padding(bytes.count, alignment))
    }

    public func write(_ name: String, at offset: Int, _ bytes: UnsafeRawBufferPointer) throws {
        let at = try lock.withLock { try order.cover(name, offset: offset, count: bytes.count) }
        try output.write(at: dataStart + at, bytes)
    }

    public func readBack(_ name: String, offset: Int, into: UnsafeMutableRawBufferPointer) throws {
        let at = try lock.withLock { try order.written(name, offset: offset, count: into.count) }
        try output.readBack(at: dataStart + at, into: into)
    }

    /// Hands everything written so far to the kernel, so a reader of `temporaryPath` sees it.
    public func flush() throws { try output.flush() }

    public func finish() throws {
        try order.checkComplete()
        try output.commit()
    }

    public func abort() { output.abort() }
}

/// Little-endian GGUF encoding of header fields and metadata values.
struct GGUFEncoder {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += s.utf8
    }

    mutating func value(_ v: MetadataValue, key: String, path: String) throws {
        u32(v.type.rawValue)
        try payload(v, key: key, path: path)
    }

    mutating func payload(_ v: MetadataValue, key: String, path: String) throws {
        switch v {
        case .uint8(let x): u8(x)
        case .int8(let x): u8(UInt8(bitPattern: x))
        case .uint16(let x): u16(x)
        case .int16(let x): u16(UInt16(bitPattern: x))
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .float64(let x): u64(x.bitPattern)
        case .bool(let x): u8(x ? 1 : 0)
        case .string(let s): string(s)
        case .array(let a):
            if a.elementType == .array { throw ZooError("metadata '\(key)': nested arrays cannot be written", path: path) }
            u32(a.elementType.rawValue)
            u64(UInt64(a.count))
            for i in 0..<a.count {
                let element = a[i]
                if element.type != a.elementType {
                    throw ZooError("metadata '\(key)'[\(i)] is \(element.type.name) in an array of \(a.elementType.name)", path: path)
                }
                try payload(element, key: key, path: path)
            }
        }
    }
}
