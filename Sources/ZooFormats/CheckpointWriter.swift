import ZooTensor

/// A tensor a writer will write: declared up front so headers can be written first.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: Shape
    public init(name: String, dtype: DType, shape: Shape) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
    public func byteCount() throws -> Int { try dtype.byteCount(shape: shape) }
}

/// Streaming, atomic writers: `begin` declares metadata and every tensor, `write` streams each
/// tensor's bytes in the declared order, `finish` makes the file appear. Nothing appears at the
/// target path unless `finish` succeeds.
public protocol CheckpointWriter: AnyObject {
    var path: String { get }
    func begin(metadata: [MetadataEntry], tensors: [TensorSpec]) throws
    func write(_ name: String, _ bytes: UnsafeRawBufferPointer) throws
    func finish() throws
    func abort()
    /// Whether the format can store this dtype as it is.
    static func canStore(_ dtype: DType) -> Bool
}

/// A writer that also takes a tensor in consecutive parts and reads written bytes back from its
/// file, so a conversion can stream a large tensor in row chunks and check each chunk against
/// the source while both are still in cache, with memory bounded by the chunk, not the tensor.
public protocol ChunkedCheckpointWriter: CheckpointWriter {
    /// The next `bytes.count` bytes of tensor `name`; its parts must add up to its declared size
    /// before the next tensor starts.
    func writePart(_ name: String, _ bytes: UnsafeRawBufferPointer) throws
    /// Reads `into.count` bytes of tensor `name`, starting `offset` bytes into its data, back from
    /// the file being written.
    func readBack(_ name: String, offset: Int, into: UnsafeMutableRawBufferPointer) throws
}

public enum CheckpointWriters {
    /// The format named by a file extension.
    public static func format(forPath path: String) -> CheckpointFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".safetensors") { return .safetensors }
        if lower.hasSuffix(".gguf") { return .gguf }
        if lower.hasSuffix(".npz") { return .npz }
        if lower.hasSuffix(".npy") { return .npy }
        return nil
    }

    public static func make(_ format: CheckpointFormat, path: String, force: Bool) throws -> CheckpointWriter {
        switch format {
        case .safetensors: return try SafetensorsWriter(path: path, force: force)
        case .gguf: return try GGUFWriter(path: path, force: force)
        case .npz: return try NpzWriter(path: path, force: force)
        case .npy: return try NpyWriter(path: path, force: force)
        }
    }

    public static func canStore(_ dtype: DType, in format: CheckpointFormat) -> Bool {
        switch format {
        case .safetensors: return SafetensorsWriter.canStore(dtype)
        case .gguf: return GGUFWriter.canStore(dtype)
        case .npz: return NpzWriter.canStore(dtype)
        case .npy: return NpyWriter.canStore(dtype)
        }
    }
}

/// Shared bookkeeping: tensors must arrive in declared order with the declared size.
struct WriteOrder {
    var specs: [TensorSpec] = []
    var sizes: [Int] = []
    /// Where each tensor's data starts, relative to the first tensor's.
    var offsets: [Int] = []
    var next = 0
    /// Bytes of tensor `next` written so far by `expectPart`.
    var partial = 0
    let path: String

    /// Tensor name -> position in `specs`.
    var index: [String: Int] = [:]

    /// Declares the next tensor (names are checked for duplicates by the writers).
    mutating func declare(_ spec: TensorSpec, size: Int, offset: Int) {
        index[spec.name] = specs.count
        specs.append(spec)
        sizes.append(size)
        offsets.append(offset)
    }

    /// Data offset (relative to the first tensor) of bytes [offset, offset + count) of a tensor
    /// that has been written in full, or up to there.
    func written(_ name: String, offset: Int, count: Int) throws -> Int {
        guard let i = index[name] else { throw ZooError("no such tensor declared", path: path, tensor: name) }
        let done = i < next ? sizes[i] : (i == next ? partial : 0)
        guard offset >= 0, count >= 0, offset + count <= done else {
            throw ZooError("cannot read back bytes \(offset)..<\(offset + count): \(done) of \(sizes[i]) are written", path: path, tensor: name)
        }
        return offsets[i] + offset
    }

    /// A part of tensor `next`; returns true when it completes the tensor.
    mutating func expectPart(_ name: String, _ count: Int) throws -> Bool {
        guard next < specs.count else { throw ZooError("more tensors written than declared", path: path, tensor: name) }
        guard specs[next].name == name else {
            throw ZooError("written out of order: expected '\(specs[next].name)'", path: path, tensor: name)
        }
        guard partial + count <= sizes[next] else {
            throw ZooError("\(specs[next].dtype.name) \(specs[next].shape) needs \(sizes[next]) bytes, got \(partial + count)", path: path, tensor: name)
        }
        partial += count
        if partial < sizes[next] { return false }
        partial = 0
        next += 1
        return true
    }

    mutating func expect(_ name: String, _ count: Int) throws {
        if partial != 0 { throw ZooError("\(specs[next].name) was left with \(partial) of \(sizes[next]) bytes written", path: path, tensor: name) }
        guard next < specs.count else { throw ZooError("more tensors written than declared", path: path, tensor: name) }
        guard specs[next].name == name else {
            throw ZooError("written out of order: expected '\(specs[next].name)'", path: path, tensor: name)
        }
        guard sizes[next] == count else {
            throw ZooError("\(specs[next].dtype.name) \(specs[next].shape) needs \(sizes[next]) bytes, got \(count)", path: path, tensor: name)
        }
        next += 1
    }

    func checkComplete() throws {
        if partial != 0 { throw ZooError("\(specs[next].name) was left with \(partial) of \(sizes[next]) bytes written", path: path) }
        if next != specs.count { throw ZooError("only \(next) of \(specs.count) declared tensors were written", path: path) }
    }
}
