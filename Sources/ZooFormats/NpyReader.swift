import ZooTensor

/// A single `.npy` array, exposed as one tensor named after the file (without `.npy`).
public final class NpyReader: CheckpointReader, @unchecked Sendable {
    public let path: String
    public let format = CheckpointFormat.npy
    public let file: MappedFile
    public let header: NpyHeader
    public let metadata: [MetadataEntry] = []
    public let tensors: [TensorInfo]
    private let name: String

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        path = file.path
        header = try NpyHeader.parse(file.bytes, path: path)
        var base = String(path.split(separator: "/").last ?? "array")
        if base.hasSuffix(".npy") { base.removeLast(4) }
        name = base
        let bytes: Int
        do { bytes = try header.dtype.byteCount(shape: header.shape) } catch let e as ZooError { throw ZooError(e.message, path: path, tensor: base) }
        let available = file.count - header.dataOffset
        if available != bytes {
            throw ZooError("\(header.dtype.name) \(header.shape) needs \(bytes) bytes of data, the file holds \(available)", path: path, tensor: base)
        }
        tensors = [TensorInfo(name: base, dtype: header.dtype, shape: header.shape, byteCount: bytes)]
    }

    public func tensor(_ requested: String) throws -> Tensor {
        guard requested == name else { throw ZooError("no such tensor (a .npy file holds one array, '\(name)')", path: path, tensor: requested) }
        let data = UnsafeRawBufferPointer(rebasing: file.bytes[header.dataOffset...])
        return try NpyDecoding.tensor(header: header, data: data, owner: file, path: path, name: name)
    }
}
