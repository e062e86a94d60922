import Foundation
import ZooTensor

/// One image's result: the probabilities of the top classes.
public struct ImagePrediction: Sendable {
    public let source: String
    /// (label index, label, probability), most likely first.
    public let top: [(index: Int, label: String, probability: Float)]
}

/// Image files (PNG/JPEG, preprocessed by the model's recipe) and .npy pixel tensors to one batch,
/// then one forward pass.
public enum ViTClassifier {
    /// -> (pixels [B, C, H, W], source name per image).
    public static func batch(_ inputs: [String], for vit: LoadedViT) throws -> (pixels: [Float], sources: [String]) {
        let cfg = vit.model.config
        var pixels: [Float] = []
        var sources: [String] = []
        for path in inputs {
            if PixelTensorInput.isPixelTensorFile(path) {
                let (values, count) = try PixelTensorInput.load(path, channels: cfg.numChannels, height: cfg.imageHeight,
                                                               width: cfg.imageWidth)
                pixels += values
                sources += count == 1 ? [path] : (0..<count).map { "\(path)[\($0)]" }
            } else {
                guard cfg.numChannels == 3 else {
                    throw ZooError("the model takes \(cfg.numChannels) channels; image files give 3 (RGB). "
                                   + "Pass a preprocessed .npy pixel tensor instead", path: path)
                }
                pixels += try vit.preprocessing.pixelValues(try ImageDecoder.decode(file: path))
                sources.append(path)
            }
        }
        return (pixels, sources)
    }

    /// Softmax over each row of logits [B, K] and the `top` most likely labels per row.
    public static func predictions(logits: [Float], labels: [String], sources: [String], top: Int) -> [ImagePrediction] {
        let k = labels.count
        return sources.enumerated().map { (b, source) in
            let row = Array(logits[(b * k)..<((b + 1) * k)])
            let m = row.max() ?? 0
            let e = row.map { Foundation.exp(Double($0 - m)) }
            let sum = e.reduce(0, +)
            let order = (0..<k).sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
            let best = order.prefix(max(0, min(top, k))).map { (index: $0, label: labels[$0], probability: Float(e[$0] / sum)) }
            return ImagePrediction(source: source, top: best)
        }
    }
}
