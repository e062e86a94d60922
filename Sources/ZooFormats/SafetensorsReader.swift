import ZooTensor

/// Reads a single safetensors file with the checks of the reference Rust reader
/// (`read_metadata` + `validate`): header size capped and inside the file, UTF-8 JSON object,
/// known dtypes, checked shape arithmetic, tensors contiguous from offset 0 with no gaps or
/// overlaps (sorted by offset), byte sizes matching shapes, and no trailing bytes. It also rejects
/// duplicate keys and a `__metadata__` that is not a flat object of strings.
public final class SafetensorsReader: CheckpointReader, @unchecked Sendable {
    public let path: String
    public let format = CheckpointFormat.safetensors
    public let file: MappedFile
    public let headerLength: Int
    public private(set) var metadata: [MetadataEntry] = []
    public private(set) var tensors: [TensorInfo] = []
    private var ranges: [String: Range<Int>] = [:]  // absolute file byte ranges

    /// The reference reader's MAX_HEADER_SIZE.
    public static let maxHeaderBytes = 100_000_000

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        path = file.path
        var r = ByteReader(file.bytes, path: path)
        if file.count < 8 { throw ZooError("file is \(file.count) bytes; a safetensors file needs at least the 8-byte header length", path: path) }
        let n = try r.u64("header length")
        if n > UInt64(SafetensorsReader.maxHeaderBytes) {
            throw ZooError("header length \(n) is more than the limit \(SafetensorsReader.maxHeaderBytes)", path: path)
        }
        if Int(n) > file.count - 8 {
            throw ZooError("header length \(n) runs past the end of the \(file.count)-byte file", path: path)
        }
        headerLength = Int(n)
        let headerBytes = try r.slice(headerLength, "header")
        if headerBytes.first != UInt8(ascii: "{") {
            throw ZooError("header does not start with '{'", path: path)
        }
        guard String(validatingUTF8Bytes: headerBytes) != nil else { throw ZooError("header is not valid UTF-8", path: path) }
        let json = try JSON.parse(headerBytes, what: "safetensors header", path: path)
        guard let members = json.object else { throw ZooError("header is not a JSON object", path: path) }

        let dataStart = 8 + headerLength
        let dataLength = file.count - dataStart
        var entries: [(info: TensorInfo, begin: Int, end: Int)] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard let fields = value.object else { throw ZooError("__metadata__ is not an object", path: path) }
                for (key, v) in fields {
                    guard let s = v.string else { throw ZooError("__metadata__ value for '\(key)' is not a string", path: path) }
                    metadata.append(MetadataEntry(key, .string(s)))
                }
                continue
            }
            guard let fields = value.object else { throw ZooError("entry is not an object", path: path, tensor: name) }
            for (key, _) in fields where !["dtype", "shape", "data_offsets"].contains(key) {
                throw ZooError("unexpected field '\(key)'", path: path, tensor: name)
            }
            guard let dtypeName = value["dtype"]?.string else { throw ZooError("missing dtype", path: path, tensor: name) }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                throw ZooError("unknown or unsupported dtype '\(dtypeName)'", path: path, tensor: name)
            }
            guard let dims = value["shape"]?.array else { throw ZooError("missing shape", path: path, tensor: name) }
            var shape: [Int] = []
            for d in dims {
                guard let v = d.int, v >= 0, case .int = d else { throw ZooError("shape entry \(d.serialized()) is not a non-negative integer", path: path, tensor: name) }
                shape.append(v)
            }
            guard let offsets = value["data_offsets"]?.array, offsets.count == 2,
                  case .int(let b) = offsets[0], case .int(let e) = offsets[1], b >= 0, e >= 0 else {
                throw ZooError("data_offsets must be two non-negative integers", path: path, tensor: name)
            }
            let begin = Int(b), end = Int(e)
            if end < begin { throw ZooError("data_offsets end \(end) is before begin \(begin)", path: path, tensor: name) }
            let bytes: Int
            do { bytes = try dtype.byteCount(shape: Shape(shape)) } catch let err as ZooError { throw ZooError(err.message, path: path, tensor: name) }
            if end - begin != bytes {
                throw ZooError("\(dtype.name) \(Shape(shape)) needs \(bytes) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)", path: path, tensor: name)
            }
            entries.append((TensorInfo(name: name, dtype: dtype, shape: Shape(shape), byteCount: bytes), begin, end))
        }
        // Contiguity in offset order: no gaps, no overlaps, no bytes left over.
        var expected = 0
        for entry in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            if entry.begin != expected {
                let problem = entry.begin < expected ? "overlaps the previous tensor" : "leaves a gap after the previous tensor"
                throw ZooError("data_offsets begin \(entry.begin) \(problem) (expected \(expected))", path: path, tensor: entry.info.name)
            }
            if entry.end > dataLength {
                throw ZooError("data_offsets end \(entry.end) is past the end of the \(dataLength)-byte data buffer", path: path, tensor: entry.info.name)
            }
            expected = entry.end
        }
        if expected != dataLength {
            throw ZooError("tensors cover \(expected) bytes but the data buffer holds \(dataLength)", path: path)
        }
        for entry in entries {
            tensors.append(entry.info)
            ranges[entry.info.name] = (dataStart + entry.begin)..<(dataStart + entry.end)
        }
    }

    public func release(_ name: String) {
        if let range = ranges[name] { file.release(range) }
    }

    /// Where tensor `name`'s data sits in the file (absolute byte offsets).
    public func dataRange(_ name: String) -> Range<Int>? { ranges[name] }

    public func release(_ name: String, bytes: Range<Int>) {
        if let range = ranges[name] { file.release(range.clamped(toRelative: bytes)) }
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let info = info(name), let range = ranges[name] else { throw ZooError("no such tensor", path: path, tensor: name) }
        return try Tensor(dtype: info.dtype, shape: info.shape,
                          storage: TensorStorage(view: UnsafeRawBufferPointer(rebasing: file.bytes[range]), owner: file))
    }
}
