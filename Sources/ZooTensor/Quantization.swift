/// Reference (plain, scalar) codecs for ggml block types. Bit-exact with ggml-quants.c's `_ref`
/// functions; the fast kernels in CKernels are tested against these.
public enum Quantization {
    public static let q8_0BlockBytes = 34

    /// x: [n] (n % 32 == 0) -> n/32 Q8_0 blocks (f16 d, 32 x int8).
    public static func quantizeQ8_0(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawBufferPointer) {
        let blocks = x.count / 32
        for b in 0..<blocks {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[b * 32 + j])) }
            let d = amax / 127
            // A subnormal d makes 1/d infinite, and x * inf would reach Int(inf), which traps. Such a
            // d is 0 as f16 anyway; the block becomes all zeros, as the C kernels' zk_block_scale does.
            let inverse = 1 / d
            let id: Float = d != 0 && inverse.isFinite ? inverse : 0
            let base = b * q8_0BlockBytes
            out.storeBytes(of: HalfFloat.f32ToF16(d).littleEndian, toByteOffset: base, as: UInt16.self)
            for j in 0..<32 {
                let q = (x[b * 32 + j] * id).rounded(.toNearestOrAwayFromZero)  // roundf
                out.storeBytes(of: Int8(clamping: Int(q.isNaN ? 0 : q)), toByteOffset: base + 2 + j, as: Int8.self)
            }
        }
    }

    @inline(__always)
    static func half(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        HalfFloat.f16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Dequantizes `blocks` blocks of `dtype` from `raw` into `out` (count = blocks * blockSize).
    public static func dequantize(_ dtype: DType, _ raw: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) throws {
        let bs = dtype.blockSize, bb = dtype.bytesPerBlock
        let blocks = out.count / bs
        for b in 0..<blocks {
            let o = b * bb, y = b * bs
            switch dtype {
            case .q8_0:
                let d = half(raw, o)
                for j in 0..<32 { out[y + j] = Float(raw.load(fromByteOffset: o + 2 + j, as: Int8.self)) * d }
            case .q4_0:
                let d = half(raw, o)
                for j in 0..<16 {
                    let q = raw[o + 2 + j]
                    out[y + j] = Float(Int(q & 0x0F) - 8) * d
                    out[y + j + 16] = Float(Int(q >> 4) - 8) * d
                }
            case .q4_1:
                let d = half(raw, o), m = half(raw, o + 2)
                for j in 0..<16 {
                    let q = raw[o + 4 + j]
                    out[y + j] = Float(q & 0x0F) * d + m
                    out[y + j + 16] = Float(q >> 4) * d + m
                }
            case .q5_0, .q5_1:
                let hasMin = dtype == .q5_1
                let d = half(raw, o), m: Float = hasMin ? half(raw, o + 2) : 0
                let hOff = o + (hasMin ? 4 : 2)
                let h = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: hOff, as: UInt32.self))
                for j in 0..<16 {
                    let q = raw[hOff + 4 + j]
                    let lo = Int(q & 0x0F) | Int((h >> UInt32(j)) & 1) << 4
                    let hi = Int(q >> 4) | Int((h >> UInt32(j + 16)) & 1) << 4
                    if hasMin {
                        out[y + j] = Float(lo) * d + m
                        out[y + j + 16] = Float(hi) * d + m
                    } else {
                        out[y + j] = Float(lo - 16) * d
                        out[y + j + 16] = Float(hi - 16) * d
                    }
                }
            case .q4_K:
                dequantizeQ4K(raw, o, out, y)
            case .q6_K:
                dequantizeQ6K(raw, o, out, y)
            default:
                throw ZooError("cannot compute with \(dtype.name) yet (known by size only)")
            }
        }
    }

    // 6-bit scale and min of sub-block j from the 12 packed scale bytes (ggml's get_scale_min_k4).
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ s: (Int) -> UInt8) -> (UInt8, UInt8) {
        if j < 4 { return (s(j) & 63, s(j + 4) & 63) }
        return ((s(j + 4) & 0x0F) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4))
    }

    static func dequantizeQ4K(_ raw: UnsafeRawBufferPointer, _ o: Int, _ out: UnsafeMutableBufferPointer<Float>, _ y: Int) {
        let d = half(raw, o), dmin = half(raw, o + 2)
        let scales = { (i: Int) in raw[o + 4 + i] }
        var qs = o + 16
        var yi = y
        var sub = 0
        for _ in 0..<4 {  // 4 chunks of 64 elements sharing 32 bytes of nibbles
            let (sc1, m1) = scaleMinK4(sub, scales)
            let (sc2, m2) = scaleMinK4(sub + 1, scales)
            let d1 = d * Float(sc1), mm1 = dmin * Float(m1)
            let d2 = d * Float(sc2), mm2 = dmin * Float(m2)
            for l in 0..<32 { out[yi + l] = d1 * Float(raw[qs + l] & 0x0F) - mm1 }
            for l in 0..<32 { out[yi + 32 + l] = d2 * Float(raw[qs + l] >> 4) - mm2 }
            qs += 32; yi += 64; sub += 2
        }
    }

    static func dequantizeQ6K(_ raw: UnsafeRawBufferPointer, _ o: Int, _ out: UnsafeMutableBufferPointer<Float>, _ y: Int) {
        let d = half(raw, o + 208)
        var ql = o, qh = o + 128, sc = o + 192
        var yi = y
        for _ in 0..<2 {  // two halves of 128 elements
            for l in 0..<32 {
                let isc = l / 16
                let h = Int(raw[qh + l])
                let q1 = Int(raw[ql + l] & 0x0F) | ((h >> 0) & 3) << 4
                let q2 = Int(raw[ql + l + 32] & 0x0F) | ((h >> 2) & 3) << 4
                let q3 = Int(raw[ql + l] >> 4) | ((h >> 4) & 3) << 4
                let q4 = Int(raw[ql + l + 32] >> 4) | ((h >> 6) & 3) << 4
                let s = { (k: Int) in Float(raw.load(fromByteOffset: sc + k, as: Int8.self)) }
                out[yi + l] = d * s(isc) * Float(q1 - 32)
                out[yi + l + 32] = d * s(isc + 2) * Float(q2 - 32)
                out[yi + l + 64] = d * s(isc + 4) * Float(q3 - 32)
                out[yi + l + 96] = d * s(isc + 6) * Float(q4 - 32)
            }
            yi += 128; ql += 64; qh += 32; sc += 8
        }
    }
}
