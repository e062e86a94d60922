import ZooTensor

/// The weights of a linear layer in whatever form the hot loop uses; callers only ever call
/// `Linear.forward`, so a new form slots in here.
public enum LinearWeight: Sendable {
    /// [out, in] row-major f32, as the checkpoint stores it: CKernels' f32 GEMM / GEMV read it in
    /// place (packing 32-row panels as they go), so loading makes no second copy and a head tied to
    /// the token embedding shares its storage.
    case f32([Float])
    /// [out, in] as ggml Q8_0 blocks, repacked for CKernels' int8 GEMV/GEMM on its thread pool.
    case q8_0(PackedQ8_0)
    /// The same packed Q8_0 blocks (same bytes, same 4x smaller memory) with f32 activations:
    /// weight-only quantization (zoo_q8_0w_matmul). Several rows give the bits of the f32 kernels on
    /// the dequantized weights; a single row (decode) sums in its own order, equal to rounding.
    case q8_0WeightOnly(PackedQ8_0)
}

/// y = x W^T + b with W [out, in] (PyTorch nn.Linear layout; Conv1D weights are transposed at load).
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: LinearWeight
    public let bias: [Float]?

    /// weight: [out, in], bias: [out] or nil.
    public init(weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int) throws {
        guard weight.count == outFeatures * inFeatures else {
            throw ZooError("linear weight has \(weight.count) values, expected [\(outFeatures), \(inFeatures)]")
        }
        if let bias, bias.count != outFeatures {
            throw ZooError("linear bias has \(bias.count) values, expected [\(outFeatures)]")
        }
        self.weight = .f32(weight)
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// A Q8_0 layer.  weight: [out, in] packed, bias: [out] or nil.  weightOnly: keep activations
    /// in f32 (zoo_q8_0w_matmul) instead of quantizing them to int8 per 32-block.
    public init(q8_0 weight: PackedQ8_0, bias: [Float]?, weightOnly: Bool = false) throws {
        if let bias, bias.count != weight.rows {
            throw ZooError("linear bias has \(bias.count) values, expected [\(weight.rows)]")
        }
        self.weight = weightOnly ? .q8_0WeightOnly(weight) : .q8_0(weight)
        self.bias = bias
        self.inFeatures = weight.cols
        self.outFeatures = weight.rows
    }

    /// x: [T, in] -> y: [T, out]. `y` must hold T*out floats and must not overlap x.
    public func forward(_ x: UnsafePointer<Float>, rows t: Int, into y: UnsafeMutablePointer<Float>) {
        guard t > 0 else { return }
        switch weight {
        case .q8_0(let packed): forwardQ8(packed, weightOnly: false, x, rows: t, into: y)
        case .q8_0WeightOnly(let packed): forwardQ8(packed, weightOnly: true, x, rows: t, into: y)
        case .f32(let w): forwardF32(w, x, rows: t, into: y)
        }
    }

    private func forwardQ8(_ packed: PackedQ8_0, weightOnly: Bool, _ x: UnsafePointer<Float>, rows t: Int,
                           into y: UnsafeMutablePointer<Float>) {
        if let bias {
            bias.withUnsafeBufferPointer { packed.forward(x, rows: t, bias: $0.baseAddress, weightOnly: weightOnly, into: y) }
        } else {
            packed.forward(x, rows: t, bias: nil, weightOnly: weightOnly, into: y)
        }
    }

    private func forwardF32(_ w: [Float], _ x: UnsafePointer<Float>, rows t: Int, into y: UnsafeMutablePointer<Float>) {
        if inFeatures == 0 {  // empty sums: y = bias (or 0)
            for row in 0..<t { for j in 0..<outFeatures { y[row * outFeatures + j] = bias?[j] ?? 0 } }
            return
        }
        w.withUnsafeBufferPointer { wp in
            guard let base = wp.baseAddress else { return }
            if let bias {
                bias.withUnsafeBufferPointer {
                    matmulTransposedB(x, rows: t, inner: inFeatures, base, cols: outFeatures, bias: $0.baseAddress, into: y)
                }
            } else {
                matmulTransposedB(x, rows: t, inner: inFeatures, base, cols: outFeatures, bias: nil, into: y)
            }
        }
    }

    /// Convenience for tests and small callers.  x: [T, in] -> [T, out]
    public func forward(_ x: [Float], rows t: Int) -> [Float] {
        var y = [Float](repeating: 0, count: t * outFeatures)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                if let xb = xp.baseAddress, let yb = yp.baseAddress { forward(xb, rows: t, into: yb) }
            }
        }
        return y
    }
}
