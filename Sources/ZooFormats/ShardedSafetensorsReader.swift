import ZooTensor
import Foundation

/// A sharded checkpoint: `model.safetensors.index.json` naming, for each tensor, the shard file
/// that holds it. Every shard named must exist and hold the tensors the index assigns to it;
/// a tensor may not appear in two shards.
public final class ShardedSafetensorsReader: CheckpointReader, @unchecked Sendable {
    public let path: String
    public let format = CheckpointFormat.safetensors
    public let shards: [SafetensorsReader]
    public private(set) var metadata: [MetadataEntry] = []
    public private(set) var tensors: [TensorInfo] = []
    private var owner: [String: SafetensorsReader] = [:]

    public static let maxIndexBytes = 64 << 20

    public init(indexPath: String) throws {
        path = indexPath
        let index = try MappedFile(path: indexPath)
        if index.count > ShardedSafetensorsReader.maxIndexBytes {
            throw ZooError("index is \(index.count) bytes, more than the limit \(ShardedSafetensorsReader.maxIndexBytes)", path: indexPath)
        }
        let json = try JSON.parse(index.bytes, what: "safetensors index", path: indexPath)
        guard let weightMap = json["weight_map"]?.object else {
            throw ZooError("has no \"weight_map\" object", path: indexPath)
        }
        if let meta = json["metadata"]?.object {
            for (key, value) in meta {
                switch value {
                case .string(let s): metadata.append(MetadataEntry(key, .string(s)))
                default:
                    if let v = value.int { metadata.append(MetadataEntry(key, .int64(Int64(v)))) }
                    else { metadata.append(MetadataEntry(key, .string(value.serialized()))) }
                }
            }
        }
        let folder = (indexPath as NSString).deletingLastPathComponent
        var files: [String] = []
        var assigned: [String: String] = [:]
        for (tensor, value) in weightMap {
            guard let file = value.string else { throw ZooError("weight_map entry is not a file name", path: indexPath, tensor: tensor) }
            if file.contains("/") || file == ".." || file.isEmpty {
                throw ZooError("weight_map names '\(file)', which is not a plain file name in the index's folder", path: indexPath, tensor: tensor)
            }
            assigned[tensor] = file
            if !files.contains(file) { files.append(file) }
        }
        var readers: [String: SafetensorsReader] = [:]
        for file in files {
            let shardPath = folder.isEmpty ? file : folder + "/" + file
            if !FileManager.default.fileExists(atPath: shardPath) {
                throw ZooError("shard '\(file)' named in the index does not exist", path: indexPath)
            }
            readers[file] = try SafetensorsReader(path: shardPath)
        }
        shards = files.compactMap { readers[$0] }
        for file in files {
            guard let shard = readers[file] else { continue }
            for info in shard.tensors {
                if let other = owner[info.name] {
                    throw ZooError("is in both \(other.path) and \(shard.path)", path: indexPath, tensor: info.name)
                }
                owner[info.name] = shard
                tensors.append(info)
            }
        }
        for (tensor, file) in assigned where owner[tensor]?.path.hasSuffix("/" + file) != true && owner[tensor]?.path != file {
            throw ZooError("the index places it in '\(file)' but that shard does not hold it", path: indexPath, tensor: tensor)
        }
    }

    public func release(_ name: String) { owner[name]?.release(name) }
    public func release(_ name: String, bytes: Range<Int>) { owner[name]?.release(name, bytes: bytes) }

    public func tensor(_ name: String) throws -> Tensor {
        guard let shard = owner[name] else { throw ZooError("no such tensor", path: path, tensor: name) }
        return try shard.tensor(name)
    }
}
