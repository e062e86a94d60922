import Foundation
import ZooTensor

/// Writes safetensors: 8-byte header length, JSON header padded with spaces to a multiple of 8,
/// tensors back to back in declared order. `__metadata__` always holds `"format": "pt"` so
/// transformers' loader accepts the file; other metadata values are written as strings.
public final class SafetensorsWriter: ChunkedCheckpointWriter {
    public let path: String
    private let output: AtomicOutput
    private var order: WriteOrder
    /// Guards `order` for positioned writes from several threads.
    private let lock = NSLock()
    /// Absolute file offset where tensor data starts (after the length and the JSON header).
    private var dataStart = 0

    public init(path: String, force: Bool) throws {
        self.path = path
        output = try AtomicOutput(path: path, force: force)
        order = WriteOrder(path: path)
    }

    public static func canStore(_ dtype: DType) -> Bool { !dtype.isQuantized }

    public func begin(metadata: [MetadataEntry], tensors: [TensorSpec]) throws {
        var meta: [(String, JSONValue)] = [("format", .string("pt"))]
        for entry in metadata where entry.key != "format" {
            switch entry.value {
            case .string(let s): meta.append((entry.key, .string(s)))
            default: meta.append((entry.key, .string(entry.value.json.serialized())))
            }
        }
        var header: [(String, JSONValue)] = [("__metadata__", .object(meta))]
        var offset = 0
        var seen = Set<String>()
        for spec in tensors {
            guard SafetensorsWriter.canStore(spec.dtype) else {
                throw ZooError("safetensors cannot hold \(spec.dtype.name)", path: path, tensor: spec.name)
            }
            if !seen.insert(spec.name).inserted || spec.name == "__metadata__" {
                throw ZooError("tensor name used twice or reserved", path: path, tensor: spec.name)
            }
            let size = try spec.byteCount()
            header.append((spec.name, .object([
                ("dtype", .string(spec.dtype.name)),
                ("shape", .array(spec.shape.dims.map { .int(Int64($0)) })),
                ("data_offsets", .array([.int(Int64(offset)), .int(Int64(offset + size))])),
            ])))
            order.declare(spec, size: size, offset: offset)
            offset += size
        }
        var text = Array(JSONValue.object(header).serialized().utf8)
        text += [UInt8](repeating: 0x20, count: (8 - text.count % 8) % 8)
        var length = UInt64(text.count).littleEndian
        try withUnsafeBytes(of: &length) { try output.write($0) }
        try output.write(text)
        dataStart = 8 + text.count
        // Sized up front, so tensors can be written at their offsets in any order.
        try output.reserve(size: dataStart + offset)
    }

    /// Absolute file offset of tensor `name`'s data.
    public func dataOffset(_ name: String) -> Int? { order.index[name].map { dataStart + order.offsets[$0] } }

    public func write(_ name: String, at offset: Int, _ bytes: UnsafeRawBufferPointer) throws {
        let at = try lock.withLock { try order.cover(name, offset: offset, count: bytes.count) }
        try output.write(at: dataStart + at, bytes)
    }

    public func readBack(_ name: String, offset: Int, into: UnsafeMutableRawBufferPointer) throws {
        let at = try lock.withLock { try order.written(name, offset: offset, count: into.count) }
        try output.readBack(at: dataStart + at, into: into)
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
}
