import ZooTensor

/// An f32 tensor owned by the model: shape outermost first, values row-major.
public struct FloatTensor: Sendable, Equatable {
    public let shape: [Int]
    public let values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// The tensors a `WeightLoader` produced, by model field name, all f32 in the model's layout.
public struct LoadedWeights: Sendable {
    public let tensors: [String: FloatTensor]
    /// Fields kept in their stored block-quantized form (Q8_0, model layout), when the loader was
    /// asked to keep them; `values` dequantizes them on demand.
    public let quantized: [String: Tensor]
    /// The checkpoint's dtype for each field (for summaries: "loaded from bf16").
    public let sourceDTypes: [String: DType]
    /// The naming-table prefix the checkpoint used ("transformer." or "").
    public let prefix: String
    public let path: String

    /// The values of a required field. The loader already checked presence and shape, so a miss
    /// here is a table/model mismatch, still reported as an error rather than a crash.
    public func values(_ field: String) throws -> [Float] {
        if let t = tensors[field] { return t.values }
        if let q = quantized[field] {
            do { return try q.floats() } catch let e as ZooError { throw e.at(tensor: field).at(path: path) }
        }
        throw ZooError("model field '\(field)' was not loaded", path: path)
    }

    /// An optional field (nil when the checkpoint lacks it). Kept-quantized fields are only ever
    /// Q8_0, which always dequantizes, so `try?` loses nothing here.
    public func optional(_ field: String) -> FloatTensor? {
        if let t = tensors[field] { return t }
        if let q = quantized[field], let v = try? values(field) { return FloatTensor(shape: q.shape.dims, values: v) }
        return nil
    }
}
