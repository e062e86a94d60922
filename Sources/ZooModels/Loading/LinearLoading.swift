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
}

extension LoadedWeights {
    /// The linear layer of `field` ([out, in]) in the form `mode` asks for: a stored Q8_0 tensor is
    /// repacked for the int8 kernels as it is, f32 weights are quantized at load in `.q8_0` mode.
    public func linear(_ field: String, bias: [Float]?, out: Int, in k: Int, mode: WeightMode) throws -> Linear {
        if mode != .f32, k % 32 == 0, let q = quantized[field] {
            return try q.withUnsafeBytes { try Linear(q8_0: try PackedQ8_0(blocks: $0, rows: out, cols: k), bias: bias) }
        }
        let values = try values(field)
        if mode == .q8_0, k % 32 == 0 {
            return try Linear(q8_0: try PackedQ8_0.quantizing(values, rows: out, cols: k), bias: bias)
        }
        return try Linear(weight: values, bias: bias, outFeatures: out, inFeatures: k)
    }
}
