// Helpers shared by the Image* and ViT* tests (named *Tests.swift to sit among the files this suite owns).
import Foundation
import ZooFormats
import ZooTensor

/// Paths and small readers shared by the image and ViT tests.
enum ImageTestSupport {
    /// The repository root, found from this file's path (Tests/ZooModelsTests/ThisFile.swift).
    static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()
    static var images: String { root + "/fixtures/images" }
    static var resizeReference: String { root + "/formats/resize-reference" }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func files(in folder: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// A .npy file's values as f32 (integers converted by value) and its shape.
    static func npy(_ path: String) throws -> (values: [Float], shape: [Int]) {
        let reader = try NpyReader(path: path)
        guard let name = reader.tensors.first?.name else { throw ZooError("empty npy", path: path) }
        let t = try reader.tensor(name)
        return (try t.floats(), t.shape.dims)
    }

    static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
