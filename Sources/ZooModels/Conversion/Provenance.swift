import Foundation
import ZooFormats
import ZooTensor

/// Where a converted file came from, written into its metadata: Zoo's version, each source
/// file's name and SHA-256, and the dtype recipe.
public enum Provenance {
    public static let zooVersion = "0.1.0"

    /// The files a conversion read: the weights (and shards), config and tokenizer files.
    public static func sourceFiles(weights: String, extra: [String]) -> [String] {
        var files: [String] = []
        if weights.hasSuffix(".index.json"), let reader = try? ShardedSafetensorsReader(indexPath: weights) {
            files.append(weights)
            files += reader.shards.map(\.path)
        } else {
            files.append(weights)
        }
        for f in extra where FileManager.default.fileExists(atPath: f) && !files.contains(f) { files.append(f) }
        return files
    }

    /// "name sha256" for every file, hashed two at a time (the machine has two cores).
    public static func hashes(_ files: [String]) throws -> [String] {
        final class Results: @unchecked Sendable {
            var lines: [String?]
            var failure: ZooError?
            let lock = NSLock()
            init(_ n: Int) { lines = [String?](repeating: nil, count: n) }
        }
        let box = Results(files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            do {
                let digest = try SHA256.hex(file: files[i])
                box.lock.lock(); box.lines[i] = (files[i] as NSString).lastPathComponent + " " + digest; box.lock.unlock()
            } catch let e as ZooError {
                box.lock.lock(); box.failure = e; box.lock.unlock()
            } catch {}
        }
        if let failure = box.failure { throw failure }
        return box.lines.compactMap { $0 }
    }

    public static func metadata(files: [String], recipe: String) throws -> [MetadataEntry] {
        metadata(lines: try hashes(files), recipe: recipe)
    }

    static let filesKey = "zoo.source.files"

    static func metadata(lines: [String], recipe: String) -> [MetadataEntry] {
        [MetadataEntry("zoo.version", .string(zooVersion)),
         MetadataEntry(filesKey, .array(.strings(lines))),
         MetadataEntry("zoo.recipe", .string(recipe))]
    }

    /// The same entries with every digest 64 zeros: the same encoded size as the real ones, so a
    /// header written before the hashes are known can be patched in place (`PendingHashes`).
    static func placeholderMetadata(files: [String], recipe: String) -> [MetadataEntry] {
        metadata(lines: files.map { ($0 as NSString).lastPathComponent + " " + String(repeating: "0", count: 64) }, recipe: recipe)
    }
}

/// Source-file hashes computed on a thread of their own, so SHA-256 of a large checkpoint runs
/// on the second core while the conversion runs on the first (the digests go into a header
/// written with placeholders, patched before the output is committed).
final class PendingHashes: @unchecked Sendable {
    let files: [String]
    /// Each file's identity when hashing started (see `identity`).
    let identity: [String]
    private var lines: [String] = []
    private var failure: Error?
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopped = false

    init(files: [String]) {
        self.files = files
        identity = PendingHashes.identity(files)
        let thread = Thread { [self] in
            do {
                lines = try files.map { (($0 as NSString).lastPathComponent + " " + (try SHA256.hex(file: $0, stop: isStopped))) }
            } catch {
                failure = error
            }
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func isStopped() -> Bool {
        lock.lock(); defer { lock.unlock() }
        return stopped
    }

    /// Stops the hashing early (the conversion failed); harmless after it finished.
    func cancel() {
        lock.lock(); stopped = true; lock.unlock()
    }

    /// Device, inode, size and modification times of each file: a file replaced or rewritten
    /// gets another identity.
    static func identity(_ files: [String]) -> [String] {
        files.map { path in
            var info = stat()
            if stat(path, &info) != 0 { return path + " absent" }
            return "\(path) \(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var ahead: PendingHashes?

    /// Hashing of `files`: the one a plan started ahead if the files are unchanged since, else a
    /// new one. Planning a conversion starts it (the CLI plans, then converts), so the digests
    /// are computed on the second core while the rest is prepared.
    static func start(files: [String]) -> PendingHashes {
        let id = identity(files)
        lock.lock(); defer { lock.unlock() }
        if let ahead, ahead.files == files, ahead.identity == id { return ahead }
        ahead?.cancel()
        let fresh = PendingHashes(files: files)
        ahead = fresh
        return fresh
    }

    /// Forgets a hashing started ahead (used, or failed).
    static func forget(_ hashes: PendingHashes) {
        lock.lock(); defer { lock.unlock() }
        if ahead === hashes { ahead = nil }
    }

    /// The "name sha256" lines, in the order of `files`, once hashing has finished.
    func wait() throws -> [String] {
        done.wait()
        done.signal()  // later waits return at once
        if let failure { throw failure }
        // A file changed while (or since) it was hashed: hash the files as they are now.
        if PendingHashes.identity(files) != identity { return try Provenance.hashes(files) }
        return lines
    }
}
