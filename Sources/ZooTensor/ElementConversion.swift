/// Converting tensor elements between dtypes. Plain scalar code; bulk paths that matter for speed
/// call the C kernels from higher layers.
public enum ElementConversion {
    /// Writes every element of `t` as f32 into `out` (which holds t.count values).
    public static func toF32(_ t: Tensor, into out: UnsafeMutableBufferPointer<Float>) throws {
        let raw = t.bytes
        let n = t.count
        switch t.dtype {
        case .f32:
            if n > 0 { UnsafeMutableRawBufferPointer(out).copyMemory(from: raw) }
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
        case .f64: for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .f16: for i in 0..<n { out[i] = HalfFloat.f16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16: for i in 0..<n { out[i] = HalfFloat.bf16ToF32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .i64: for i in 0..<n { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        case .u64: for i in 0..<n { out[i] = Float(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
        case .i32: for i in 0..<n { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .u32: for i in 0..<n { out[i] = Float(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .i16: for i in 0..<n { out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .u16: for i in 0..<n { out[i] = Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .i8: for i in 0..<n { out[i] = Float(raw.load(fromByteOffset: i, as: Int8.self)) }
        case .u8: for i in 0..<n { out[i] = Float(raw[i]) }
        case .bool: for i in 0..<n { out[i] = raw[i] != 0 ? 1 : 0 }
        default:
            try Quantization.dequantize(t.dtype, raw, into: out)
        }
    }

    /// Encodes f32 values as `dtype` (f32, f16, bf16, f64 or q8_0) into a new tensor of `shape`.
    public static func fromF32(_ values: UnsafeBufferPointer<Float>, as dtype: DType, shape: Shape) throws -> Tensor {
        let t = try Tensor(zeros: dtype, shape: shape)
        guard values.count == t.count else { throw ZooError("\(values.count) values do not fill shape \(shape)") }
        guard let dst = t.mutableBytes else { return t }
        let n = values.count
        switch dtype {
        case .f32: if n > 0 { dst.copyMemory(from: UnsafeRawBufferPointer(values)) }
        case .f64: for i in 0..<n { dst.storeBytes(of: Double(values[i]).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        case .f16: for i in 0..<n { dst.storeBytes(of: HalfFloat.f32ToF16(values[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16: for i in 0..<n { dst.storeBytes(of: HalfFloat.f32ToBF16(values[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0: Quantization.quantizeQ8_0(values, into: dst)
        default: throw ZooError("cannot encode values as \(dtype.name)")
        }
        return t
    }

    /// Converts a tensor to another floating-point dtype. Same dtype returns the input unchanged (no copy).
    public static func convert(_ t: Tensor, to dtype: DType) throws -> Tensor {
        if t.dtype == dtype { return t }
        var values = [Float](repeating: 0, count: t.count)
        try values.withUnsafeMutableBufferPointer { try toF32(t, into: $0) }
        return try values.withUnsafeBufferPointer { try fromF32($0, as: dtype, shape: t.shape) }
    }
}
