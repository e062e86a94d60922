import ZooTensor

/// Writes one tensor as a `.npy` file (v1.0 header as numpy writes it, C order, little-endian).
public final class NpyWriter: CheckpointWriter {
    public let path: String
    private let output: AtomicOutput
    private var order: WriteOrder

    public init(path: String, force: Bool) throws {
        self.path = path
        output = try AtomicOutput(path: path, force: force)
        order = WriteOrder(path: path)
    }

    public static func canStore(_ dtype: DType) -> Bool { NpyHeader.descr(for: dtype) != nil }

    public func begin(metadata: [MetadataEntry], tensors: [TensorSpec]) throws {
        guard tensors.count == 1, let spec = tensors.first else {
            throw ZooError("a .npy file holds exactly one array, \(tensors.count) were given (use .npz)", path: path)
        }
        do { try output.write(try NpyHeader.encode(dtype: spec.dtype, shape: spec.shape)) } catch let e as ZooError { throw ZooError(e.message, path: path, tensor: spec.name) }
        order.specs = [spec]
        order.sizes = [try spec.byteCount()]
    }

    public func write(_ name: String, _ bytes: UnsafeRawBufferPointer) throws {
        try order.expect(name, bytes.count)
        try output.write(bytes)
    }

    public func finish() throws {
        try order.checkComplete()
        try output.commit()
    }

    public func abort() { output.abort() }

    /// Writes one f32 array to `path` in one call (logit dumps).
    public static func writeFloats(_ values: [Float], shape: Shape, to path: String, force: Bool = true) throws {
        let writer = try NpyWriter(path: path, force: force)
        try writer.begin(metadata: [], tensors: [TensorSpec(name: "array", dtype: .f32, shape: shape)])
        try values.withUnsafeBytes { try writer.write("array", $0) }
        try writer.finish()
    }
}
