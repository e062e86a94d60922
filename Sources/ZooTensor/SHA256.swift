#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
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

    /// The hex digest of a whole file. The file is read with read(2) into one reused 1 MiB buffer
    /// (not mapped), so hashing a large file adds only that buffer to the resident size and leaves
    /// no mapped pages to release; the buffer stays in cache while it is hashed.
    /// `stop`, checked between reads, abandons the hash (a caller that no longer needs it).
    public static func hex(file path: String, stop: (() -> Bool)? = nil) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ZooError("cannot open for reading: \(String(cString: strerror(errno)))", path: path) }
        defer { close(fd) }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        var h = SHA256()
        while true {
            if let stop, stop() { throw ZooError("hashing stopped", path: path) }
            let n = read(fd, buffer, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw ZooError("cannot read: \(String(cString: strerror(errno)))", path: path)
            }
            if n == 0 { break }
            h.update(UnsafeRawBufferPointer(start: buffer, count: n))
        }
        return h.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    public static var usesHardware: Bool { zoo_sha256_uses_shani() != 0 }
}
