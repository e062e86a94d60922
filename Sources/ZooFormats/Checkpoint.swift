import ZooTensor

/// The file formats Zoo reads and writes.
public enum CheckpointFormat: String, Sendable {
    case safetensors, gguf, npy, npz
}

/// Where a tensor is and what it holds, as a reader found it in a header.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: Shape
    public let byteCount: Int

    public init(name: String, dtype: DType, shape: Shape, byteCount: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
    }
}

/// What every reader offers. Readers know nothing about models: names, metadata, dtypes, shapes, bytes.
public protocol CheckpointReader: AnyObject, Sendable {
    /// The file (or index file) this reader opened.
    var path: String { get }
    var format: CheckpointFormat { get }
    /// Key/value metadata in file order (GGUF KVs, safetensors `__metadata__`).
    var metadata: [MetadataEntry] { get }
    /// Tensors in file order.
    var tensors: [TensorInfo] { get }
    /// The tensor's bytes: a view into the mapped file where the format allows, else a decoded copy.
    func tensor(_ name: String) throws -> Tensor
    /// Lets go of the memory behind a tensor that was read (mapped pages are dropped; they come
    /// back from the file if the tensor is read again). Streaming conversions call it per tensor.
    func release(_ name: String)
    /// Lets go of the pages behind bytes `bytes` of a tensor's data (relative to its first byte),
    /// so a conversion streaming one large tensor in chunks keeps only the current chunk resident.
    func release(_ name: String, bytes: Range<Int>)
}

extension CheckpointReader {
    public func release(_ name: String) {}
    public func release(_ name: String, bytes: Range<Int>) {}

    public func info(_ name: String) -> TensorInfo? { tensors.first(where: { $0.name == name }) }
    public func metadataValue(_ key: String) -> MetadataValue? { metadata.first(where: { $0.key == key })?.value }
    public var tensorNames: [String] { tensors.map(\.name) }
    public var totalTensorBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }
}

public struct MetadataEntry: Sendable, Equatable {
    public let key: String
    public let value: MetadataValue
    public init(_ key: String, _ value: MetadataValue) {
        self.key = key
        self.value = value
    }
}
