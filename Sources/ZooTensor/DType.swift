/// Element types of tensors, including ggml's block-quantized types.
///
/// A plain type has one element per "block"; a quantized type packs `blockSize` elements into
/// `bytesPerBlock` bytes along the innermost dimension.
public enum DType: String, CaseIterable, Sendable, Hashable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"
    case q4_0 = "Q4_0", q4_1 = "Q4_1", q5_0 = "Q5_0", q5_1 = "Q5_1", q8_0 = "Q8_0", q8_1 = "Q8_1"
    case q2_K = "Q2_K", q3_K = "Q3_K", q4_K = "Q4_K", q5_K = "Q5_K", q6_K = "Q6_K", q8_K = "Q8_K"
    case iq2_xxs = "IQ2_XXS", iq2_xs = "IQ2_XS", iq3_xxs = "IQ3_XXS", iq1_s = "IQ1_S", iq4_nl = "IQ4_NL"
    case iq3_s = "IQ3_S", iq2_s = "IQ2_S", iq4_xs = "IQ4_XS", iq1_m = "IQ1_M", tq1_0 = "TQ1_0", tq2_0 = "TQ2_0"

    /// The name as safetensors spells plain types and ggml spells block types.
    public var name: String { rawValue }

    /// Elements per block (1 for plain types).
    public var blockSize: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq3_s,
             .iq2_s, .iq4_xs, .iq1_m, .tq1_0, .tq2_0: return 256
        default: return 1
        }
    }

    /// Bytes per block (the element size for plain types). Sizes from ggml-common.h.
    public var bytesPerBlock: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 36
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_xxs: return 66
        case .iq2_xs: return 74
        case .iq3_xxs: return 98
        case .iq1_s: return 50
        case .iq4_nl: return 18
        case .iq3_s: return 110
        case .iq2_s: return 82
        case .iq4_xs: return 136
        case .iq1_m: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        }
    }

    public var isQuantized: Bool { blockSize > 1 }
    public var isFloatingPoint: Bool { self == .f64 || self == .f32 || self == .f16 || self == .bf16 }

    /// Bytes needed for `count` elements, or an error when `count` is not whole blocks or overflows.
    public func byteCount(elements count: Int) throws -> Int {
        if count % blockSize != 0 {
            throw ZooError("\(count) elements is not a whole number of \(rawValue) blocks of \(blockSize)")
        }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        if overflow { throw ZooError("byte size of \(count) \(rawValue) elements overflows") }
        return bytes
    }

    /// Bytes of a tensor of this type and shape. Blocks run along the innermost dimension,
    /// so its extent must be a multiple of the block size.
    public func byteCount(shape: Shape) throws -> Int {
        let count = try shape.elementCount()
        if blockSize > 1 {
            let inner = shape.dims.last ?? 1
            if inner % blockSize != 0 {
                throw ZooError("\(rawValue) needs the innermost dimension to be a multiple of \(blockSize), found shape \(shape)")
            }
        }
        return try byteCount(elements: count)
    }

    /// ggml's type code (ggml.h `enum ggml_type`).
    public var ggmlType: UInt32? {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q5_0: return 6
        case .q5_1: return 7
        case .q8_0: return 8
        case .q8_1: return 9
        case .q2_K: return 10
        case .q3_K: return 11
        case .q4_K: return 12
        case .q5_K: return 13
        case .q6_K: return 14
        case .q8_K: return 15
        case .iq2_xxs: return 16
        case .iq2_xs: return 17
        case .iq3_xxs: return 18
        case .iq1_s: return 19
        case .iq4_nl: return 20
        case .iq3_s: return 21
        case .iq2_s: return 22
        case .iq4_xs: return 23
        case .i8: return 24
        case .i16: return 25
        case .i32: return 26
        case .i64: return 27
        case .f64: return 28
        case .iq1_m: return 29
        case .bf16: return 30
        case .tq1_0: return 34
        case .tq2_0: return 35
        case .u8, .u16, .u32, .u64, .bool: return nil
        }
    }

    public init?(ggmlType code: UInt32) {
        guard let match = DType.allCases.first(where: { $0.ggmlType == code }) else { return nil }
        self = match
    }

    /// The safetensors dtype string, for the types safetensors can hold.
    public init?(safetensorsName: String) {
        guard let match = DType(rawValue: safetensorsName), !match.isQuantized else { return nil }
        self = match
    }
}
