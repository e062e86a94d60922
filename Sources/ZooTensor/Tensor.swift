/// The bytes behind a tensor: a slice of a mapped file (zero-copy) or an owned buffer.
public final class TensorStorage: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    private let keepAlive: AnyObject?
    private let owned: UnsafeMutableRawPointer?

    /// A view into memory that `owner` keeps alive (a MappedFile).
    public init(view: UnsafeRawBufferPointer, owner: AnyObject) {
        bytes = view
        keepAlive = owner
        owned = nil
    }

    /// A fresh zeroed buffer of `count` bytes, owned by this storage.
    public init(zeroed count: Int) {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        owned = pointer
        keepAlive = nil
        bytes = UnsafeRawBufferPointer(start: pointer, count: count)
    }

    /// Mutable access for the code that just created an owned buffer.
    public var mutableBytes: UnsafeMutableRawBufferPointer? {
        guard let owned else { return nil }
        return UnsafeMutableRawBufferPointer(start: owned, count: bytes.count)
    }

    deinit { owned?.deallocate() }
}

/// A dtype, a shape (outermost first) and the bytes, row-major.
public struct Tensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: Shape
    public let storage: TensorStorage

    /// The raw bytes. The pointer is valid only while this tensor (its storage) is alive: prefer
    /// `withUnsafeBytes`, which guarantees that, over holding on to `bytes` from a temporary.
    public var bytes: UnsafeRawBufferPointer { storage.bytes }

    /// Calls `body` with the raw bytes, keeping the storage (and any mapped file) alive meanwhile.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(storage.bytes) }
    }

    /// A copy of the raw bytes.
    public var byteArray: [UInt8] { withUnsafeBytes { Array($0) } }
    public var count: Int { shape.count }

    /// Wraps existing bytes after checking that their size matches dtype and shape.
    public init(dtype: DType, shape: Shape, storage: TensorStorage) throws {
        let expected = try dtype.byteCount(shape: shape)
        if storage.bytes.count != expected {
            throw ZooError("\(dtype.name) \(shape) needs \(expected) bytes, found \(storage.bytes.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// A zero-filled tensor that the caller then writes through `mutableBytes`.
    public init(zeros dtype: DType, shape: Shape) throws {
        let storage = TensorStorage(zeroed: try dtype.byteCount(shape: shape))
        try self.init(dtype: dtype, shape: shape, storage: storage)
    }

    public var mutableBytes: UnsafeMutableRawBufferPointer? { storage.mutableBytes }

    /// An owned f32 tensor holding `values`.
    public init(floats values: [Float], shape: Shape) throws {
        guard try shape.elementCount() == values.count else {
            throw ZooError("\(values.count) values do not fill shape \(shape)")
        }
        try self.init(zeros: .f32, shape: shape)
        values.withUnsafeBytes { src in
            if let dst = mutableBytes, src.count > 0 { dst.copyMemory(from: src) }
        }
    }

    /// An owned tensor with a copy of raw little-endian bytes.
    public init(dtype: DType, shape: Shape, copying raw: UnsafeRawBufferPointer) throws {
        try self.init(zeros: dtype, shape: shape)
        guard raw.count == bytes.count else {
            throw ZooError("\(dtype.name) \(shape) needs \(bytes.count) bytes, found \(raw.count)")
        }
        if raw.count > 0, let dst = mutableBytes { dst.copyMemory(from: raw) }
    }

    /// A copy of the same bytes with another shape of the same element count.
    public func reshaped(_ newShape: Shape) throws -> Tensor {
        guard try newShape.elementCount() == count else {
            throw ZooError("cannot reshape \(shape) to \(newShape)")
        }
        return try Tensor(dtype: dtype, shape: newShape, storage: storage)
    }

    /// All values as f32 (widening, dequantizing). Integer types convert by value.
    public func floats() throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { dst in try ElementConversion.toF32(self, into: dst) }
        return out
    }
}
