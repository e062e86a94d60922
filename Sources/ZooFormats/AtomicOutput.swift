#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    private var finished = false
    private let force: Bool

    static let bufferSize = 1 << 20

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
        var template = Array(((folder.isEmpty ? "/" : folder) + "/." + base + ".zoo-tmp-XXXXXX").utf8CString)
        // Between creating the temporary file and recording it for the signal handler, hold the
        // signals back, so an interrupt in that window still finds the file and removes it.
        TemporaryFiles.installHandlers()
        var blocked = TemporaryFiles.signalSet(), previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if descriptor < 0 {
            throw ZooError("cannot create a temporary file in '\(folder)': \(String(cString: strerror(errno)))", path: path)
        }
        fd = descriptor
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        TemporaryFiles.register(temporaryPath)
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

    private func flush() throws {
        if buffered == 0 { return }
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]))
        buffered = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress!.advanced(by: done), bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ZooError("cannot write (\(String(cString: strerror(errno)))); no output was left behind", path: path)
            }
            done += n
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
