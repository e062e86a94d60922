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

/// A writer that also takes a tensor's bytes in pieces at given offsets, from several threads at
/// once, and reads written bytes back from its file. A conversion can then stream large tensors
/// in row chunks on every core and check each chunk against the source while both are in cache,
/// with memory bounded by the chunk, not the tensor. Every byte of every tensor must be written
/// exactly once before `finish`; the padding between tensors is zero without being written.
public protocol ChunkedCheckpointWriter: CheckpointWriter {
    /// Bytes [offset, offset + bytes.count) of tensor `name`'s data. Thread-safe.
    func write(_ name: String, at offset: Int, _ bytes: UnsafeRawBufferPointer) throws
    /// Reads `into.count` bytes of tensor `name`, starting `offset` bytes into its data, back from
    /// the file being written; they must have been written. Thread-safe.
    func readBack(_ name: String, offset: Int, into: UnsafeMutableRawBufferPointer) throws
    /// Absolute file offset of tensor `name`'s data (for checking a re-read header).
    func dataOffset(_ name: String) -> Int?
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
    /// Positioned writes (`cover`): the byte ranges of each tensor written so far, sorted and
    /// disjoint (adjacent ranges merged).
    var covered: [[Range<Int>]] = []
    var positioned = false
    let path: String

    /// Tensor name -> position in `specs`.
    var index: [String: Int] = [:]

    /// Declares the next tensor (names are checked for duplicates by the writers).
    mutating func declare(_ spec: TensorSpec, size: Int, offset: Int) {
        index[spec.name] = specs.count
        specs.append(spec)
        sizes.append(size)
        offsets.append(offset)
        covered.append([])
    }

    /// Records a positioned write of bytes [offset, offset + count) of tensor `name`; returns its
    /// data offset (relative to the first tensor's). Overlaps and writes past the end are errors.
    mutating func cover(_ name: String, offset: Int, count: Int) throws -> Int {
        guard let i = index[name] else { throw ZooError("no such tensor declared", path: path, tensor: name) }
        if next != 0 { throw ZooError("positioned writes after sequential ones", path: path, tensor: name) }
        guard offset >= 0, count >= 0, offset + count <= sizes[i] else {
            throw ZooError("bytes \(offset)..<\(offset + count) are outside its \(sizes[i]) bytes", path: path, tensor: name)
        }
        positioned = true
        if count == 0 { return offsets[i] + offset }
        var ranges = covered[i]
        let new = offset..<(offset + count)
        let at = ranges.firstIndex { $0.lowerBound >= new.upperBound } ?? ranges.count
        if at > 0 && ranges[at - 1].upperBound > new.lowerBound {
            throw ZooError("bytes \(offset)..<\(offset + count) written twice", path: path, tensor: name)
        }
        var merged = new
        var first = at
        if at > 0 && ranges[at - 1].upperBound == new.lowerBound { merged = ranges[at - 1].lowerBound..<merged.upperBound; first = at - 1 }
        var last = at
        if at < ranges.count && ranges[at].lowerBound == new.upperBound { merged = merged.lowerBound..<ranges[at].upperBound; last = at + 1 }
        ranges.replaceSubrange(first..<last, with: [merged])
        covered[i] = ranges
        return offsets[i] + offset
    }

    /// Data offset (relative to the first tensor's) of bytes [offset, offset + count) of a tensor,
    /// which must have been written.
    func written(_ name: String, offset: Int, count: Int) throws -> Int {
        guard let i = index[name] else { throw ZooError("no such tensor declared", path: path, tensor: name) }
        let want = offset..<(offset + max(count, 0))
        let done = i < next || (count == 0 && offset >= 0 && offset <= sizes[i])
            || covered[i].contains { $0.lowerBound <= want.lowerBound && want.upperBound <= $0.upperBound }
        guard offset >= 0, count >= 0, done else {
            throw ZooError("cannot read back bytes \(offset)..<\(offset + count): they are not written", path: path, tensor: name)
        }
        return offsets[i] + offset
    }

    mutating func expect(_ name: String, _ count: Int) throws {
        if positioned { throw ZooError("sequential writes after positioned ones", path: path, tensor: name) }
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
        if positioned {
            for (i, ranges) in covered.enumerated() where sizes[i] > 0 && ranges != [0..<sizes[i]] {
                let done = ranges.reduce(0) { $0 + $1.count }
                throw ZooError("only \(done) of its \(sizes[i]) bytes were written", path: path, tensor: specs[i].name)
            }
            return
        }
        if next != specs.count { throw ZooError("only \(next) of \(specs.count) declared tensors were written", path: path) }
    }
}
