import ZooModels
import ZooTensor

/// GPT-2 as `zoo verify` sees it: each call is a fresh sequence (no cache carried over).
public final class GPT2LogitsAdapter: TextLogitsModel {
    public let model: GPT2Model
    public init(_ model: GPT2Model) { self.model = model }

    public var vocabularySize: Int { model.config.vocabulary }
    public var contextLength: Int { model.config.positions }
    public var layerCount: Int { model.config.layers }

    // ids: [T] -> logits [T, V], hidden [L, T, C]
    public func logits(for ids: [Int], captureHidden: Bool) throws -> (logits: [Float], hidden: [Float]?) {
        let session = model.makeSession(capacity: ids.count)
        try session.forward(ids, logits: .all, captureHidden: captureHidden)
        return (session.logits, captureHidden ? session.hiddenStates : nil)
    }
}

/// A ViT as `zoo verify` sees it.
public final class ViTOutputsAdapter: ImageOutputsModel {
    public let model: ViTModel
    public init(_ model: ViTModel) { self.model = model }

    public var layerCount: Int { model.config.numLayers }

    // pixels: [B, C, H, W] -> outputs [B, K or C], hidden [L, B, N, C]
    public func outputs(pixels: Tensor, captureHidden: Bool) throws -> (outputs: [Float], hidden: [Float]?) {
        let batch = pixels.shape.dims.first ?? 1
        let run = try model.forward(pixels: try pixels.floats(), batch: batch, keepHiddenStates: captureHidden)
        return (run.outputs, captureHidden ? run.hiddenStates.flatMap { $0 } : nil)
    }
}
