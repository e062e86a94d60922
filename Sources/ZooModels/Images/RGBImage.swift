import ZooTensor

/// A decoded image as 8-bit RGB, row-major height x width x 3 (HWC), the layout PIL's
/// `np.array(im.convert("RGB"))` has.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// pixels: [height, width, 3] uint8.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        try ImageLimits.check(width: width, height: height, path: nil)
        guard pixels.count == width * height * 3 else {
            throw ZooError("RGB image \(width)x\(height) needs \(width * height * 3) bytes, found \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Caps checked on the header's dimensions before any pixel buffer is allocated, so a hostile
/// header (100000 x 100000) fails fast instead of asking for 30 GB.
public enum ImageLimits {
    /// Each side at most this (PNG allows 2^31-1, JPEG 65535).
    public static let maxSide = 65_535
    /// width * height at most 2^28 pixels (268 M pixels, 805 MB as RGB): above PIL's default bomb limit.
    public static let maxPixels = 1 << 28

    public static func check(width: Int, height: Int, path: String?) throws {
        if let problem = problem(width: width, height: height) { throw ZooError(problem, path: path) }
    }

    /// The reason a size is refused, or nil when it is acceptable.
    static func problem(width: Int, height: Int) -> String? {
        if width <= 0 || height <= 0 {
            return "image size \(width)x\(height): width and height must be at least 1"
        }
        if width > maxSide || height > maxSide {
            return "image size \(width)x\(height) exceeds the limit of \(maxSide) pixels per side"
        }
        if width * height > maxPixels {
            return "image size \(width)x\(height) = \(width * height) pixels exceeds the limit of \(maxPixels)"
        }
        return nil
    }
}
