import Foundation
import XCTest
import ZooFormats
import ZooTensor
@testable import ZooModels

/// Every committed ViT fixture (fixtures/vit/*.fixture.npz, made by transformers/timm in PyTorch):
/// Zoo's forward pass on the fixture's pixel_values must give the logits (or pooled features) and
/// every block's hidden states within the fixture's f32 tolerance (max|diff| / max|ref| <= 1e-4).
final class ViTFixtureTests: XCTestCase {
    static var vitFolder: String { ImageTestSupport.root + "/fixtures/vit" }

    struct Fixture {
        let name: String
        let modelFolder: String
        let reader: NpzReader
        let metadata: JSONValue

        func floats(_ member: String) throws -> (values: [Float], shape: [Int]) {
            let t = try reader.tensor(member)
            return (try t.floats(), t.shape.dims)
        }
        func has(_ member: String) -> Bool { reader.info(member) != nil }
    }

    static func fixtures() throws -> [Fixture] {
        try ImageTestSupport.files(in: vitFolder, suffix: ".fixture.npz").map { file in
            let name = String(file.dropLast(".fixture.npz".count))
            let model = name.hasSuffix(".images") ? String(name.dropLast(".images".count)) : name
            let reader = try NpzReader(path: vitFolder + "/" + file)
            let metaTensor = try reader.tensor("metadata")  // keeps the bytes alive while they are parsed
            let meta = try metaTensor.withUnsafeBytes { try JSON.parse($0, what: "fixture metadata", path: file) }
            return Fixture(name: name, modelFolder: vitFolder + "/" + model, reader: reader, metadata: meta)
        }
    }

    static func maxRel(_ got: [Float], _ want: [Float]) -> Float {
        let scale = want.reduce(0) { max($0, abs($1)) }
        return ImageTestSupport.maxAbsDiff(got, want) / max(scale, 1e-30)
    }

    func testEveryFixtureMatches() throws {
        let all = try Self.fixtures()
        try XCTSkipIf(all.isEmpty, "no ViT fixtures yet")
        for fixture in all {
            let vit = try ViTLoader.load(fixture.modelFolder)
            let (pixels, shape) = try fixture.floats("pixel_values")
            let batch = shape[0]
            let out = try vit.model.forward(pixels: pixels, batch: batch, keepHiddenStates: true)
            let member = fixture.has("logits") ? "logits" : "pooled"
            let (want, wantShape) = try fixture.floats(member)
            XCTAssertEqual(wantShape, [batch, out.outputWidth], "\(fixture.name): \(member) shape")
            let tolerance = Float(fixture.metadata["tolerances"]?["f32"]?["max_rel"]?.double ?? 1e-4)
            let rel = Self.maxRel(out.outputs, want)
            XCTAssertLessThanOrEqual(rel, tolerance, "\(fixture.name): \(member) max rel \(rel)")
            if fixture.has("hidden_states") {
                let (hs, hsShape) = try fixture.floats("hidden_states")  // [L, B, N, C]
                XCTAssertEqual(hsShape[0], out.hiddenStates.count, "\(fixture.name): layers")
                let per = hs.count / max(hsShape[0], 1)
                for l in 0..<min(hsShape[0], out.hiddenStates.count) {
                    let r = Self.maxRel(out.hiddenStates[l], Array(hs[(l * per)..<((l + 1) * per)]))
                    XCTAssertLessThanOrEqual(r, tolerance, "\(fixture.name): hidden state of block \(l), max rel \(r)")
                }
            }
        }
    }

    /// Every image fixture (fixtures/vit/*.images.fixture.npz and the demo ViT's) with the folder its
    /// model and its image files are in.
    static func imageFixtures() throws -> [(fixture: Fixture, images: String)] {
        let tiny = try fixtures().filter { $0.name.hasSuffix(".images") }.map { ($0, ImageTestSupport.images) }
        let demoFolder = ImageTestSupport.root + "/fixtures/demo-vit"
        let demoFile = demoFolder + "/demo-vit.images.fixture.npz"
        guard ImageTestSupport.exists(demoFile) else { return tiny }
        let reader = try NpzReader(path: demoFile)
        let metaTensor = try reader.tensor("metadata")  // keeps the bytes alive while they are parsed
        let meta = try metaTensor.withUnsafeBytes { try JSON.parse($0, what: "fixture metadata", path: demoFile) }
        return tiny + [(Fixture(name: "demo-vit.images", modelFolder: demoFolder, reader: reader, metadata: meta),
                        demoFolder + "/images")]
    }

    /// The image fixtures end to end: the PNG/JPEG files through Zoo's decoder and preprocessing, image
    /// by image. Pixel tensors are compared first (so a preprocessing difference is named as such),
    /// then the logits (pooled features for the bare ViTModel) from Zoo's own pixels must be within
    /// 1e-2 relative (max|diff| / max|ref|, per image) of the reference pipeline's: PIL + the
    /// reference processor (transformers' ViTImageProcessor, PIL backend; timm's eval transform).
    func testImagesThroughZooPreprocessing() throws {
        let all = try Self.imageFixtures()
        try XCTSkipIf(all.isEmpty, "no ViT image fixtures yet")
        for (fixture, imageFolder) in all {
            let vit = try ViTLoader.load(fixture.modelFolder)
            var pre = vit.preprocessing
            // A timm folder without config.json cannot know its preprocessing; take the fixture's.
            if fixture.metadata["convention"]?.string == "timm", let p = fixture.metadata["preprocessing"] {
                pre = try ImagePreprocessing.fromTimm(p, imageSize: vit.model.config.imageHeight, path: fixture.name)
            }
            let names = fixture.metadata["images"]?.array?.compactMap { $0.string } ?? []
            XCTAssertFalse(names.isEmpty, fixture.name)
            var pixels: [Float] = []
            for name in names {
                pixels += try pre.pixelValues(try ImageDecoder.decode(file: imageFolder + "/" + name))
            }
            let (refPixels, _) = try fixture.floats("pixel_values")
            XCTAssertEqual(pixels.count, refPixels.count, "\(fixture.name): pixel tensor size")
            let out = try vit.model.forward(pixels: pixels, batch: names.count)
            let member = fixture.has("logits") ? "logits" : "pooled"
            let (want, _) = try fixture.floats(member)
            XCTAssertEqual(out.outputs.count, want.count, "\(fixture.name): \(member) size")
            let plane = pre.height * pre.width, perImage = 3 * plane, width = want.count / max(names.count, 1)
            for (b, name) in names.enumerated() where (b + 1) * perImage <= min(pixels.count, refPixels.count) {
                // Pixels in 0..255 units: |diff| * std * 255 (channel-wise std). Zoo's resize is Pillow's
                // bit for bit, so only float rounding of rescale/normalise remains (about 1e-5).
                var worst: Float = 0
                for i in (b * perImage)..<((b + 1) * perImage) {
                    worst = max(worst, abs(pixels[i] - refPixels[i]) * pre.std[(i / plane) % 3] * 255)
                }
                XCTAssertLessThanOrEqual(worst, 1e-3, "\(fixture.name) \(name): preprocessing differs, max \(worst) in 0..255 units")
                let rows = (b * width)..<((b + 1) * width)
                let rel = Self.maxRel(Array(out.outputs[rows]), Array(want[rows]))
                XCTAssertLessThanOrEqual(rel, 1e-2, "\(fixture.name) \(name): \(member) from Zoo's pixels, max rel \(rel)")
                print("end to end \(fixture.name) \(name): pixels max |diff| \(worst) (0..255 units), \(member) max rel \(rel)")
            }
        }
    }
}
