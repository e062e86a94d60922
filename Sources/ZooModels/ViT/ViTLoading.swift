import Foundation
import ZooFormats
import ZooTensor

/// A ViT ready to classify images: the model, its preprocessing, and where they came from.
public struct LoadedViT: Sendable {
    public let model: ViTModel
    public let preprocessing: ImagePreprocessing
    /// Where the preprocessing settings came from (for messages): a file or "defaults".
    public let preprocessingSource: String
    public let weightsPath: String
}

public enum ViTLoader {
    /// Loads a model folder (config.json + weights; or a timm folder with only model.safetensors)
    /// or a single weights file (timm names; its folder is searched for config.json).
    public static func load(_ path: String, mode: WeightMode = .auto) throws -> LoadedViT {
        let d = try describe(path)
        let weights = try WeightLoader.load(d.reader, table: d.table, sizes: d.config.tableSizes, keepQuantized: mode != .f32)
        let model = try ViTModel(config: d.config, weights: weights, mode: mode)
        return LoadedViT(model: model, preprocessing: d.preprocessing, preprocessingSource: d.source, weightsPath: d.reader.path)
    }

    /// What a ViT checkpoint is, from its headers and config files only (no weights are read).
    public struct Description {
        public let reader: CheckpointReader
        public let config: ViTConfig
        public let preprocessing: ImagePreprocessing
        public let source: String
        public let table: NamingTable
        public let folder: String
    }

    public static func describe(_ path: String) throws -> Description {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ZooError("no such model file or folder", path: path)
        }
        let folder = isFolder.boolValue ? path : (path as NSString).deletingLastPathComponent
        let reader = try Checkpoint.open(path)
        let configPath = folder + "/config.json"
        let config: ViTConfig
        var preprocessing: ImagePreprocessing
        var source: String
        var table: NamingTable?
        if reader.format == .gguf {
            (config, preprocessing) = try ViTGGUFMetadata.config(reader)
            source = reader.path + " (vit.preprocess.*)"
            table = ViTNamingTables.gguf
        } else if FileManager.default.fileExists(atPath: configPath) {
            let json = try readJSON(configPath)
            if json["architecture"]?.string != nil {
                config = try ViTConfig.fromTimm(json, reader: reader, path: configPath)
                preprocessing = try ImagePreprocessing.fromTimm(json["pretrained_cfg"] ?? .object([]),
                                                                imageSize: config.imageHeight, path: configPath)
                source = configPath + " (pretrained_cfg)"
            } else if json["model_type"]?.string == "vit" {
                config = try ViTConfig.fromHuggingFace(json, path: configPath)
                let pp = folder + "/preprocessor_config.json"
                if FileManager.default.fileExists(atPath: pp) {
                    preprocessing = try ImagePreprocessing.fromHuggingFace(try readJSON(pp), imageSize: config.imageHeight,
                                                                           path: pp)
                    source = pp
                } else {
                    preprocessing = .huggingFaceDefaults(imageSize: config.imageHeight)
                    source = "ViTImageProcessor defaults (no preprocessor_config.json)"
                }
            } else {
                let found = json["model_type"]?.string.map { "model_type '\($0)'" } ?? "neither model_type nor architecture"
                throw ZooError("is not a ViT config: expected model_type 'vit' or a timm 'architecture', found \(found)",
                               path: configPath)
            }
        } else if reader.info("patch_embed.proj.weight") != nil {
            config = try ViTConfig.fromTimmShapes(reader)
            try config.validate(path: reader.path)
            preprocessing = .timmDefaults(imageSize: config.imageHeight)
            source = "timm defaults (no config.json): crop_pct 0.875, bicubic, ImageNet mean/std"
        } else {
            throw ZooError("no config.json beside the weights, and the tensor names are not timm's "
                           + "(expected patch_embed.proj.weight); a Hugging Face ViT needs its config.json", path: folder)
        }
        if preprocessing.height != config.imageHeight || preprocessing.width != config.imageWidth {
            // The model cannot take another size (no position-embedding interpolation).
            throw ZooError("preprocessing makes \(preprocessing.width)x\(preprocessing.height) images, the model takes "
                           + "\(config.imageWidth)x\(config.imageHeight)", path: source)
        }
        return Description(reader: reader, config: config, preprocessing: preprocessing, source: source,
                           table: table ?? ViTNamingTables.table(for: config.convention), folder: folder)
    }

    static func readJSON(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ZooError("cannot read", path: path) }
        return try data.withUnsafeBytes { try JSON.parse($0, what: "JSON", path: path) }
    }
}
