import ZooTensor

/// Writes `.npz`: a ZIP of stored (uncompressed) `<name>.npy` members, streamed. Each member's
/// CRC is computed while its bytes go out and patched into its local header afterwards; zip64
/// fields are used when a size or offset does not fit 32 bits.
public final class NpzWriter: CheckpointWriter {
    public let path: String
    private let output: AtomicOutput
    private var order: WriteOrder
    private var central: [UInt8] = []
    private var entryCount = 0
    private var current: (name: [UInt8], headerOffset: Int, size: Int, crc: UInt32, zip64: Bool)?

    public init(path: String, force: Bool) throws {
        self.path = path
        output = try AtomicOutput(path: path, force: force)
        order = WriteOrder(path: path)
    }

    public static func canStore(_ dtype: DType) -> Bool { NpyHeader.descr(for: dtype) != nil }

    public func begin(metadata: [MetadataEntry], tensors: [TensorSpec]) throws {
        var seen = Set<String>()
        for spec in tensors {
            guard NpzWriter.canStore(spec.dtype) else { throw ZooError(".npz cannot hold \(spec.dtype.name)", path: path, tensor: spec.name) }
            if !seen.insert(spec.name).inserted { throw ZooError("tensor name used twice", path: path, tensor: spec.name) }
            // ZIP stores a member name's length in 16 bits; a safetensors key may be longer.
            let memberNameBytes = spec.name.utf8.count + 4  // + ".npy"
            if memberNameBytes > Int(UInt16.max) {
                throw ZooError("name is \(spec.name.utf8.count) bytes; a .npz member name (with .npy) holds at most \(Int(UInt16.max) - 4)", path: path, tensor: String(spec.name.prefix(64)) + "...")
            }
            order.specs.append(spec)
            order.sizes.append(try spec.byteCount())
        }
    }

    public func write(_ name: String, _ bytes: UnsafeRawBufferPointer) throws {
        try order.expect(name, bytes.count)
        let spec = order.specs[order.next - 1]
        let npyHeader = try NpyHeader.encode(dtype: spec.dtype, shape: spec.shape)
        let size = npyHeader.count + bytes.count
        let memberName = Array((name + ".npy").utf8)
        let headerOffset = output.written
        let zip64 = size >= 0xFFFF_FFFF || headerOffset >= 0xFFFF_FFFF
        var local = GGUFEncoder()
        local.u32(0x0403_4B50)
        local.u16(zip64 ? 45 : 20)
        local.u16(0)            // flags
        local.u16(0)            // stored
        local.u16(0); local.u16(0x21)  // 00:00, 1980-01-01
        local.u32(0)            // CRC, patched below
        local.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        local.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        local.u16(UInt16(memberName.count))
        local.u16(zip64 ? 20 : 0)
        local.bytes += memberName
        if zip64 { local.u16(1); local.u16(16); local.u64(UInt64(size)); local.u64(UInt64(size)) }
        try output.write(local.bytes)
        try output.write(npyHeader)
        try output.write(bytes)
        var crc = npyHeader.withUnsafeBytes { CRC32.checksum($0) }
        crc = CRC32.checksum(bytes, seed: crc)
        var crcBytes = GGUFEncoder()
        crcBytes.u32(crc)
        try output.patch(crcBytes.bytes, at: headerOffset + 14)

        var entry = GGUFEncoder()
        entry.u32(0x0201_4B50)
        entry.u16(zip64 ? 45 : 20); entry.u16(zip64 ? 45 : 20)
        entry.u16(0); entry.u16(0); entry.u16(0); entry.u16(0x21)
        entry.u32(crc)
        entry.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        entry.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        entry.u16(UInt16(memberName.count))
        entry.u16(zip64 ? 28 : 0)
        entry.u16(0); entry.u16(0); entry.u16(0)
        entry.u32(0o100644 << 16)
        entry.u32(zip64 ? 0xFFFF_FFFF : UInt32(headerOffset))
        entry.bytes += memberName
        if zip64 { entry.u16(1); entry.u16(24); entry.u64(UInt64(size)); entry.u64(UInt64(size)); entry.u64(UInt64(headerOffset)) }
        central += entry.bytes
        entryCount += 1
    }

    public func finish() throws {
        try order.checkComplete()
        let directoryOffset = output.written
        try output.write(central)
        let needs64 = entryCount >= 0xFFFF || directoryOffset >= 0xFFFF_FFFF || central.count >= 0xFFFF_FFFF
        var end = GGUFEncoder()
        if needs64 {
            let recordOffset = directoryOffset + central.count
            end.u32(0x0606_4B50); end.u64(44); end.u16(45); end.u16(45); end.u32(0); end.u32(0)
            end.u64(UInt64(entryCount)); end.u64(UInt64(entryCount))
            end.u64(UInt64(central.count)); end.u64(UInt64(directoryOffset))
            end.u32(0x0706_4B50); end.u32(0); end.u64(UInt64(recordOffset)); end.u32(1)
        }
        end.u32(0x0605_4B50); end.u16(0); end.u16(0)
        end.u16(needs64 ? 0xFFFF : UInt16(entryCount)); end.u16(needs64 ? 0xFFFF : UInt16(entryCount))
        end.u32(needs64 ? 0xFFFF_FFFF : UInt32(central.count))
        end.u32(needs64 ? 0xFFFF_FFFF : UInt32(directoryOffset))
        end.u16(0)
        try output.write(end.bytes)
        try output.commit()
    }

    public func abort() { output.abort() }
}
