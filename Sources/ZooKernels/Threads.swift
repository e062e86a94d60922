import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// The number of threads the kernels use: CKernels' one pool, process-wide state set once from
/// `--threads` before any work is done.
public enum KernelThreads {
    /// Cores the OS reports online (at least 1).
    public static var available: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }

    /// Sets the thread count (nil or <= 0: all cores) and returns the count in effect.
    @discardableResult
    public static func configure(_ requested: Int?) -> Int {
        let n = (requested ?? 0) > 0 ? (requested ?? 1) : available
        if n != current {
            if let old = poolStorage { zoo_pool_destroy(old) }
            poolStorage = n > 1 ? zoo_pool_create(Int32(n)) : nil
        }
        current = n
        return n
    }

    nonisolated(unsafe) public private(set) static var current: Int = 0
    nonisolated(unsafe) private static var poolStorage: OpaquePointer?

    /// CKernels' thread pool for Zoo's own parallel kernels (nil = run on the caller). Created by
    /// `configure`; call that once before running a model, from one thread.
    static var pool: OpaquePointer? { poolStorage }
}
