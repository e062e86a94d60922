import Foundation
import XCTest
import ZooTensor
@testable import ZooModels

/// The demo digits ViT (fixtures/demo-vit) against PyTorch's results in reference.json: the same
/// prediction for every committed PNG (through Zoo's decoder and preprocessing), and the same
/// held-out predictions and accuracy on heldout_pixel_values.npy.
final class ViTDemoTests: XCTestCase {
    static var folder: String { ImageTestSupport.root + "/fixtures/demo-vit" }

    func reference() throws -> JSONValue {
        let path = Self.folder + "/reference.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw ZooError("missing", path: path) }
        return try data.withUnsafeBytes { try JSON.parse($0, path: path) }
    }

    func testCommittedPNGsGivePyTorchsPredictions() throws {
        let ref = try reference()
        let vit = try ViTLoader.load(Self.folder)
        let entries = ref["images"]?.array ?? []
        XCTAssertFalse(entries.isEmpty)
        let files = entries.compactMap { $0["file"]?.string }.map { Self.folder + "/" + $0 }
        let (pixels, sources) = try ViTClassifier.batch(files, for: vit)
        let out = try vit.model.forward(pixels: pixels, batch: sources.count)
        let preds = ViTClassifier.predictions(logits: out.outputs, labels: vit.model.config.labels, sources: sources, top: 1)
        let k = out.outputWidth
        for (i, entry) in entries.enumerated() {
            let name = entry["file"]?.string ?? "?"
            XCTAssertEqual(preds[i].top.first?.index, entry["predicted"]?.int, name)
            if let p = entry["probability"]?.double, let got = preds[i].top.first?.probability {
                XCTAssertEqual(Double(got), p, accuracy: 1e-4, name)
            }
            let want = (entry["logits"]?.array ?? []).compactMap { $0.double }.map { Float($0) }
            let got = Array(out.outputs[(i * k)..<((i + 1) * k)])
            XCTAssertLessThanOrEqual(ImageTestSupport.maxAbsDiff(got, want) / (want.map(abs).max() ?? 1), 1e-4, name)
        }
    }

    func testHeldOutAccuracyEqualsPyTorchs() throws {
        let ref = try reference()
        let vit = try ViTLoader.load(Self.folder)
        let cfg = vit.model.config
        let (pixels, batch) = try PixelTensorInput.load(Self.folder + "/heldout_pixel_values.npy", channels: cfg.numChannels,
                                                        height: cfg.imageHeight, width: cfg.imageWidth)
        let (labels, _) = try ImageTestSupport.npy(Self.folder + "/heldout_labels.npy")
        XCTAssertEqual(labels.count, batch)
        let out = try vit.model.forward(pixels: pixels, batch: batch)
        let k = out.outputWidth
        let predicted = (0..<batch).map { b -> Int in
            let row = out.outputs[(b * k)..<((b + 1) * k)]
            return row.indices.max(by: { row[$0] < row[$1] }).map { $0 - b * k } ?? -1
        }
        let correct = zip(predicted, labels).filter { Float($0) == $1 }.count
        XCTAssertEqual(correct, ref["heldout_correct"]?.int)
        let refPredictions = (ref["heldout_predictions"]?.array ?? []).compactMap { $0.int }
        XCTAssertEqual(predicted, refPredictions, "every held-out prediction equals PyTorch's")
    }
}
