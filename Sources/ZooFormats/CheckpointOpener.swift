import Foundation
import ZooTensor

/// Opens any checkpoint Zoo reads: a file by extension (or magic bytes), an index JSON, or a
/// model folder (the one weights file or shard index inside it).
public enum Checkpoint {
    public static func open(_ path: String) throws -> CheckpointReader {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ZooError("no such file or folder", path: path)
        }
        if isFolder.boolValue { return try open(try weightsFile(inFolder: path)) }
        let lower = path.lowercased()
        if lower.hasSuffix(".index.json") { return try ShardedSafetensorsReader(indexPath: path) }
        let file = try MappedFile(path: path)
        if lower.hasSuffix(".safetensors") { return try SafetensorsReader(file: file) }
        if lower.hasSuffix(".gguf") { return try GGUFReader(file: file) }
        if lower.hasSuffix(".npy") { return try NpyReader(file: file) }
        if lower.hasSuffix(".npz") { return try NpzReader(file: file) }
        let b = file.bytes
        if b.count >= 4 && b[0] == 0x47 && b[1] == 0x47 && b[2] == 0x55 && b[3] == 0x46 { return try GGUFReader(file: file) }
        if b.count >= 6 && b[0] == 0x93 && b[1] == 0x4E && b[2] == 0x55 { return try NpyReader(file: file) }
        if b.count >= 4 && b[0] == 0x50 && b[1] == 0x4B && b[2] == 0x03 && b[3] == 0x04 { return try NpzReader(file: file) }
        if b.count >= 9 && b[8] == UInt8(ascii: "{") { return try SafetensorsReader(file: file) }
        throw ZooError("unknown file format (expected .safetensors, .gguf, .npy, .npz or a model folder)", path: path)
    }

    /// A reader of a known format over an already-mapped (or in-memory) file.
    public static func open(_ file: MappedFile, as format: CheckpointFormat) throws -> CheckpointReader {
        switch format {
        case .safetensors: return try SafetensorsReader(file: file)
        case .gguf: return try GGUFReader(file: file)
        case .npy: return try NpyReader(file: file)
        case .npz: return try NpzReader(file: file)
        }
    }

    /// The weights inside a model folder: a shard index, else the single weights file.
    public static func weightsFile(inFolder folder: String) throws -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        for preferred in ["model.safetensors.index.json", "model.safetensors"] where names.contains(preferred) {
            return folder + "/" + preferred
        }
        let indexes = names.filter { $0.hasSuffix(".safetensors.index.json") }
        if indexes.count == 1 { return folder + "/" + indexes[0] }
        let candidates = names.filter { n in [".safetensors", ".gguf", ".npz"].contains(where: { n.lowercased().hasSuffix($0) }) && !n.hasPrefix(".") }
        if candidates.count == 1 { return folder + "/" + candidates[0] }
        if candidates.isEmpty {
            throw ZooError("holds no weights (expected model.safetensors, a shard index, a .gguf or a .npz)", path: folder)
        }
        throw ZooError("holds several weight files (\(candidates.joined(separator: ", "))); name one", path: folder)
    }
}
