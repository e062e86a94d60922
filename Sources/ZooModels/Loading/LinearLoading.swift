import ZooKernels
import ZooTensor

/// How a model's linear layers hold their weights.
public enum WeightMode: String, Sendable {
    /// Q8_0 where the checkpoint stores Q8_0 (int8 kernels), f32 elsewhere.
    case auto
    /// Everything dequantized to f32.
    case f32
    /// Every linear layer (and a tied head) in Q8_0: stored Q8_0 kept, f32 quantized at load.
    /// Layers whose input width is not a multiple of 32 stay f32 (Q8_0 blocks need it).
    case q8_0
    /// Q8_0 weights, f32 activations (weight-only quantization): loaded exactly as `.q8_0` (same
    /// packed blocks, same memory), but the products keep the activations in f32: f32 arithmetic on
    /// the dequantized weights. Prefill runs at f32 speed (several times slower than `.q8_0`'s int8),
    /// decode streams the same weight bytes as `.q8_0`; the results are closer to f32.
    case q8_0w

    /// Q8_0 weights in either form: stored Q8_0 is kept, f32 quantized at load.
    var quantizesWeights: Bool { self == .q8_0 || self == .q8_0w }
}

extension LoadedWeights {
    /// The linear layer of `field` ([out, in]) in the form `mode` asks for: a stored Q8_0 tensor is
    /// repacked for the Q8_0 kernels as it is, f32 weights are quantized at load in `.q8_0` / `.q8_0w`
    /// mode; `.q8_0w` layers keep their activations in f32.
    public func linear(_ field: String, bias: [Float]?, out: Int, in k: Int, mode: WeightMode) throws -> Linear {
        let weightOnly = mode == .q8_0w
        if mode != .f32, k % 32 == 0, let q = quantized[field] {
            return try q.withUnsafeBytes {
                try Linear(q8_0: try PackedQ8_0(blocks: $0, rows: out, cols: k), bias: bias, weightOnly: weightOnly)
            }
        }
        let values = try values(field)
        if mode.quantizesWeights, k % 32 == 0 {
            return try Linear(q8_0: try PackedQ8_0.quantizing(values, rows: out, cols: k), bias: bias, weightOnly: weightOnly)
        }
        return try Linear(weight: values, bias: bias, outFeatures: out, inFeatures: k)
    }
}
