/// IEEE binary16 and bfloat16 conversions, bit-exact with ggml and PyTorch:
/// round-to-nearest-even on narrowing, exact on widening, NaN stays NaN.
public enum HalfFloat {
    /// f16 bits -> f32 (exact).
    @inlinable
    public static func f16ToF32(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        var mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F {  // inf / NaN: keep the payload, widened
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: normalise.
            var e: UInt32 = 127 - 15 + 1
            while mantissa & 0x0400 == 0 { mantissa <<= 1; e -= 1 }
            mantissa &= 0x03FF
            return Float(bitPattern: sign | (e << 23) | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
    }

    /// f32 -> f16 bits, round to nearest even; overflow gives inf; NaN gives a quiet NaN.
    @inlinable
    public static func f32ToF16(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        let mantissa = x & 0x007F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)  // quiet NaN, payload kept
        }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal or zero in f16.
            if e < -10 { return sign }
            let m = mantissa | 0x0080_0000
            let shift = UInt32(14 - e)
            var half = m >> shift
            let remainder = m & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1) { half += 1 }  // may carry into exponent: correct
        return sign | UInt16(half)
    }

    @inlinable
    public static func bf16ToF32(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// f32 -> bf16 bits as ggml's `ggml_compute_fp32_to_bf16` and PyTorch do it.
    @inlinable
    public static func f32ToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if (bits & 0x7FFF_FFFF) > 0x7F80_0000 { return UInt16(bits >> 16) | 0x40 }  // NaN: force quiet
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
