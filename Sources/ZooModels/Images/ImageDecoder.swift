import Foundation
import ZooTensor

/// Reads an image file (PNG or JPEG, told apart by their first bytes) into 8-bit RGB.
public enum ImageDecoder {
    /// Files above this size are refused before reading (a 65535^2 PNG compresses far below it).
    public static let maxFileBytes = 1 << 30

    public static func decode(file path: String) throws -> RGBImage {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
            throw ZooError("no such image file", path: path)
        }
        if size > maxFileBytes {
            throw ZooError("image file is \(size) bytes, over the limit of \(maxFileBytes)", path: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ZooError("cannot read the image file", path: path)
        }
        return try data.withUnsafeBytes { try decode(bytes: $0, path: path) }
    }

    public static func decode(bytes: UnsafeRawBufferPointer, path: String? = nil) throws -> RGBImage {
        if PNGDecoder.isPNG(bytes) { return try PNGDecoder.decode(bytes, path: path) }
        if JPEGDecoder.isJPEG(bytes) {
            return try JPEGDecoder.decode(bytes, path: path)
        }
        throw ZooError("unknown image format: expected a PNG (89 50 4E 47 0D 0A 1A 0A) or a JPEG (FF D8) signature",
                       path: path)
    }
}
