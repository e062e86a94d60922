import Foundation
import ZooFormats
import ZooTensor

/// Which architecture a MODEL argument holds, from config.json or GGUF metadata; nil when it is
/// a bare checkpoint with no model description (tensor-level tools still work on it).
public enum ModelKind: String, Sendable {
    case gpt2, vit

    public static func detect(_ path: String) -> ModelKind? {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return nil }
        let lower = path.lowercased()
        if !isFolder.boolValue && (lower.hasSuffix(".gguf")) {
            guard let reader = try? GGUFReader(path: path), let arch = reader.metadataValue("general.architecture")?.string else { return nil }
            return ModelKind(rawValue: arch)
        }
        let folder = isFolder.boolValue ? path : (path as NSString).deletingLastPathComponent
        let config = (folder.isEmpty ? "." : folder) + "/config.json"
        if let data = FileManager.default.contents(atPath: config),
           let json = try? data.withUnsafeBytes({ try JSON.parse($0, what: "config.json", path: config) }) {
            if let type = json["model_type"]?.string { return ModelKind(rawValue: type) }
            if json["architecture"]?.string?.hasPrefix("vit") == true { return .vit }
        }
        if isFolder.boolValue, let weights = try? Checkpoint.weightsFile(inFolder: path), weights.lowercased().hasSuffix(".gguf") {
            return detect(weights)
        }
        // A timm checkpoint may come without any config: its tensor names say what it is.
        if let reader = try? Checkpoint.open(path), reader.info("patch_embed.proj.weight") != nil { return .vit }
        return nil
    }
}
