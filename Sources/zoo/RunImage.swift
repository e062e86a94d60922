import Foundation
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor

/// The demo image classifier (a ViT trained on scikit-learn's digits), found from this source file.
enum DemoViT {
    static var path: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/demo-vit").path
    }
}

/// Image classification for `zoo run --image`: every image in one batch, top-K labels per image.
func runImageClassification(model: String?, images: [String], top: Int, dumpLogits: String?, threads: Int?) throws {
    try ArgumentChecks.threads(threads)
    guard top >= 1 else { throw ZooError("--top must be at least 1, found \(top)") }
    KernelThreads.configure(threads)
    let modelPath = model ?? DemoViT.path
    if model == nil { Stderr.print("note: no MODEL given; using the demo digits ViT at \(modelPath)") }

    let vit = try ViTLoader.load(modelPath)
    guard !vit.model.config.labels.isEmpty, vit.model.outputWidth == vit.model.config.labels.count else {
        throw ZooError("is a headless ViT (no classifier head): nothing to classify with", path: modelPath)
    }
    let (pixels, sources) = try ViTClassifier.batch(images, for: vit)
    let start = Date()
    let out = try vit.model.forward(pixels: pixels, batch: sources.count)  // [B, C, H, W] -> [B, K]
    let seconds = Date().timeIntervalSince(start)
    if let dumpLogits {
        try NpyWriter.writeFloats(out.outputs, shape: [sources.count, out.outputWidth], to: dumpLogits)
    }
    let predictions = ViTClassifier.predictions(logits: out.outputs, labels: vit.model.config.labels,
                                                sources: sources, top: top)
    for p in predictions {
        print(p.source)
        for entry in p.top {
            print("  " + String(format: "%7.4f", entry.probability) + "  " + entry.label)
        }
    }
    Stderr.print(String(format: "%d image(s) in %.3f s (preprocessing: %@)", sources.count, seconds,
                        vit.preprocessingSource))
}
