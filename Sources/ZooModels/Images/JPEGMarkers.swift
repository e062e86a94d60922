import ZooTensor

/// A Swift walk over the JPEG marker segments up to the frame header (SOFn), done before libjpeg
/// sees the bytes: it rejects garbage after SOI, segments running past the end, and frame sizes
/// over Zoo's limits with messages that say what was found where.
enum JPEGMarkers {
    static func checkFrameHeader(_ b: UnsafeRawBufferPointer, path: String?) throws {
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else {
            throw ZooError("not a JPEG: expected the SOI marker FF D8 at offset 0", path: path)
        }
        var at = 2
        while true {
            guard at + 1 < b.count else {
                throw ZooError("JPEG ends at byte \(b.count) before its frame header (SOFn)", path: path)
            }
            guard b[at] == 0xFF else {
                throw ZooError("corrupt JPEG: expected a marker (FF xx) at offset \(at), found byte 0x\(hex(b[at]))",
                               path: path)
            }
            var markerAt = at + 1
            while markerAt < b.count && b[markerAt] == 0xFF { markerAt += 1 }  // fill bytes
            guard markerAt < b.count else { throw ZooError("JPEG ends inside a marker at offset \(at)", path: path) }
            let marker = b[markerAt]
            at = markerAt + 1
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }  // standalone markers
            if marker == 0xD9 || marker == 0xDA || marker == 0x00 {
                throw ZooError("corrupt JPEG: marker FF \(hex(marker)) at offset \(markerAt - 1) before any frame header (SOFn)",
                               path: path)
            }
            guard at + 2 <= b.count else {
                throw ZooError("JPEG ends inside the length of marker FF \(hex(marker)) at offset \(markerAt - 1)", path: path)
            }
            let length = Int(b[at]) << 8 | Int(b[at + 1])
            guard length >= 2, at + length <= b.count else {
                throw ZooError("corrupt JPEG: segment FF \(hex(marker)) at offset \(markerAt - 1) has length \(length), "
                               + "\(b.count - at) bytes remain", path: path)
            }
            let isFrame = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isFrame {
                guard length >= 8 else {
                    throw ZooError("corrupt JPEG: frame header of length \(length), expected at least 8", path: path)
                }
                let height = Int(b[at + 3]) << 8 | Int(b[at + 4])
                let width = Int(b[at + 5]) << 8 | Int(b[at + 6])
                try ImageLimits.check(width: width, height: height, path: path)
                // The RGB buffer is allocated before libjpeg reads a scan, so a header alone must not
                // be able to ask for it. A Huffman-coded file that decodes without a warning has a
                // DC scan coding every block of some component in at least one bit, and a component
                // has at least one 8x8 block per 32x32 pixels (sampling factors are at most 4).
                // Arithmetic coding (SOF9-SOF15) has no such floor and keeps only the size cap.
                let minimumBlocks = (width / 32) * (height / 32)
                if marker < 0xC8 && minimumBlocks > 8 * b.count {
                    throw ZooError("JPEG frame header says \(width)x\(height), which takes at least \(minimumBlocks) coded "
                                   + "blocks of one bit or more; the file has only \(b.count) bytes", path: path)
                }
                return
            }
            at += length
        }
    }

    private static func hex(_ v: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(v >> 4)], digits[Int(v & 15)]])
    }
}
