import ZooTensor

/// PIL's resampling filters for 8-bit images, reproduced operation for operation so that Zoo's
/// resized pixels equal PIL's (see formats/image-preprocessing.md for the measured difference).
///
/// PIL (`Image.resize`, libImaging/Resample.c) resizes separably: a horizontal and a
/// vertical pass, each rounded back to uint8. Per output pixel it centres the filter at
/// `(x + 0.5) * scale` in input coordinates; when shrinking it widens the filter by the scale
/// factor (antialiasing); weights are normalised to sum 1 and converted to fixed point with 22
/// fractional bits; the sum starts at one half (rounding) and is clipped to 0...255.
public enum ResampleFilter: Sendable, Equatable {
    case bilinear
    case bicubic

    /// PIL's resample codes: 2 = BILINEAR, 3 = BICUBIC.
    public init(pilCode: Int) throws {
        switch pilCode {
        case 2: self = .bilinear
        case 3: self = .bicubic
        default: throw ZooError("resample \(pilCode) is not supported; expected 2 (bilinear) or 3 (bicubic)")
        }
    }

    /// Half-width of the filter at scale 1.
    var support: Double { self == .bilinear ? 1 : 2 }

    func weight(_ t: Double) -> Double {
        let x = abs(t)
        switch self {
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5  // PIL's cubic coefficient (Keys), not -0.75 as in OpenCV
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}

enum Resampler {
    static let precisionBits = 22  // 32 - 8 - 2, as PIL

    /// Per output index: the first input index and the fixed-point weights.
    struct Taps {
        var first: [Int]
        var weights: [[Int]]
    }

    static func taps(inSize: Int, outSize: Int, filter: ResampleFilter) -> Taps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)  // upsampling keeps the natural width
        let support = filter.support * filterScale
        let inverse = 1 / filterScale
        var first = [Int](repeating: 0, count: outSize)
        var weights = [[Int]](repeating: [], count: outSize)
        let one = Double(1 << precisionBits)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) truncates toward zero; the clamps make that equal to floor here.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize)
            var w = (xmin..<max(xmax, xmin)).map { filter.weight((Double($0) - center + 0.5) * inverse) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            first[xx] = xmin
            weights[xx] = w.map { v in v < 0 ? Int(-0.5 + v * one) : Int(0.5 + v * one) }
        }
        return Taps(first: first, weights: weights)
    }

    /// One pass along one axis of a [rows, cols, 3] uint8 image.
    /// horizontal: [H, W, 3] -> [H, outSize, 3]; vertical: [H, W, 3] -> [outSize, W, 3].
    static func pass(_ src: [UInt8], width: Int, height: Int, horizontal: Bool, outSize: Int,
                     filter: ResampleFilter) -> [UInt8] {
        let inSize = horizontal ? width : height
        let taps = taps(inSize: inSize, outSize: outSize, filter: filter)
        let outWidth = horizontal ? outSize : width, outHeight = horizontal ? height : outSize
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        let half = 1 << (precisionBits - 1)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let i = horizontal ? x : y
                        let w = taps.weights[i], start = taps.first[i]
                        for c in 0..<3 {
                            var acc = half
                            for (k, wk) in w.enumerated() {
                                let sx = horizontal ? start + k : x, sy = horizontal ? y : start + k
                                acc += wk * Int(s[(sy * width + sx) * 3 + c])
                            }
                            // Arithmetic shift = floor, then clip, as PIL's clip8.
                            o[(y * outWidth + x) * 3 + c] = UInt8(min(max(acc >> precisionBits, 0), 255))
                        }
                    }
                }
            }
        }
        return out
    }

    /// [H, W, 3] -> [height, width, 3] in two passes, each rounded to uint8. Pillow 13 runs the
    /// vertical pass first when the height shrinks by more than twice what the width shrinks
    /// (dh > 0 and dh > 2 dw, dh = H - height, dw = W - width), else the horizontal pass first
    /// (Pillow <= 12 always went horizontal first). A side that keeps its size gets no pass.
    static func resize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter) throws -> RGBImage {
        var pixels = image.pixels
        var w = image.width, h = image.height
        let dh = image.height - height, dw = image.width - width
        let verticalFirst = dh > 0 && dh > 2 * dw
        for horizontal in verticalFirst ? [false, true] : [true, false] {
            if horizontal && width != w {
                pixels = pass(pixels, width: w, height: h, horizontal: true, outSize: width, filter: filter)
                w = width
            } else if !horizontal && height != h {
                pixels = pass(pixels, width: w, height: h, horizontal: false, outSize: height, filter: filter)
                h = height
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }
}

extension RGBImage {
    /// Resized to width x height with PIL's semantics for `filter`.
    public func resized(width: Int, height: Int, filter: ResampleFilter) throws -> RGBImage {
        try ImageLimits.check(width: width, height: height, path: nil)
        return try Resampler.resize(self, width: width, height: height, filter: filter)
    }

    /// The width x height block whose top-left corner is (left, top).
    public func cropped(left: Int, top: Int, width: Int, height: Int) throws -> RGBImage {
        guard left >= 0, top >= 0, width > 0, height > 0, left + width <= self.width, top + height <= self.height else {
            throw ZooError("crop \(width)x\(height) at (\(left), \(top)) does not fit in a \(self.width)x\(self.height) image")
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let from = ((top + y) * self.width + left) * 3
            out.replaceSubrange((y * width * 3)..<((y + 1) * width * 3), with: pixels[from..<(from + width * 3)])
        }
        return try RGBImage(width: width, height: height, pixels: out)
    }
}
