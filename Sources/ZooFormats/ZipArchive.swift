import ZooTensor
import CZlib

/// A member of a ZIP archive as the central directory describes it.
public struct ZipMember: Sendable {
    public let name: String
    public let method: UInt16          // 0 stored, 8 deflate
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// Absolute offset of the member's data (after its local header).
    public let dataOffset: Int
}

/// Reads the central directory of a ZIP file (PKWARE APPNOTE): end-of-central-directory record,
/// zip64 records where a field is saturated, then each entry, checking that every offset and size
/// lies inside the file and that the local header agrees.
public struct ZipArchive {
    public let members: [ZipMember]

    /// Deflate cannot expand data more than about 1032:1; a member claiming more is lying.
    public static let maxDeflateRatio = 1032

    public init(bytes: UnsafeRawBufferPointer, path: String) throws {
        let n = bytes.count
        if n < 22 { throw ZooError("file is \(n) bytes, too short to be a ZIP archive", path: path) }
        // The EOCD record is at the end, followed by a comment of at most 65535 bytes.
        var eocd = -1
        var p = n - 22
        let lowest = max(0, n - 22 - 65535)
        while p >= lowest {
            if bytes[p] == 0x50 && bytes[p + 1] == 0x4B && bytes[p + 2] == 0x05 && bytes[p + 3] == 0x06 { eocd = p; break }
            p -= 1
        }
        if eocd < 0 { throw ZooError("no ZIP end-of-central-directory record found (not a .npz, or truncated)", path: path) }
        var r = ByteReader(bytes, path: path, offset: eocd + 4)
        _ = try r.u16("disk number"); _ = try r.u16("central directory disk")
        _ = try r.u16("entries on this disk")
        var entryCount = Int(try r.u16("entry count"))
        var directorySize = Int(try r.u32("central directory size"))
        var directoryOffset = Int(try r.u32("central directory offset"))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // zip64: the locator sits just before the EOCD record.
            guard eocd >= 20 else { throw ZooError("zip64 fields saturated but no zip64 locator", path: path) }
            var l = ByteReader(bytes, path: path, offset: eocd - 20)
            if try l.u32("zip64 locator signature") != 0x0706_4B50 { throw ZooError("zip64 fields saturated but no zip64 locator", path: path) }
            _ = try l.u32("zip64 disk")
            let recordOffset = try l.count("zip64 end record offset", limit: n - 56)
            var z = ByteReader(bytes, path: path, offset: recordOffset)
            if try z.u32("zip64 end record signature") != 0x0606_4B50 { throw ZooError("bad zip64 end-of-central-directory signature", path: path) }
            _ = try z.u64("zip64 record size"); _ = try z.u16("version made by"); _ = try z.u16("version needed")
            _ = try z.u32("disk"); _ = try z.u32("central directory disk"); _ = try z.u64("entries on disk")
            entryCount = try z.count("zip64 entry count", limit: n / 46)
            directorySize = try z.count("zip64 central directory size", limit: n)
            directoryOffset = try z.count("zip64 central directory offset", limit: n)
        }
        if directoryOffset > n || directorySize > n - directoryOffset {
            throw ZooError("central directory [\(directoryOffset), +\(directorySize)] lies outside the \(n)-byte file", path: path)
        }
        if entryCount > directorySize / 46 + 1 { throw ZooError("entry count \(entryCount) cannot fit in a \(directorySize)-byte central directory", path: path) }
        var c = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<(directoryOffset + directorySize)]), path: path, offset: directoryOffset)
        var members: [ZipMember] = []
        var names = Set<String>()
        for e in 0..<entryCount {
            if try c.u32("central entry \(e) signature") != 0x0201_4B50 { throw ZooError("central directory entry \(e) has a bad signature", path: path) }
            _ = try c.u16("version made by"); _ = try c.u16("version needed")
            let flags = try c.u16("flags")
            let method = try c.u16("method")
            _ = try c.u32("time/date")
            let crc = try c.u32("crc32")
            var compressed = UInt64(try c.u32("compressed size"))
            var uncompressed = UInt64(try c.u32("uncompressed size"))
            let nameLength = Int(try c.u16("name length"))
            let extraLength = Int(try c.u16("extra length"))
            let commentLength = Int(try c.u16("comment length"))
            _ = try c.u16("disk start"); _ = try c.u16("internal attributes"); _ = try c.u32("external attributes")
            var localOffset = UInt64(try c.u32("local header offset"))
            let name = try c.utf8(nameLength, "member \(e) name")
            let extra = try c.slice(extraLength, "member \(e) extra field")
            try c.skip(commentLength, "member \(e) comment")
            // zip64 extended information: present fields are those saturated in the fixed part, in order.
            var x = ByteReader(extra, path: path)
            while x.remaining >= 4 {
                let tag = try x.u16("extra tag"), size = Int(try x.u16("extra size"))
                var field = ByteReader(try x.slice(size, "extra field of '\(name)'"), path: path)
                if tag == 0x0001 {
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try field.u64("zip64 uncompressed size of '\(name)'") }
                    if compressed == 0xFFFF_FFFF { compressed = try field.u64("zip64 compressed size of '\(name)'") }
                    if localOffset == 0xFFFF_FFFF { localOffset = try field.u64("zip64 local offset of '\(name)'") }
                }
            }
            if flags & 1 != 0 { throw ZooError("member '\(name)' is encrypted", path: path) }
            if method != 0 && method != 8 { throw ZooError("member '\(name)' uses compression method \(method); only stored (0) and deflate (8) are supported", path: path) }
            if !names.insert(name).inserted { throw ZooError("member '\(name)' appears twice", path: path) }
            guard localOffset <= UInt64(n - 30), compressed <= UInt64(n), uncompressed <= UInt64(Int.max / 2) else {
                throw ZooError("member '\(name)' has sizes or offsets outside the \(n)-byte file", path: path)
            }
            var l = ByteReader(bytes, path: path, offset: Int(localOffset))
            if try l.u32("local header signature of '\(name)'") != 0x0403_4B50 { throw ZooError("member '\(name)' local header has a bad signature", path: path) }
            try l.skip(22, "local header of '\(name)'")
            let localNameLength = Int(try l.u16("local name length")), localExtraLength = Int(try l.u16("local extra length"))
            let localName = try l.slice(localNameLength, "local name of '\(name)'")
            if !localName.elementsEqual(name.utf8) { throw ZooError("member '\(name)' local header names a different file", path: path) }
            try l.skip(localExtraLength, "local extra field of '\(name)'")
            let dataOffset = l.offset
            if Int(compressed) > n - dataOffset {
                throw ZooError("member '\(name)' claims \(compressed) compressed bytes at offset \(dataOffset), past the end of the \(n)-byte file", path: path)
            }
            if method == 0 && compressed != uncompressed {
                throw ZooError("stored member '\(name)' has compressed size \(compressed) but uncompressed size \(uncompressed)", path: path)
            }
            if method == 8 && uncompressed > compressed * UInt64(ZipArchive.maxDeflateRatio) + 1024 {
                throw ZooError("member '\(name)' claims \(uncompressed) bytes from \(compressed) deflated bytes, more than deflate can produce", path: path)
            }
            members.append(ZipMember(name: name, method: method, crc32: crc, compressedSize: Int(compressed),
                                     uncompressedSize: Int(uncompressed), dataOffset: dataOffset))
        }
        self.members = members
    }

    /// Inflates (or copies) a member's first `limit` bytes, or all of it when `limit` is nil, into `out`.
    /// Returns the number of bytes written. With `limit` nil the CRC and exact size are checked.
    public static func extract(_ member: ZipMember, from bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                               limit: Int? = nil, path: String) throws -> Int {
        let source = UnsafeRawBufferPointer(rebasing: bytes[member.dataOffset..<(member.dataOffset + member.compressedSize)])
        let wanted = min(limit ?? member.uncompressedSize, member.uncompressedSize, out.count)
        var produced = 0
        if member.method == 0 {
            if wanted > 0 { UnsafeMutableRawBufferPointer(rebasing: out[0..<wanted]).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<wanted])) }
            produced = wanted
        } else {
            var stream = z_stream()
            if inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) != Z_OK {
                throw ZooError("cannot start inflating member '\(member.name)'", path: path)
            }
            defer { inflateEnd(&stream) }
            var status: Int32 = Z_OK
            // zlib counts in 32-bit units: feed large members in chunks.
            var inputUsed = 0
            while produced < wanted {
                let inChunk = min(source.count - inputUsed, 1 << 30)
                let outChunk = min(wanted - produced, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress.map { $0.advanced(by: inputUsed).assumingMemoryBound(to: UInt8.self) })
                stream.avail_in = UInt32(inChunk)
                stream.next_out = out.baseAddress!.advanced(by: produced).assumingMemoryBound(to: UInt8.self)
                stream.avail_out = UInt32(outChunk)
                status = inflate(&stream, Z_NO_FLUSH)
                inputUsed += inChunk - Int(stream.avail_in)
                produced += outChunk - Int(stream.avail_out)
                if status == Z_STREAM_END { break }
                if status != Z_OK && status != Z_BUF_ERROR {
                    let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw ZooError("member '\(member.name)' has a corrupt deflate stream: \(reason)", path: path)
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 && inputUsed >= source.count { break }
                if outChunk - Int(stream.avail_out) == 0 && inChunk - Int(stream.avail_in) == 0 { break }
            }
            if limit == nil && status != Z_STREAM_END {
                // The declared size is reached: the stream must end exactly here.
                if produced == wanted {
                    var probe: UInt8 = 0
                    let probeDone: Int32 = withUnsafeMutablePointer(to: &probe) { p in
                        stream.next_out = p
                        stream.avail_out = 1
                        return inflate(&stream, Z_NO_FLUSH)
                    }
                    if probeDone != Z_STREAM_END {
                        throw ZooError("member '\(member.name)' inflates to more than its declared \(member.uncompressedSize) bytes (or is corrupt)", path: path)
                    }
                } else {
                    throw ZooError("member '\(member.name)' inflates to \(produced) bytes, its header says \(member.uncompressedSize)", path: path)
                }
            }
        }
        if limit == nil {
            if produced != member.uncompressedSize {
                throw ZooError("member '\(member.name)' holds \(produced) bytes, its header says \(member.uncompressedSize)", path: path)
            }
            var crc: UInt = 0
            var done = 0
            while done < produced {
                let chunk = min(produced - done, 1 << 30)
                crc = crc32(crc, out.baseAddress!.advanced(by: done).assumingMemoryBound(to: UInt8.self), UInt32(chunk))
                done += chunk
            }
            if UInt32(truncatingIfNeeded: crc) != member.crc32 {
                throw ZooError("member '\(member.name)' fails its CRC check (stored 0x\(String(member.crc32, radix: 16)), computed 0x\(String(UInt32(truncatingIfNeeded: crc), radix: 16)))", path: path)
            }
        }
        return produced
    }
}
