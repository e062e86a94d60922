import CHash

/// SHA-256 for provenance records, streaming over any number of chunks. The work is done by
/// CHash (x86 SHA extensions when present, portable C otherwise).
public struct SHA256 {
    private var context = zoo_sha256_ctx()

    public init() { zoo_sha256_init(&context) }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard let base = data.baseAddress, data.count > 0 else { return }
        zoo_sha256_update(&context, base, data.count)
    }

    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { zoo_sha256_final(&context, $0.baseAddress) }
        return digest
    }

    public static func hex(_ data: UnsafeRawBufferPointer) -> String {
        var h = SHA256()
        h.update(data)
        return h.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The hex digest of a whole file, read through its mapping.
    public static func hex(file path: String) throws -> String {
        let file = try MappedFile(path: path)
        file.adviseSequential()
        var h = SHA256()
        var offset = 0
        let chunk = 32 << 20
        while offset < file.count {
            let end = min(offset + chunk, file.count)
            h.update(UnsafeRawBufferPointer(rebasing: file.bytes[offset..<end]))
            file.release(offset..<end)  // keep the resident size at one chunk, not the file
            offset = end
        }
        return h.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    public static var usesHardware: Bool { zoo_sha256_uses_shani() != 0 }
}
