import CKernels

/// Decode-step matrix-vector product on CKernels' thread pool.
/// y[n] = W[n, :] . x (+ y[n] when accumulate).   x: [K], W: [N, K] -> y: [N]
///
/// Why not OpenBLAS sgemv: on the development machine (Zen 4, OpenBLAS 0.3.21 Cooperlake
/// kernels) its row-major sgemv streamed ~5 GB/s against ~9 GB/s for this plain loop, and a
/// decode step is nothing but streaming the weights once.
public func gemvParallel(_ w: UnsafePointer<Float>, rows n: Int, cols k: Int, _ x: UnsafePointer<Float>,
                         into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
    var job = GemvJob(w: w, x: x, y: y, n: n, k: k, accumulate: accumulate)
    let pool = KernelThreads.pool
    let tasks = n >= 256 ? Int(zoo_pool_size(pool)) : 1
    if tasks <= 1 {
        gemvRows(job, 0, n)
        return
    }
    withUnsafeMutablePointer(to: &job) { ctx in
        zoo_pool_run(pool, { raw, task, count in
            guard let job = raw?.assumingMemoryBound(to: GemvJob.self).pointee else { return }
            var begin: Int64 = 0, end: Int64 = 0
            zoo_split_range(Int64(job.n), 16, task, count, &begin, &end)
            gemvRows(job, Int(begin), Int(end))
        }, ctx, Int32(tasks))
    }
}

struct GemvJob {
    let w: UnsafePointer<Float>
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let n: Int
    let k: Int
    let accumulate: Bool
}

/// Rows begin ..< end of the product.
@inline(__always)
func gemvRows(_ job: GemvJob, _ begin: Int, _ end: Int) {
    let k = job.k
    for row in begin..<end {
        let s = dot(job.w + row * k, job.x, k)
        job.y[row] = job.accumulate ? job.y[row] + s : s
    }
}

/// sum_i a[i] b[i] with four independent 8-lane accumulators (enough loads in flight to stream).
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ k: Int) -> Float {
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= k {
        a0 += load(a + i) * load(b + i)
        a1 += load(a + i + 8) * load(b + i + 8)
        a2 += load(a + i + 16) * load(b + i + 16)
        a3 += load(a + i + 24) * load(b + i + 24)
        i += 32
    }
    while i + 8 <= k {
        a0 += load(a + i) * load(b + i)
        i += 8
    }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while i < k {
        s += a[i] * b[i]
        i += 1
    }
    return s
}
