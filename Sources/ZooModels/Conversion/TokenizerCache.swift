import Foundation
import ZooTensor

/// The last tokenizer loaded from a folder, kept while its files stay the same. Parsing GPT-2's
/// vocab.json and merges.txt is a large part of a conversion's fixed cost, and a conversion is
/// often planned first (to print or size it) and then run, which would parse them twice.
enum TokenizerCache {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var last: (key: [String], tokenizer: GPT2Tokenizer)?

    /// The files GPT2Tokenizer.load reads, each with its identity (device, inode, size, times):
    /// a file replaced or rewritten gives another key.
    static func key(folder: String) -> [String] {
        ["tokenizer.json", "vocab.json", "merges.txt"].map { name in
            let path = (folder as NSString).appendingPathComponent(name)
            var info = stat()
            if stat(path, &info) != 0 { return path + " absent" }
            return "\(path) \(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
        }
    }

    static func load(folder: String) throws -> GPT2Tokenizer {
        let k = key(folder: folder)
        lock.lock()
        if let last, last.key == k { lock.unlock(); return last.tokenizer }
        lock.unlock()
        let tokenizer = try GPT2Tokenizer.load(folder: folder)
        lock.lock(); last = (k, tokenizer); lock.unlock()
        return tokenizer
    }
}
