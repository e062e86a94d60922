import COpenBLAS

// Matrix products with weights stored as PyTorch nn.Linear stores them, [out, in] row-major.

/// y = x . w^T (+ y when accumulate).  x: [M, K], w: [N, K] -> y: [M, N]   (OpenBLAS)
/// M == 1 goes to `gemvParallel`: a decode step is a matrix-vector product that streams w once.
public func matmulTransposedB(_ x: UnsafePointer<Float>, rows m: Int, inner k: Int,
                              _ w: UnsafePointer<Float>, cols n: Int,
                              into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
    guard m > 0, n > 0 else { return }
    let beta: Float = accumulate ? 1 : 0
    if k == 0 {
        if !accumulate { y.update(repeating: 0, count: m * n) }
        return
    }
    if m == 1 {
        gemvParallel(w, rows: n, cols: k, x, into: y, accumulate: accumulate)
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    1, x, Int32(k), w, Int32(k), beta, y, Int32(n))
    }
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

/// A simple own GEMM (16-lane dot products, 4x4 tile, one thread), kept as the plain fast-ish
/// baseline OpenBLAS is measured against. Measured 2026-11-29 on the 2-core Zen 4 VM (busy with
/// other jobs, so only the ratio means much), x [128, 768] . w [3072, 768]^T: OpenBLAS 0.3.21
/// sgemm 17.1 GFLOP/s on 1 thread, this loop 2.6 GFLOP/s: OpenBLAS is ~6.5x faster, hence
/// sgemm for every multi-row product.  x: [M, K], w: [N, K] -> [M, N]
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
