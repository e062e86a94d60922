import CKernels

/// Splits 0 ..< n into one contiguous chunk per pool thread (at most n / grain chunks) and runs
/// `body` on each, on CKernels' pool. Chunk borders depend only on n and the thread count, and
/// each element is computed by the same code either way, so results never depend on the split.
public func parallelChunks(_ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    let pool = KernelThreads.pool
    let tasks = min(Int(zoo_pool_size(pool)), max(1, n / max(grain, 1)))
    if tasks <= 1 {
        body(0..<n)
        return
    }
    withoutActuallyEscaping(body) { escaping in
        var context = ChunkContext(n: n, body: escaping)
        withUnsafeMutablePointer(to: &context) { ctx in
            zoo_pool_run(pool, { raw, task, count in
                guard let c = raw?.assumingMemoryBound(to: ChunkContext.self) else { return }
                let n = c.pointee.n
                c.pointee.body((n * Int(task) / Int(count))..<(n * (Int(task) + 1) / Int(count)))
            }, ctx, Int32(tasks))
        }
    }
}

private struct ChunkContext {
    let n: Int
    let body: (Range<Int>) -> Void
}
