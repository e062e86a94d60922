import CZlib

/// zlib's CRC-32 over buffers of any size (zlib takes 32-bit lengths).
public enum CRC32 {
    public static func checksum(_ data: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = UInt(seed)
        var done = 0
        while done < data.count {
            let chunk = min(data.count - done, 1 << 30)
            crc = crc32(crc, data.baseAddress!.advanced(by: done).assumingMemoryBound(to: UInt8.self), UInt32(chunk))
            done += chunk
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
