import Foundation
import ZooFormats
import ZooKernels
import ZooTensor

/// Where a GPT-2 comes from: the three forms `zoo run MODEL` accepts.
public struct GPT2Source: Sendable {
    public enum Kind: Sendable { case folder, gguf, weightsBesideConfig }
    public let kind: Kind
    /// The weights file (or shard index / GGUF file).
    public let weightsPath: String
    /// config.json for Hugging Face forms; nil for GGUF (metadata instead).
    public let configPath: String?
    /// The folder holding tokenizer files (nil for GGUF: the tokenizer is in the metadata).
    public let tokenizerFolder: String?

    /// Classifies MODEL: a model folder, a .gguf file, or a .safetensors / .npz / shard index
    /// with a config.json beside it.
    public static func resolve(_ path: String) throws -> GPT2Source {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ZooError("no such model file or folder", path: path)
        }
        if isFolder.boolValue {
            let weights = try Checkpoint.weightsFile(inFolder: path)
            if weights.lowercased().hasSuffix(".gguf") {
                return GPT2Source(kind: .gguf, weightsPath: weights, configPath: nil, tokenizerFolder: nil)
            }
            let config = (path as NSString).appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: config) else {
                throw ZooError("model folder has no config.json (needed to know the model's sizes)", path: path)
            }
            return GPT2Source(kind: .folder, weightsPath: weights, configPath: config, tokenizerFolder: path)
        }
        if path.lowercased().hasSuffix(".gguf") || isGGUF(path) {
            return GPT2Source(kind: .gguf, weightsPath: path, configPath: nil, tokenizerFolder: nil)
        }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        let config = (dir as NSString).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: config) else {
            throw ZooError("a weights file needs a config.json beside it (looked for \(config))", path: path)
        }
        return GPT2Source(kind: .weightsBesideConfig, weightsPath: path, configPath: config, tokenizerFolder: dir)
    }

    private static func isGGUF(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let magic = (try? h.read(upToCount: 4)) ?? Data()
        return magic == Data("GGUF".utf8)
    }
}

public enum GPT2Loader {
    /// Reads config and weights (through the naming table for the file's convention) into a model.
    /// kvCache: how its sessions store keys and values (nil: GPT2Model.defaultKVCache).
    public static func load(_ source: GPT2Source, mode: WeightMode = .auto, kvCache: KVCacheDType? = nil) throws -> GPT2Model {
        let reader = try Checkpoint.open(source.weightsPath)
        let config: GPT2Config
        let table: NamingTable
        if reader.format == .gguf {
            config = try GPT2Config.fromGGUF(reader)
            table = GPT2NamingTables.gguf
        } else {
            guard let configPath = source.configPath else {
                throw ZooError("no config.json for this \(reader.format.rawValue) checkpoint", path: source.weightsPath)
            }
            config = try GPT2Config.fromHF(configPath: configPath)
            table = GPT2NamingTables.huggingFace
        }
        return try load(reader: reader, config: config, table: table, configName: source.configPath ?? "GGUF metadata", mode: mode,
                        kvCache: kvCache)
    }

    /// Maps an open checkpoint onto a GPT-2 of `config` through `table`.
    public static func load(reader: CheckpointReader, config: GPT2Config, table: NamingTable, configName: String = "config",
                            mode: WeightMode = .auto, kvCache: KVCacheDType? = nil) throws -> GPT2Model {
        let loaded: LoadedWeights
        do {
            loaded = try WeightLoader.load(reader, table: table, sizes: config.sizes, keepQuantized: mode != .f32)
        } catch let error as ZooError {
            // Most mismatches mean the config describes another model than the weights hold.
            let described = "the config (\(configName)) says n_embd \(config.embedding), n_layer \(config.layers), n_head \(config.heads), n_positions \(config.positions), vocab_size \(config.vocabulary), n_inner \(config.inner); the checkpoint "
            throw ZooError(described + error.message, path: error.path, tensor: error.tensor)
        }
        return GPT2Model(config: config, weights: try GPT2Weights(loaded, config: config, mode: mode), kvCache: kvCache)
    }

    public static func load(path: String, mode: WeightMode = .auto, kvCache: KVCacheDType? = nil) throws -> GPT2Model {
        try load(try GPT2Source.resolve(path), mode: mode, kvCache: kvCache)
    }
}
