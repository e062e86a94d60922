#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only. Tensors from readers point into it without copying.
/// The file is opened O_RDONLY: Zoo never opens an input for writing.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?
    private let ownedCopy: UnsafeMutableRawPointer?

    public var count: Int { bytes.count }

    /// An in-memory stand-in with a copy of `data`, named `path` in errors (fuzzing, tests).
    public init(copying data: UnsafeRawBufferPointer, path: String) {
        self.path = path
        mapping = nil
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        if data.count > 0 { copy.copyMemory(from: data.baseAddress!, byteCount: data.count) }
        ownedCopy = copy
        bytes = UnsafeRawBufferPointer(start: copy, count: data.count)
    }

    public init(path: String) throws {
        self.path = path
        ownedCopy = nil
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ZooError("cannot open for reading: \(String(cString: strerror(errno)))", path: path) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw ZooError("cannot stat: \(String(cString: strerror(errno)))", path: path) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw ZooError("is a folder, expected a file", path: path) }
        if (info.st_mode & S_IFMT) != S_IFREG { throw ZooError("is not a regular file", path: path) }
        let size = Int(info.st_size)
        if size == 0 {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        if address == MAP_FAILED || address == nil {
            throw ZooError("cannot map \(size) bytes: \(String(cString: strerror(errno)))", path: path)
        }
        mapping = address
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Drops the pages of `range` from this process's memory (they are read again from the file
    /// if touched later), so streaming through a large file keeps its resident size small.
    public func release(_ range: Range<Int>) {
        guard let mapping, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = min(range.upperBound, bytes.count) / page * page
        if end > start { _ = madvise(mapping + start, end - start, MADV_DONTNEED) }
    }

    /// Tell the kernel the whole file will be read front to back (conversion, loading).
    public func adviseSequential() {
        if let mapping { _ = madvise(mapping, bytes.count, MADV_SEQUENTIAL) }
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
        ownedCopy?.deallocate()
    }
}

extension Range where Bound == Int {
    /// The part `relative` (offsets from this range's start) covers, cut to this range.
    public func clamped(toRelative relative: Range<Int>) -> Range<Int> {
        let lo = Swift.min(Swift.max(relative.lowerBound, 0), count)
        let hi = Swift.max(lo, Swift.min(relative.upperBound, count))
        return (lowerBound + lo)..<(lowerBound + hi)
    }
}
