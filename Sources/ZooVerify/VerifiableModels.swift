import ZooTensor

/// What `zoo verify` needs from a language model: logits for every position of a token sequence,
/// and optionally every block's output.
public protocol TextLogitsModel: AnyObject {
    var vocabularySize: Int { get }
    var contextLength: Int { get }
    var layerCount: Int { get }
    /// ids: [T] -> logits [T, V]; hidden [L, T, C] when asked for.
    func logits(for ids: [Int], captureHidden: Bool) throws -> (logits: [Float], hidden: [Float]?)
}

/// What `zoo verify` needs from an image model: outputs for a preprocessed batch.
public protocol ImageOutputsModel: AnyObject {
    var layerCount: Int { get }
    /// pixels: [B, C, H, W] -> outputs [B, N] (logits, or pooled features); hidden [L, B, tokens, C].
    func outputs(pixels: Tensor, captureHidden: Bool) throws -> (outputs: [Float], hidden: [Float]?)
}
