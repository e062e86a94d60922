import ZooTensor

/// The patch embedding as a matrix product: the Conv2d with kernel = stride = patch size is the
/// same as cutting the image into patches, flattening each to (channel, row, column) order (the
/// order of the conv weight [C, ch, p, p] flattened) and multiplying by W^T.
enum ViTPatches {
    /// pixels: [B, ch, H, W] -> [B * (H/p) * (W/p), ch*p*p], patches in row-major grid order
    /// (row of patches, then column), as HF's flatten(2).transpose(1, 2) orders them.
    static func im2col(_ pixels: [Float], batch b: Int, channels ch: Int, height h: Int, width w: Int,
                       patch p: Int) throws -> [Float] {
        guard p > 0, h % p == 0, w % p == 0 else {
            throw ZooError("patch size \(p) does not divide the image size \(h)x\(w)")
        }
        guard pixels.count == b * ch * h * w else {
            throw ZooError("pixel tensor has \(pixels.count) values, expected [\(b), \(ch), \(h), \(w)]")
        }
        let gh = h / p, gw = w / p, k = ch * p * p
        var out = [Float](repeating: 0, count: b * gh * gw * k)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for bi in 0..<b {
                    for py in 0..<gh {
                        for px in 0..<gw {
                            let row = ((bi * gh + py) * gw + px) * k
                            for c in 0..<ch {
                                for i in 0..<p {
                                    let from = ((bi * ch + c) * h + py * p + i) * w + px * p
                                    let to = row + (c * p + i) * p
                                    for j in 0..<p { dst[to + j] = src[from + j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
