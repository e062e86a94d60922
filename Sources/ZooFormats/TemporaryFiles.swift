#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Temporary outputs that a signal must clean up. On SIGINT/SIGTERM/SIGHUP the handler unlinks
/// them (unlink is async-signal-safe) and re-raises the signal with the default action.
enum TemporaryFiles {
    static let slots = 16
    static let capacity = 4096
    // Fixed C buffers so the signal handler touches no Swift runtime state.
    nonisolated(unsafe) static let table: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slots * capacity)
        p.initialize(repeating: 0, count: slots * capacity)
        return p
    }()
    static let installed = Mutex(false)

    static let signals = [SIGINT, SIGTERM, SIGHUP]

    static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in signals { sigaddset(&set, sig) }
        return set
    }

    /// Installs the cleanup handler once. A parent may have started us with these signals ignored
    /// or blocked (both survive exec); the handler replaces "ignored" and the mask is cleared.
    static func installHandlers() {
        installed.withLock { done in
            guard !done else { return }
            for sig in signals { signal(sig, cleanupHandler) }
            var set = signalSet()
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            done = true
        }
    }

    static func register(_ path: String) {
        installHandlers()
        installed.withLock { _ in
            let bytes = Array(path.utf8)
            guard bytes.count < capacity else { return }
            for s in 0..<slots where table[s * capacity] == 0 {
                for (i, b) in bytes.enumerated() { table[s * capacity + i] = CChar(bitPattern: b) }
                table[s * capacity + bytes.count] = 0
                return
            }
        }
    }

    static func unregister(_ path: String) {
        installed.withLock { _ in
            for s in 0..<slots where table[s * capacity] != 0 && String(cString: table + s * capacity) == path {
                table[s * capacity] = 0
            }
        }
    }
}

private func cleanupHandler(_ sig: Int32) {
    for s in 0..<TemporaryFiles.slots where TemporaryFiles.table[s * TemporaryFiles.capacity] != 0 {
        unlink(TemporaryFiles.table + s * TemporaryFiles.capacity)
    }
    signal(sig, SIG_DFL)
    raise(sig)
}
