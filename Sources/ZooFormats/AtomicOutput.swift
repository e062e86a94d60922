#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ZooTensor

/// An output file that appears whole or not at all: bytes go to a temporary file in the target's
/// folder, which is synced and renamed into place by `commit()`. Until then the target is untouched;
/// `abort()` (or dropping the object, or SIGINT/SIGTERM) removes the temporary file.
public final class AtomicOutput {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    public private(set) var written = 0
    /// Bytes handed to write(2) so far, and how far writeback has been started (see `flush`).
    private var flushed = 0
    private var writebackStarted = 0
    /// Guards the buffer and counters for `write(at:)`, `flush` and `readBack`, which several
    /// threads may call at once (the sequential `write` is for one thread).
    private let lock = NSLock()
    private var finished = false
    private let force: Bool

    static let bufferSize = 1 << 20
    /// Every this many bytes written, the kernel is asked to start writing them to disk, so the
    /// final fsync waits for the tail only and dirty pages do not pile up in memory.
    static let writebackStride = 16 << 20

    /// Linux's sync_file_range(2), looked up at run time (Glibc's Swift module does not export
    /// it); nil elsewhere, where the final fsync does all the work.
    private static let startWriteback: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
        #if os(Linux)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
        #else
        return nil
        #endif
    }()

    public init(path: String, force: Bool) throws {
        self.path = path
        self.force = force
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw ZooError("output is an existing folder", path: path) }
            if !force { throw ZooError("output already exists (use --force to replace it)", path: path) }
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let prefix = (folder.isEmpty ? "/" : folder) + "/." + base + ".zoo-tmp-"
        // The name is recorded for the signal handler before the file is created, so an interrupt
        // at any moment, delivered to any thread, finds the file (or a name not yet created,
        // which unlink ignores). The signals are also held back in this thread meanwhile.
        TemporaryFiles.installHandlers()
        var blocked = TemporaryFiles.signalSet(), previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var descriptor: Int32 = -1
        var candidate = ""
        for _ in 0..<100 {
            candidate = prefix + String((0..<6).map { _ in letters[Int.random(in: 0..<letters.count)] })
            TemporaryFiles.register(candidate)
            descriptor = open(candidate, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor >= 0 { break }
            let reason = errno
            TemporaryFiles.unregister(candidate)
            if reason != EEXIST { errno = reason; break }
        }
        if descriptor < 0 {
            throw ZooError("cannot create a temporary file in '\(folder)': \(String(cString: strerror(errno)))", path: path)
        }
        fd = descriptor
        temporaryPath = candidate
        fchmod(fd, 0o644)
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: AtomicOutput.bufferSize, alignment: 64)
    }

    deinit {
        if !finished { abort() }
        buffer.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= AtomicOutput.bufferSize {
            try flush()
            try writeAll(bytes)
            written += bytes.count
            return
        }
        if buffered + bytes.count > buffer.count { try flush() }
        if bytes.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<(buffered + bytes.count)]).copyMemory(from: bytes)
        }
        buffered += bytes.count
        written += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func writeZeros(_ count: Int) throws {
        let zeros = [UInt8](repeating: 0, count: min(count, 4096))
        var left = count
        while left > 0 {
            let n = min(left, zeros.count)
            try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
    }

    /// Overwrites bytes already written (a header field known only at the end).
    public func patch(_ bytes: [UInt8], at offset: Int) throws {
        try flush()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        if n != bytes.count { throw ZooError("cannot write: \(String(cString: strerror(errno)))", path: path) }
    }

    /// Hands buffered bytes to the kernel (they are then visible to `readBack` and to readers of
    /// the temporary file).
    public func flush() throws {
        lock.lock(); defer { lock.unlock() }
        try flushLocked()
    }

    private func flushLocked() throws {
        if buffered == 0 { return }
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]))
        buffered = 0
    }

    /// Writes `bytes` at `offset` of the temporary file (after anything buffered), without moving
    /// the sequential position; thread-safe. Used for tensor data written by several threads into
    /// a file already sized with `reserve`.
    public func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) throws {
        try flush()
        guard let base = bytes.baseAddress else { return }
        try repeatIO(bytes.count, failure: AtomicOutput.writeFailure) { done in
            pwrite(fd, base.advanced(by: done), bytes.count - done, off_t(offset + done))
        }
        lock.lock(); defer { lock.unlock() }
        flushed += bytes.count
        if flushed - writebackStarted >= AtomicOutput.writebackStride {
            _ = AtomicOutput.startWriteback?(fd, 0, 0, 2 /* SYNC_FILE_RANGE_WRITE, whole file */)
            writebackStarted = flushed
        }
    }

    /// Reads `into.count` bytes of the temporary file at `offset` back from the kernel (the page
    /// cache: what the file holds), after flushing, for checks of what was really written.
    public func readBack(at offset: Int, into: UnsafeMutableRawBufferPointer) throws {
        try flush()
        guard let base = into.baseAddress else { return }
        try repeatIO(into.count, failure: { "cannot read back the temporary file: \($0)" },
                     atEnd: { "the temporary file ends at \(offset + $0), expected \(offset + into.count) bytes" }) { done in
            pread(fd, base.advanced(by: done), into.count - done, off_t(offset + done))
        }
    }

    /// Sets the temporary file's size up front (a hole, filled by the writes that follow), so a
    /// reader can parse the header while the data is still being written.
    public func reserve(size: Int) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw ZooError("cannot size the temporary file: \(String(cString: strerror(errno)))", path: path) }
    }

    private static func writeFailure(_ reason: String) -> String { "cannot write (\(reason)); no output was left behind" }

    /// Calls `step(done)` (one read or write of the bytes from `done` on; a count, or -1 with errno)
    /// until `count` bytes are done, again when a signal interrupted it. An error is thrown with
    /// `failure(strerror)`; a 0 (end of file) with `atEnd(done)` where given, else it is tried again.
    private func repeatIO(_ count: Int, failure: (String) -> String, atEnd: ((Int) -> String)? = nil,
                          _ step: (Int) -> Int) throws {
        var done = 0
        while done < count {
            let n = step(done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ZooError(failure(String(cString: strerror(errno))), path: path)
            }
            if n == 0, let atEnd { throw ZooError(atEnd(done), path: path) }
            done += n
        }
    }

    /// Sequential write of the buffer's bytes (callers hold `lock` or are the only thread).
    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        try repeatIO(bytes.count, failure: AtomicOutput.writeFailure) { done in
            Glibc.write(fd, base.advanced(by: done), bytes.count - done)
        }
        flushed += bytes.count
        if flushed - writebackStarted >= AtomicOutput.writebackStride {
            // Asynchronous: returns at once; fsync in commit() then has little left to wait for.
            _ = AtomicOutput.startWriteback?(fd, Int64(writebackStarted), Int64(flushed - writebackStarted), 2 /* SYNC_FILE_RANGE_WRITE */)
            writebackStarted = flushed
        }
    }

    /// Syncs and renames the temporary file onto the target.
    public func commit() throws {
        try flush()
        if fsync(fd) != 0 { throw ZooError("cannot sync: \(String(cString: strerror(errno)))", path: path) }
        close(fd)
        fd = -1
        if !force {
            // Refuse to replace a file that appeared while we were writing.
            if link(temporaryPath, path) != 0 {
                let reason = errno == EEXIST ? "output appeared while writing (use --force to replace it)" : String(cString: strerror(errno))
                abort()
                throw ZooError(reason, path: path)
            }
            unlink(temporaryPath)
        } else if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            abort()
            throw ZooError("cannot move the finished file into place: \(reason)", path: path)
        }
        finished = true
        TemporaryFiles.unregister(temporaryPath)
    }

    public func abort() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
        finished = true
        TemporaryFiles.unregister(temporaryPath)
    }
}
