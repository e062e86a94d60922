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
    var next = 0
    let path: String

    mutating func expect(_ name: String, _ count: Int) throws {
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
        if next != specs.count { throw ZooError("only \(next) of \(specs.count) declared tensors were written", path: path) }
    }
}
