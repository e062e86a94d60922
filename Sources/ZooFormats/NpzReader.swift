import ZooTensor

/// A `.npz` archive (numpy savez / savez_compressed): each `<name>.npy` member is one tensor.
/// Stored members are read in place; deflated ones are inflated when the tensor is asked for
/// (only their headers are inflated when the file is opened).
public final class NpzReader: CheckpointReader, @unchecked Sendable {
    public let path: String
    public let format = CheckpointFormat.npz
    public let file: MappedFile
    public let metadata: [MetadataEntry] = []
    public private(set) var tensors: [TensorInfo] = []
    private var entries: [String: (member: ZipMember, header: NpyHeader)] = [:]

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        path = file.path
        let zip = try ZipArchive(bytes: file.bytes, path: path)
        for member in zip.members where member.name.hasSuffix(".npy") {
            let name = String(member.name.dropLast(4))
            let header = try readHeader(member)
            let bytes: Int
            do { bytes = try header.dtype.byteCount(shape: header.shape) } catch let e as ZooError { throw ZooError(e.message, path: path, tensor: name) }
            if member.uncompressedSize - header.dataOffset != bytes {
                throw ZooError("\(header.dtype.name) \(header.shape) needs \(bytes) bytes of data, the member holds \(member.uncompressedSize - header.dataOffset)", path: path, tensor: name)
            }
            entries[name] = (member, header)
            tensors.append(TensorInfo(name: name, dtype: header.dtype, shape: header.shape, byteCount: bytes))
        }
    }

    private func readHeader(_ member: ZipMember) throws -> NpyHeader {
        if member.method == 0 {
            let data = UnsafeRawBufferPointer(rebasing: file.bytes[member.dataOffset..<(member.dataOffset + member.compressedSize)])
            return try NpyHeader.parse(data, path: path + ":" + member.name)
        }
        // Inflate the fixed prefix, learn the header length, then inflate just the header.
        var prefix = [UInt8](repeating: 0, count: 12)
        let got = try prefix.withUnsafeMutableBytes { try ZipArchive.extract(member, from: file.bytes, into: $0, limit: 12, path: path) }
        var headerLength = got
        if got >= 10 {
            // Parenthesised: Swift's | has the precedence of +, so 10 + lo | hi << 8 was (10 + lo) | hi << 8.
            headerLength = prefix[6] == 1 ? 10 + (Int(prefix[8]) | Int(prefix[9]) << 8)
                : 12 + (Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24)
        }
        headerLength = min(headerLength, NpyHeader.maxHeaderBytes + 12, member.uncompressedSize)
        var head = [UInt8](repeating: 0, count: max(headerLength, 1))
        let n = try head.withUnsafeMutableBytes { try ZipArchive.extract(member, from: file.bytes, into: $0, limit: headerLength, path: path) }
        return try head.withUnsafeBytes { try NpyHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: path + ":" + member.name) }
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let (member, header) = entries[name] else { throw ZooError("no such tensor", path: path, tensor: name) }
        if member.method == 0 {
            let whole = UnsafeRawBufferPointer(rebasing: file.bytes[member.dataOffset..<(member.dataOffset + member.compressedSize)])
            let scratch = UnsafeMutableRawBufferPointer(mutating: whole)
            _ = scratch  // stored data is checked in place, never written
            try checkStoredCRC(member, whole)
            return try NpyDecoding.tensor(header: header, data: UnsafeRawBufferPointer(rebasing: whole[header.dataOffset...]),
                                          owner: file, path: path, name: name)
        }
        let storage = TensorStorage(zeroed: member.uncompressedSize)
        guard let out = storage.mutableBytes else { throw ZooError("cannot allocate", path: path, tensor: name) }
        _ = try ZipArchive.extract(member, from: file.bytes, into: out, path: path)
        return try NpyDecoding.tensor(header: header, data: UnsafeRawBufferPointer(rebasing: storage.bytes[header.dataOffset...]),
                                      owner: storage, path: path, name: name)
    }

    private func checkStoredCRC(_ member: ZipMember, _ data: UnsafeRawBufferPointer) throws {
        let crc = CRC32.checksum(data)
        if crc != member.crc32 {
            throw ZooError("member '\(member.name)' fails its CRC check (stored 0x\(String(member.crc32, radix: 16)), computed 0x\(String(crc, radix: 16)))", path: path)
        }
    }
}
