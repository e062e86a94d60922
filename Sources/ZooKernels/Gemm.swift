import CKernels

// Matrix products with weights stored as PyTorch nn.Linear stores them, [out, in] row-major.

/// y = x . w^T + bias.  x: [M, K] (row stride K), w: [N, K], bias: [N] or nil -> y: [M, N]
///
/// CKernels' own f32 kernels (zk_f32_*.c) on Zoo's thread pool: a blocked, register-tiled GEMM that
/// packs weight panels as it goes, for 2 <= M <= 4 a GEMV that streams w once, and for M == 1 (a
/// decode step) 32-lane row dot products, four rows per pass. For M >= 2 each output element is one
/// chain of fused multiply-adds over k in order; for M == 1 the fixed order of zoo_f32_gemv_ref.
/// Either way the result never depends on the thread count or on how the work is split.
/// Why not OpenBLAS sgemm any more: its own thread pool fought Zoo's spinning pool for the cores
/// (~10% of the time in sched_yield), and per thread it was no faster on these shapes; see
/// benchmarks/kernels/f32_bench.c for the figures.
public func matmulTransposedB(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
                              _ w: UnsafePointer<Float>, cols n: Int, bias: UnsafePointer<Float>?,
                              into y: UnsafeMutablePointer<Float>) {
    guard m > 0, n > 0 else { return }
    _ = zoo_f32_matmul(KernelThreads.pool, w, Int64(n), Int64(k), x, Int64(m), Int64(k), bias, y, Int64(n))
}

/// Plain reference: y[i, j] = sum_k x[i, k] w[j, k] in double.  x: [M, K], w: [N, K] -> [M, N]
public func matmulTransposedBReference(_ x: [Float], rows m: Int, inner k: Int, _ w: [Float], cols n: Int) -> [Float] {
    var y = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s: Double = 0
            for p in 0..<k { s += Double(x[i * k + p]) * Double(w[j * k + p]) }
            y[i * n + j] = Float(s)
        }
    }
    return y
}

/// A simple own GEMM (16-lane dot products, 4x4 tile, one thread), the plain fast-ish baseline that
/// OpenBLAS was first measured against (2026-11-29, Zen 4 VM, x [128, 768] . w [3072, 768]^T: OpenBLAS
/// 0.3.21 sgemm 17.1 GFLOP/s on 1 thread, this loop 2.6 GFLOP/s).  x: [M, K], w: [N, K] -> [M, N]
public func matmulTransposedBSimple(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
                                    _ w: UnsafePointer<Float>, cols n: Int, into y: UnsafeMutablePointer<Float>) {
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
    let k16 = k - k % 16
    var i = 0
    while i < m {
        let mi = min(4, m - i)
        var j = 0
        while j < n {
            let nj = min(4, n - j)
            var acc = [SIMD16<Float>](repeating: .zero, count: 16)
            var p = 0
            while p < k16 {
                for a in 0..<mi {
                    let xv = load(x + (i + a) * k + p)
                    for b in 0..<nj { acc[a * 4 + b] += xv * load(w + (j + b) * k + p) }
                }
                p += 16
            }
            for a in 0..<mi {
                for b in 0..<nj {
                    var s = acc[a * 4 + b].sum()
                    for q in k16..<k { s += x[(i + a) * k + q] * w[(j + b) * k + q] }
                    y[(i + a) * n + j + b] = s
                }
            }
            j += 4
        }
        i += 4
    }
}
