import ZooTensor

/// Reads GGUF v2/v3 files (ggml docs/gguf.md) with the checks ggml's gguf.cpp makes:
/// known value and tensor types, no nested arrays, bools 0/1, duplicate keys and names, at most 4
/// dims, element counts that fit, rows whole blocks, `general.alignment` a u32 power of two, and
/// tensor offsets exactly sequential (each padded to the alignment) and inside the file.
public final class GGUFReader: CheckpointReader, @unchecked Sendable {
    public let path: String
    public let format = CheckpointFormat.gguf
    public let file: MappedFile
    public private(set) var version: UInt32 = 0
    public private(set) var alignment: Int = 32
    public private(set) var dataOffset: Int = 0
    public private(set) var metadata: [MetadataEntry] = []
    public private(set) var tensors: [TensorInfo] = []
    private var offsets: [String: Int] = [:]  // absolute file offsets

    public static let maxNameBytes = 63        // GGML_MAX_NAME is 64 including the NUL
    public static let maxDims = 4
    public static let defaultAlignment = 32

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        var r = ByteReader(file.bytes, path: file.path)
        let magic = try r.u32("magic")
        if magic != 0x4655_4747 {
            throw ZooError("not a GGUF file: magic is 0x\(String(magic, radix: 16)), expected 0x46554747 (\"GGUF\")", path: path)
        }
        version = try r.u32("version")
        if version == 1 { throw ZooError("GGUF version 1 is not supported (only 2 and 3)", path: path) }
        if version != 2 && version != 3 {
            let hint = version.byteSwapped <= 3 ? " (a big-endian file?)" : ""
            throw ZooError("unsupported GGUF version \(version)\(hint); expected 2 or 3", path: path)
        }
        // Counts are bounded by what the rest of the file could hold, before anything is reserved.
        let tensorCount = try r.count("tensor count", limit: r.remaining / 24)
        let kvCount = try r.count("metadata key/value count", limit: r.remaining / 13)

        var keys = Set<String>()
        var alignmentValue = GGUFReader.defaultAlignment
        for k in 0..<kvCount {
            let keyLength = try r.count("metadata key \(k) length", limit: min(r.remaining, 65535))
            let key = try r.utf8(keyLength, "metadata key \(k)")
            if !keys.insert(key).inserted { throw ZooError("duplicate metadata key '\(key)'", path: path) }
            let typeCode = try r.u32("type of '\(key)'")
            guard let type = MetadataType(rawValue: typeCode) else {
                throw ZooError("metadata '\(key)' has unknown value type \(typeCode) (expected 0...12)", path: path)
            }
            let value = try readValue(&r, type: type, key: key)
            if key == "general.alignment" {
                guard case .uint32(let a) = value else {
                    throw ZooError("general.alignment must be a u32, found \(type.name)", path: path)
                }
                if a == 0 || (a & (a - 1)) != 0 {
                    throw ZooError("general.alignment must be a nonzero power of two, found \(a)", path: path)
                }
                alignmentValue = Int(a)
            }
            metadata.append(MetadataEntry(key, value))
        }
        alignment = alignmentValue

        var names = Set<String>()
        var declared: [(TensorInfo, Int)] = []
        declared.reserveCapacity(tensorCount)
        for t in 0..<tensorCount {
            let nameLength = try r.count("tensor \(t) name length", limit: r.remaining)
            if nameLength > GGUFReader.maxNameBytes {
                throw ZooError("tensor \(t) name is \(nameLength) bytes; GGUF allows at most \(GGUFReader.maxNameBytes)", path: path)
            }
            let name = try r.utf8(nameLength, "tensor \(t) name")
            if !names.insert(name).inserted { throw ZooError("duplicate tensor name", path: path, tensor: name) }
            let nDims = try r.u32("dimension count of '\(name)'")
            if nDims > UInt32(GGUFReader.maxDims) {
                throw ZooError("has \(nDims) dimensions; GGUF allows at most \(GGUFReader.maxDims)", path: path, tensor: name)
            }
            var ne: [Int] = []
            for d in 0..<Int(nDims) {
                let raw = try r.i64("dimension \(d) of '\(name)'")
                if raw < 0 { throw ZooError("dimension \(d) is negative (\(raw))", path: path, tensor: name) }
                ne.append(Int(raw))
            }
            let typeCode = try r.u32("type of '\(name)'")
            guard let dtype = DType(ggmlType: typeCode) else {
                throw ZooError("unknown ggml type \(typeCode)", path: path, tensor: name)
            }
            let offset = try r.u64("data offset of '\(name)'")
            let shape = Shape(ne.reversed())
            if let first = ne.first, first % dtype.blockSize != 0 {
                throw ZooError("row length \(first) is not a multiple of the \(dtype.name) block size \(dtype.blockSize)", path: path, tensor: name)
            }
            let bytes: Int
            do { bytes = try dtype.byteCount(shape: shape) } catch let e as ZooError { throw ZooError(e.message, path: path, tensor: name) }
            if offset % UInt64(alignment) != 0 {
                throw ZooError("data offset \(offset) is not a multiple of the alignment \(alignment)", path: path, tensor: name)
            }
            if offset > UInt64(Int.max / 2) { throw ZooError("data offset \(offset) is out of range", path: path, tensor: name) }
            declared.append((TensorInfo(name: name, dtype: dtype, shape: shape, byteCount: bytes), Int(offset)))
        }

        // The data section starts at the next multiple of the alignment (absolute position).
        let end = r.offset
        let start = end + (alignment - end % alignment) % alignment
        dataOffset = start
        if tensorCount > 0 && start > file.count {
            throw ZooError("tensor data would start at \(start), past the end of the \(file.count)-byte file", path: path)
        }
        var expected = 0
        for (info, offset) in declared {
            if offset != expected {
                throw ZooError("data offset \(offset) is not where the previous tensors end (\(expected)); GGUF tensors must be stored in order, each padded to \(alignment)", path: path, tensor: info.name)
            }
            let absolute = start + offset
            if info.byteCount > file.count - min(absolute, file.count) {
                throw ZooError("needs \(info.byteCount) bytes at offset \(absolute), the file has \(file.count) bytes", path: path, tensor: info.name)
            }
            tensors.append(info)
            offsets[info.name] = absolute
            let padded = info.byteCount + (alignment - info.byteCount % alignment) % alignment
            expected = offset + padded
        }
        // Like ggml, the data section must hold every tensor including the last one's padding.
        if tensorCount > 0 && file.count - start < expected {
            throw ZooError("the data section needs \(expected) bytes (tensors padded to \(alignment)), the file has \(file.count - start) after the header", path: path)
        }
    }

    private func readValue(_ r: inout ByteReader, type: MetadataType, key: String) throws -> MetadataValue {
        switch type {
        case .uint8: return .uint8(try r.u8(key))
        case .int8: return .int8(try r.i8(key))
        case .uint16: return .uint16(try r.u16(key))
        case .int16: return .int16(try r.i16(key))
        case .uint32: return .uint32(try r.u32(key))
        case .int32: return .int32(try r.i32(key))
        case .uint64: return .uint64(try r.u64(key))
        case .int64: return .int64(try r.i64(key))
        case .float32: return .float32(try r.f32(key))
        case .float64: return .float64(try r.f64(key))
        case .bool:
            let b = try r.u8(key)
            if b > 1 { throw ZooError("metadata '\(key)' is a bool with value \(b), expected 0 or 1", path: path) }
            return .bool(b == 1)
        case .string:
            let n = try r.count("length of '\(key)'", limit: r.remaining)
            return .string(try r.utf8(n, "string '\(key)'"))
        case .array:
            let elementCode = try r.u32("element type of '\(key)'")
            guard let elementType = MetadataType(rawValue: elementCode) else {
                throw ZooError("metadata array '\(key)' has unknown element type \(elementCode)", path: path)
            }
            if elementType == .array { throw ZooError("metadata array '\(key)' holds arrays; nested arrays are not supported", path: path) }
            if let size = elementType.fixedSize {
                let n = try r.count("element count of '\(key)'", limit: r.remaining / size)
                let raw = try r.slice(n * size, "elements of '\(key)'")
                if elementType == .bool, let bad = raw.firstIndex(where: { $0 > 1 }) {
                    throw ZooError("metadata array '\(key)' element \(bad) is a bool with value \(raw[bad])", path: path)
                }
                return .array(MetadataArray(fixed: elementType, count: n, raw: raw, owner: file))
            }
            let n = try r.count("element count of '\(key)'", limit: r.remaining / 8)
            var starts: [Int] = []
            starts.reserveCapacity(n)
            for i in 0..<n {
                starts.append(r.offset)
                let length = try r.count("length of '\(key)'[\(i)]", limit: r.remaining)
                let at = r.offset
                let raw = try r.slice(length, "'\(key)'[\(i)]")
                if String(validatingUTF8Bytes: raw) == nil {
                    throw ZooError("'\(key)'[\(i)] at offset \(at) is not valid UTF-8", path: path)
                }
            }
            return .array(MetadataArray(stringsIn: file.bytes, offsets: starts, owner: file))
        }
    }

    public func release(_ name: String) {
        if let range = dataRange(name) { file.release(range) }
    }

    public func release(_ name: String, bytes: Range<Int>) {
        if let range = dataRange(name) { file.release(range.clamped(toRelative: bytes)) }
    }

    /// Where tensor `name`'s data sits in the file (absolute byte offsets).
    public func dataRange(_ name: String) -> Range<Int>? {
        guard let offset = offsets[name], let info = info(name) else { return nil }
        return offset..<(offset + info.byteCount)
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let info = info(name), let offset = offsets[name] else {
            throw ZooError("no such tensor", path: path, tensor: name)
        }
        let view = UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + info.byteCount)])
        return try Tensor(dtype: info.dtype, shape: info.shape, storage: TensorStorage(view: view, owner: file))
    }
}
