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
        [MetadataEntry("zoo.version", .string(zooVersion)),
         MetadataEntry("zoo.source.files", .array(.strings(try hashes(files)))),
         MetadataEntry("zoo.recipe", .string(recipe))]
    }
}
