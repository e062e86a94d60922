import CKernels
import Foundation
import ZooTensor

/// The per-chunk arithmetic of ChunkedConversion: source values out of the mapped file (decoded
/// or transposed), encoding to the target dtype, and the comparison of read-back bytes with the
/// source values. Each has a plain reference it is tested against (ConversionChunkedTests).
extension ChunkedConversion {
    /// Bit for bit (NaN matching any NaN) where lossless, else the running max|diff| and max|ref|.
    static func compare(_ got: UnsafePointer<Float>, _ values: UnsafePointer<Float>, count: Int, lossless: Bool, first: Int,
                        _ maxDiff: inout Float, _ maxRef: inout Float, path: String, tensor name: String) throws {
        if lossless {
            if memcmp(got, values, count * 4) != 0 {
                for i in 0..<count where got[i].bitPattern != values[i].bitPattern && !(got[i].isNaN && values[i].isNaN) {
                    throw ZooError("re-read value \(first + i) is \(got[i]), the source holds \(values[i]): the written file is wrong", path: path, tensor: name)
                }
            }
        } else {
            accumulate(got, values, count, &maxDiff, &maxRef)
        }
    }

    /// Stored rows [rows.lowerBound, rows.upperBound) as f32: a pointer into the mapped source where
    /// it already holds them (aligned f32 in order), else decoded or gathered into `scratch`.
    static func rowValues(_ mode: Mode, rows: Range<Int>, unit: Int, into scratch: UnsafeMutablePointer<Float>) throws -> UnsafePointer<Float> {
        let first = rows.lowerBound * unit, count = rows.count * unit
        switch mode {
        case .copy: throw ZooError("internal: copied tensors have no values")
        case .values(let all):
            all.withUnsafeBufferPointer { scratch.update(from: $0.baseAddress! + first, count: count) }
            return UnsafePointer(scratch)
        case .direct(let raw, let dtype):
            switch dtype {
            case .f32: return raw.baseAddress!.assumingMemoryBound(to: Float.self) + first
            case .f16: zoo_f16_to_f32_row(raw.baseAddress!.assumingMemoryBound(to: UInt16.self) + first, scratch, Int64(count))
            default: zoo_bf16_to_f32_row(raw.baseAddress!.assumingMemoryBound(to: UInt16.self) + first, scratch, Int64(count))
            }
            return UnsafePointer(scratch)
        case .transposed(let raw, let dtype, let a, let b):
            if dtype == .f32 {
                transposeRows(raw.baseAddress!.assumingMemoryBound(to: Float.self), a: a, b: b, rows: rows, into: scratch)
                return UnsafePointer(scratch)
            }
            // f16 / bf16 (rare in GPT-2 checkpoints): element by element.
            let src = raw.baseAddress!.assumingMemoryBound(to: UInt16.self)
            let f16 = dtype == .f16
            for r in rows {
                let dst = scratch + (r - rows.lowerBound) * a
                for c in 0..<a { dst[c] = f16 ? HalfFloat.f16ToF32(src[c * b + r]) : HalfFloat.bf16ToF32(src[c * b + r]) }
            }
            return UnsafePointer(scratch)
        }
    }

    /// Rows `rows` of the transpose of src [a, b] (stored row r = source column r):
    /// dst[(r - r0) * a + c] = src[c * b + r]. In 4x4 tiles: four contiguous loads, a register
    /// transpose (two rounds of even/odd unzips), four contiguous stores; a band of 16 source rows
    /// at a time, so the 16 source lines in use stay in L1 across the chunk's rows.
    static func transposeRows(_ src: UnsafePointer<Float>, a: Int, b: Int, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let r0 = rows.lowerBound, r1 = rows.upperBound
        let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        let rEnd = r0 + (r1 - r0) / 4 * 4, cEnd = a / 4 * 4
        var band = 0
        while band < cEnd {
            let bandEnd = min(band + 16, cEnd)
            var r = r0
            while r < rEnd {
                var c = band
                while c < bandEnd {
                    let x0 = s.loadUnaligned(fromByteOffset: (c * b + r) * 4, as: SIMD4<Float>.self)
                    let x1 = s.loadUnaligned(fromByteOffset: ((c + 1) * b + r) * 4, as: SIMD4<Float>.self)
                    let x2 = s.loadUnaligned(fromByteOffset: ((c + 2) * b + r) * 4, as: SIMD4<Float>.self)
                    let x3 = s.loadUnaligned(fromByteOffset: ((c + 3) * b + r) * 4, as: SIMD4<Float>.self)
                    let p = SIMD8(lowHalf: x0, highHalf: x1), q = SIMD8(lowHalf: x2, highHalf: x3)
                    let e = SIMD8(lowHalf: p.evenHalf, highHalf: q.evenHalf), o = SIMD8(lowHalf: p.oddHalf, highHalf: q.oddHalf)
                    let base = (r - r0) * a + c
                    d.storeBytes(of: e.evenHalf, toByteOffset: base * 4, as: SIMD4<Float>.self)
                    d.storeBytes(of: o.evenHalf, toByteOffset: (base + a) * 4, as: SIMD4<Float>.self)
                    d.storeBytes(of: e.oddHalf, toByteOffset: (base + 2 * a) * 4, as: SIMD4<Float>.self)
                    d.storeBytes(of: o.oddHalf, toByteOffset: (base + 3 * a) * 4, as: SIMD4<Float>.self)
                    c += 4
                }
                r += 4
            }
            band = bandEnd
        }
        // Edges: the last a % 4 columns of every row, and the last (rows % 4) rows.
        for r in r0..<r1 {
            let from = r < rEnd ? cEnd : 0
            for c in from..<a { dst[(r - r0) * a + c] = src[c * b + r] }
        }
    }

    /// f32 values -> the target dtype's bytes (ggml's encodings; the C kernels match the
    /// reference codecs bit for bit on finite values, which the kernel tests check).
    static func encode(_ values: UnsafePointer<Float>, count: Int, as dtype: DType, into out: UnsafeMutableRawPointer) throws -> UnsafeRawBufferPointer {
        switch dtype {
        case .f32:
            return UnsafeRawBufferPointer(start: values, count: count * 4)
        case .f16:
            zoo_f32_to_f16_row(values, out.assumingMemoryBound(to: UInt16.self), Int64(count))
            return UnsafeRawBufferPointer(start: out, count: count * 2)
        case .bf16:
            zoo_f32_to_bf16_row(values, out.assumingMemoryBound(to: UInt16.self), Int64(count))
            return UnsafeRawBufferPointer(start: out, count: count * 2)
        case .q8_0:
            if zoo_q8_0_quantize_row(values, out.assumingMemoryBound(to: zoo_block_q8_0.self), Int64(count)) != 0 {
                throw ZooError("\(count) values are not whole Q8_0 blocks of 32")
            }
            return UnsafeRawBufferPointer(start: out, count: count / 32 * Quantization.q8_0BlockBytes)
        default:
            let t = try ElementConversion.fromF32(UnsafeBufferPointer(start: values, count: count), as: dtype, shape: Shape([count]))
            t.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return UnsafeRawBufferPointer(start: out, count: t.bytes.count)
        }
    }

    /// Written bytes -> f32, for the comparison with the source values.
    static func decode(_ bytes: UnsafeRawBufferPointer, count: Int, as dtype: DType, into out: UnsafeMutablePointer<Float>) throws -> UnsafePointer<Float> {
        switch dtype {
        case .f32:
            return bytes.baseAddress!.assumingMemoryBound(to: Float.self)
        case .f16:
            zoo_f16_to_f32_row(bytes.baseAddress!.assumingMemoryBound(to: UInt16.self), out, Int64(count))
        case .bf16:
            zoo_bf16_to_f32_row(bytes.baseAddress!.assumingMemoryBound(to: UInt16.self), out, Int64(count))
        case .q8_0:
            if zoo_q8_0_dequantize_row(bytes.baseAddress!.assumingMemoryBound(to: zoo_block_q8_0.self), out, Int64(count)) != 0 {
                throw ZooError("\(count) values are not whole Q8_0 blocks of 32")
            }
        default:
            let t = try Tensor(dtype: dtype, shape: Shape([count]), copying: bytes)
            try ElementConversion.toF32(t, into: UnsafeMutableBufferPointer(start: out, count: count))
        }
        return UnsafePointer(out)
    }

    /// Q8_0 blocks dequantized (value = int8 * f16 scale, as ggml and Quantization.dequantize
    /// compute it) and compared with `want` in the same pass: running max|diff| and max|ref|.
    static func accumulateQ8_0(_ blocks: UnsafeRawPointer, _ want: UnsafePointer<Float>, _ count: Int, _ maxDiff: inout Float, _ maxRef: inout Float) {
        var dm = SIMD16<Float>(repeating: 0), rm = SIMD16<Float>(repeating: 0)
        let w = UnsafeRawPointer(want)
        for k in 0..<count {
            let block = blocks + k * Quantization.q8_0BlockBytes
            let scale = HalfFloat.f16ToF32(UInt16(littleEndian: block.loadUnaligned(as: UInt16.self)))
            for half in 0..<2 {
                let q = block.loadUnaligned(fromByteOffset: 2 + 16 * half, as: SIMD16<Int8>.self)
                let got = SIMD16<Float>(q) * scale
                let ref = w.loadUnaligned(fromByteOffset: (k * 32 + 16 * half) * 4, as: SIMD16<Float>.self)
                let diff = (got - ref).replacing(with: ref - got, where: got .< ref)
                let mag = ref.replacing(with: -ref, where: ref .< 0)
                dm.replace(with: diff, where: dm .< diff)
                rm.replace(with: mag, where: rm .< mag)
            }
        }
        for i in 0..<16 {
            maxDiff = max(maxDiff, dm[i])
            maxRef = max(maxRef, rm[i])
        }
    }

    /// maxDiff = max |got - want|, maxRef = max |want|, NaNs skipped as Swift's max skips them
    /// (the comparison is false), eight lanes at a time.
    static func accumulate(_ got: UnsafePointer<Float>, _ want: UnsafePointer<Float>, _ count: Int, _ maxDiff: inout Float, _ maxRef: inout Float) {
        var d = SIMD8<Float>(repeating: 0), m = SIMD8<Float>(repeating: 0)
        var i = 0
        let g = UnsafeRawPointer(got), w = UnsafeRawPointer(want)
        while i + 8 <= count {
            let a = g.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let b = w.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let diff = (a - b).replacing(with: b - a, where: a .< b)
            let ref = b.replacing(with: -b, where: b .< 0)
            d.replace(with: diff, where: d .< diff)
            m.replace(with: ref, where: m .< ref)
            i += 8
        }
        for k in 0..<8 {
            maxDiff = max(maxDiff, d[k])
            maxRef = max(maxRef, m[k])
        }
        while i < count {
            maxDiff = max(maxDiff, abs(got[i] - want[i]))
            maxRef = max(maxRef, abs(want[i]))
            i += 1
        }
    }
}
