import ArgumentParser
import Foundation
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor

/// Turning the MODEL argument into paths: the demo model when none is given, and the tokenizer
/// that goes with each form of model.
enum ModelArgument {
    static let demoModel = "fixtures/demo-gpt2"

    /// The repository root as seen from this source file (Sources/zoo/ModelArgument.swift), so
    /// a build run from anywhere finds the demo model; the current directory otherwise.
    static var demoModelPath: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let fromSource = root + "/" + demoModel
        if FileManager.default.fileExists(atPath: fromSource) { return fromSource }
        return FileManager.default.currentDirectoryPath + "/" + demoModel
    }

    /// The repository this executable was built from (for the demo models and committed fixtures).
    static var repositoryRoot: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        if FileManager.default.fileExists(atPath: root + "/fixtures") { return root }
        return FileManager.default.currentDirectoryPath
    }

    /// MODEL, or the demo model when it was left out.
    static func path(_ given: String?) -> String { given ?? demoModelPath }

    /// The tokenizer for a model: the GGUF metadata, or the tokenizer files of the model's folder.
    static func tokenizer(for source: GPT2Source) throws -> GPT2Tokenizer {
        if source.kind == .gguf { return try GPT2Tokenizer(gguf: try GGUFReader(path: source.weightsPath)) }
        guard let folder = source.tokenizerFolder else { throw ZooError("no tokenizer for this model", path: source.weightsPath) }
        return try GPT2Tokenizer.load(folder: folder)
    }

    /// The tokenizer alone (`zoo tokenize`): a folder needs no weights, only tokenizer files.
    static func tokenizer(at path: String) throws -> GPT2Tokenizer {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ZooError("no such model file or folder", path: path)
        }
        if isFolder.boolValue { return try GPT2Tokenizer.load(folder: path) }
        if path.lowercased().hasSuffix(".gguf") { return try GPT2Tokenizer(gguf: try GGUFReader(path: path)) }
        let folder = (path as NSString).deletingLastPathComponent
        return try GPT2Tokenizer.load(folder: folder.isEmpty ? "." : folder)
    }
}

/// `--kv-cache f16|f32` (run, bench, verify).
extension KVCacheDType: ExpressibleByArgument {}
