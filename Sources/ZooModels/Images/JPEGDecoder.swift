import CImageCodec
import ZooTensor

/// JPEG decoding through libjpeg(-turbo), via the C glue in CImageCodec: libjpeg reports fatal
/// errors by longjmp, which must stay inside C, and the glue turns them into return codes.
/// Corrupt-data warnings (truncated file, bad Huffman code) are errors too: libjpeg would
/// otherwise fill the missing data with grey, where PIL raises.
///
/// Conversion follows PIL: libjpeg's defaults (islow IDCT, fancy upsampling) to RGB; a grey file is
/// replicated into R, G, B. CMYK/YCCK files are rejected.
enum JPEGDecoder {
    static func isJPEG(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, path: String?) throws -> RGBImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count >= 4 else {
            throw ZooError("JPEG file is \(bytes.count) bytes, too short", path: path)
        }
        // Our own marker walk first: clearer messages, and the size cap before libjpeg allocates.
        try JPEGMarkers.checkFrameHeader(bytes, path: path)
        var message = [CChar](repeating: 0, count: 256)
        var width: Int32 = 0, height: Int32 = 0, components: Int32 = 0
        let infoStatus = zoo_jpeg_info(base, bytes.count, &width, &height, &components, &message, message.count)
        if infoStatus != 0 { throw ZooError("corrupt JPEG header: \(text(message))", path: path) }
        try ImageLimits.check(width: Int(width), height: Int(height), path: path)
        guard components == 1 || components == 3 else {
            throw ZooError("JPEG with \(components) components (CMYK/YCCK) is not supported; expected 1 (grey) or 3 (colour)",
                           path: path)
        }
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = pixels.withUnsafeMutableBufferPointer { out in
            zoo_jpeg_decode_rgb(base, bytes.count, out.baseAddress, out.count, &message, message.count)
        }
        if status != 0 { throw ZooError("corrupt JPEG: \(text(message))", path: path) }
        return try RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
