import CKernels
import ZooTensor

/// A weight matrix W [N, K] in CKernels' repacked Q8_0 layout ("q8_0x16"), built once at load
/// from ggml Q8_0 rows (a GGUF tensor's bytes, or f32 values quantized here).
public final class PackedQ8_0: @unchecked Sendable {
    public let rows: Int      // N (out)
    public let cols: Int      // K (in), a multiple of 32
    let packed: UnsafeMutableRawPointer
    let byteCount: Int

    /// blocks: N * K/32 ggml Q8_0 blocks (34 bytes each), row-major.
    public init(blocks: UnsafeRawBufferPointer, rows n: Int, cols k: Int) throws {
        guard k % 32 == 0, n > 0 else { throw ZooError("Q8_0 weight [\(n), \(k)] needs K a multiple of 32") }
        guard blocks.count == n * (k / 32) * 34, let base = blocks.baseAddress else {
            throw ZooError("Q8_0 weight [\(n), \(k)] needs \(n * (k / 32) * 34) bytes, found \(blocks.count)")
        }
        rows = n
        cols = k
        byteCount = zoo_q8_0_packed_size(Int64(n), Int64(k))
        // Huge-page-backed weight memory: decode streams all of it every token (see zk_memory.c).
        guard byteCount > 0, let memory = zoo_weights_alloc(byteCount) else {
            throw ZooError("cannot allocate \(byteCount) bytes for a Q8_0 weight [\(n), \(k)]")
        }
        packed = memory
        // Q8_0 blocks are 2-byte aligned structs; a file view may be at any offset, so copy when odd.
        let status: Int32
        if Int(bitPattern: base) % 2 == 0 {
            status = zoo_q8_0_repack(base.assumingMemoryBound(to: zoo_block_q8_0.self), Int64(n), Int64(k), packed)
        } else {
            let copy = UnsafeMutableRawPointer.allocate(byteCount: blocks.count, alignment: 64)
            defer { copy.deallocate() }
            copy.copyMemory(from: base, byteCount: blocks.count)
            status = zoo_q8_0_repack(copy.assumingMemoryBound(to: zoo_block_q8_0.self), Int64(n), Int64(k), packed)
        }
        if status != 0 {
            zoo_weights_free(packed)
            throw ZooError("cannot repack a Q8_0 weight [\(n), \(k)] (kernel error \(status))")
        }
    }

    /// Quantizes f32 rows (ggml's quantize_row_q8_0 rounding) and packs them.  w: [N, K]
    public static func quantizing(_ w: [Float], rows n: Int, cols k: Int) throws -> PackedQ8_0 {
        guard k % 32 == 0, w.count == n * k else { throw ZooError("cannot quantize [\(n), \(k)] to Q8_0 (K must be a multiple of 32)") }
        var blocks = [UInt8](repeating: 0, count: n * (k / 32) * 34)
        let status = blocks.withUnsafeMutableBytes { dst in
            w.withUnsafeBufferPointer { src in
                zoo_q8_0_quantize_row(src.baseAddress, dst.baseAddress?.assumingMemoryBound(to: zoo_block_q8_0.self), Int64(n * k))
            }
        }
        if status != 0 { throw ZooError("Q8_0 quantization failed (kernel error \(status))") }
        return try blocks.withUnsafeBytes { try PackedQ8_0(blocks: $0, rows: n, cols: k) }
    }

    deinit { zoo_weights_free(packed) }

    /// y = x W^T + bias.  x: [T, K] -> y: [T, N]; activations are quantized per 32-block on the fly,
    /// or with weightOnly stay f32 (f32 arithmetic on the dequantized weights, zoo_q8_0w_matmul).
    func forward(_ x: UnsafePointer<Float>, rows t: Int, bias: UnsafePointer<Float>?, weightOnly: Bool = false,
                 into y: UnsafeMutablePointer<Float>) {
        if weightOnly {
            _ = zoo_q8_0w_matmul(KernelThreads.pool, packed, Int64(rows), Int64(cols), x, Int64(t), Int64(cols), bias, y, Int64(rows))
            return
        }
        let work = KernelScratch.bytes(zoo_q8_act_size(Int64(t), Int64(cols)))
        _ = zoo_q8_0_matmul(KernelThreads.pool, packed, Int64(rows), Int64(cols), x, Int64(t), Int64(cols),
                            bias, y, Int64(rows), work)
    }
}

/// One growing scratch buffer for kernels' temporary data (quantized activations), so decode
/// steps allocate nothing. Used from the single thread that drives the model, like the pool.
enum KernelScratch {
    nonisolated(unsafe) private static var buffer: UnsafeMutableRawPointer?
    nonisolated(unsafe) private static var capacity = 0

    static func bytes(_ count: Int) -> UnsafeMutableRawPointer {
        if count > capacity || buffer == nil {
            buffer?.deallocate()
            capacity = max(count, 4096)
            buffer = .allocate(byteCount: capacity, alignment: 64)
        }
        return buffer ?? .allocate(byteCount: 1, alignment: 64)
    }
}
