import CImage
import ZooTensor

/// PNG decoding through libpng's simplified API (`png_image_*`), which reports errors through the
/// image's `message` field instead of longjmp, so Swift can call it safely.
///
/// Conversions follow PIL's `Image.open(f).convert("RGB")`:
/// - grey is replicated into R, G, B; alpha is dropped (not composited); palettes are looked up
///   (tRNS ignored, since the alpha it becomes is dropped);
/// - 16-bit RGB keeps the high byte of each sample (PIL's "RGB;16B" raw mode truncates);
/// - 16-bit grey becomes PIL mode I;16, whose conversion to RGB clips each value to 255.
/// 16-bit samples are read through libpng's "linear" 16-bit output, which leaves them unchanged
/// when the file has neither alpha nor a gAMA/sRGB chunk that asks for a gamma change.
enum PNGDecoder {
    static func isPNG(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return bytes.count >= 8 && zip(bytes.prefix(8), signature).allSatisfy { $0 == $1 }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, path: String?) throws -> RGBImage {
        guard let base = bytes.baseAddress, bytes.count >= 8 else {
            throw ZooError("PNG file is \(bytes.count) bytes, too short for a signature", path: path)
        }
        // The IHDR fields sit at fixed offsets; read them ourselves so that a zero or huge size gets
        // Zoo's message (libpng's own checks say less).
        if bytes.count >= 24 {
            let width = readBE32(bytes, 16), height = readBE32(bytes, 20)
            try ImageLimits.check(width: width, height: height, path: path)
            // The pixel buffers are allocated before libpng inflates anything, so a header alone must
            // not be able to ask for them: deflate expands at most 1032:1 (a 258-byte match in 2
            // bits), so the filtered rows cannot outgrow 1032 times the whole file.
            // (Bit depth and colour type follow at 24 and 25; for a file that ends before them, the
            // smallest case, one bit per pixel.)
            let bitsPerSample = bytes.count >= 26 ? Int(bytes[24]) : 1
            let samples = bytes.count >= 26 ? [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(bytes[25])] ?? 1 : 1
            let rawBytes = height * (1 + (width * samples * bitsPerSample + 7) / 8)
            if rawBytes > 1032 * bytes.count {
                throw ZooError("PNG header says \(width)x\(height) (\(rawBytes) bytes of pixel data), more than the "
                               + "file's \(bytes.count) bytes can hold compressed (deflate expands at most 1032:1)",
                               path: path)
            }
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        if png_image_begin_read_from_memory(&image, base, bytes.count) == 0 {
            throw ZooError("not a readable PNG: \(message(of: &image))", path: path)
        }
        let width = Int(image.width), height = Int(image.height)
        try ImageLimits.check(width: width, height: height, path: path)

        let fileFormat = image.format
        let hasAlpha = fileFormat & png_uint_32(PNG_FORMAT_FLAG_ALPHA) != 0
        let isColor = fileFormat & png_uint_32(PNG_FORMAT_FLAG_COLOR) != 0
        let isSixteen = fileFormat & png_uint_32(PNG_FORMAT_FLAG_LINEAR) != 0
        // Native channel layout, without colour map: libpng expands palettes and low bit depths.
        var format = png_uint_32(0)
        if isColor { format |= png_uint_32(PNG_FORMAT_FLAG_COLOR) }
        if hasAlpha { format |= png_uint_32(PNG_FORMAT_FLAG_ALPHA) }
        if isSixteen { format |= png_uint_32(PNG_FORMAT_FLAG_LINEAR) }
        image.format = format
        let channels = (isColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        // png_image_finish_read's row stride counts components, not bytes.

        var out = [UInt8](repeating: 0, count: width * height * 3)
        if isSixteen {
            var buffer = [UInt16](repeating: 0, count: width * height * channels)
            let ok = buffer.withUnsafeMutableBytes { raw in
                png_image_finish_read(&image, nil, raw.baseAddress, png_int_32(width * channels), nil)
            }
            if ok == 0 { throw ZooError("corrupt PNG: \(message(of: &image))", path: path) }
            for p in 0..<(width * height) {
                for c in 0..<3 {
                    let v = buffer[p * channels + (isColor ? c : 0)]
                    // RGB: high byte (PIL truncates); grey (mode I;16): clipped to 255.
                    out[p * 3 + c] = isColor ? UInt8(v >> 8) : UInt8(min(v, 255))
                }
            }
        } else {
            var buffer = [UInt8](repeating: 0, count: width * height * channels)
            let ok = buffer.withUnsafeMutableBytes { raw in
                png_image_finish_read(&image, nil, raw.baseAddress, png_int_32(width * channels), nil)
            }
            if ok == 0 { throw ZooError("corrupt PNG: \(message(of: &image))", path: path) }
            for p in 0..<(width * height) {
                for c in 0..<3 { out[p * 3 + c] = buffer[p * channels + (isColor ? c : 0)] }
            }
        }
        return try RGBImage(width: width, height: height, pixels: out)
    }

    private static func readBE32(_ b: UnsafeRawBufferPointer, _ at: Int) -> Int {
        (Int(b[at]) << 24) | (Int(b[at + 1]) << 16) | (Int(b[at + 2]) << 8) | Int(b[at + 3])
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.prefix(while: { $0 != 0 })
            return String(decoding: chars, as: UTF8.self)
        }
    }
}
