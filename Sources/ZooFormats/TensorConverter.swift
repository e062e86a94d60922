import ZooTensor

/// What dtype a conversion asks for.
public enum DTypeRequest: String, Sendable, CaseIterable {
    case keep, f32, f16, bf16, q8_0

    public var dtype: DType? {
        switch self {
        case .keep: return nil
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        }
    }
}

/// One line of a conversion plan: a source tensor, and what it becomes.
public struct ConversionStep: Sendable {
    public let source: TensorInfo
    public let target: TensorSpec
    public var note: String?
}

/// Tensor-level conversion: every tensor of any readable file to another format, one tensor in
/// memory at a time. Floating-point tensors take the requested dtype; Q8_0 applies only to
/// GGUF output and tensors whose innermost dimension is a multiple of 32 (others stay as they
/// are); a dtype the target cannot hold is widened losslessly to f32 where possible.
public enum TensorConverter {
    public static func plan(_ reader: CheckpointReader, to format: CheckpointFormat, dtype request: DTypeRequest) throws -> [ConversionStep] {
        if request == .q8_0 && format != .gguf {
            throw ZooError("q8_0 can only be written to GGUF (.gguf); \(format.rawValue) has no block-quantized types")
        }
        var steps: [ConversionStep] = []
        for info in reader.tensors {
            var dtype = info.dtype
            var note: String?
            let convertible = info.dtype.isFloatingPoint || info.dtype.isQuantized
            if let wanted = request.dtype, convertible {
                if wanted == .q8_0 {
                    if info.dtype.isFloatingPoint && (info.shape.dims.last ?? 1) % 32 == 0 && info.shape.rank >= 1 { dtype = .q8_0 }
                    else if info.dtype.isFloatingPoint { note = "kept \(info.dtype.name): innermost dimension is not a multiple of 32" }
                } else {
                    dtype = wanted
                }
            }
            if !CheckpointWriters.canStore(dtype, in: format) {
                if (dtype == .bf16 || dtype.isQuantized) && CheckpointWriters.canStore(.f32, in: format) {
                    note = "\(dtype.name) widened to F32: \(format.rawValue) cannot hold \(dtype.name)"
                    dtype = .f32
                } else {
                    throw ZooError("\(format.rawValue) cannot hold \(dtype.name)", path: reader.path, tensor: info.name)
                }
            }
            steps.append(ConversionStep(source: info, target: TensorSpec(name: info.name, dtype: dtype, shape: info.shape), note: note))
        }
        if format == .npy && steps.count != 1 {
            throw ZooError("a .npy file holds exactly one array; the input has \(steps.count) tensors (write .npz)", path: reader.path)
        }
        return steps
    }

    /// Metadata the target format can hold.
    public static func carriedMetadata(_ reader: CheckpointReader, to format: CheckpointFormat) -> [MetadataEntry] {
        switch format {
        case .gguf: return reader.metadata
        case .safetensors: return reader.metadata.filter { $0.key != "general.alignment" }
        case .npz, .npy: return []
        }
    }

    /// Runs the plan: streams each tensor through conversion into the writer. `progress` is
    /// called after each tensor with (tensors done, bytes written so far).
    public static func run(_ reader: CheckpointReader, steps: [ConversionStep], writer: CheckpointWriter,
                           metadata: [MetadataEntry], progress: ((Int, Int) -> Void)? = nil) throws {
        do {
            try writer.begin(metadata: metadata, tensors: steps.map(\.target))
            var bytes = 0
            for (k, step) in steps.enumerated() {
                let source = try reader.tensor(step.source.name)
                let converted: Tensor
                do { converted = try ElementConversion.convert(source, to: step.target.dtype) } catch let e as ZooError {
                    throw ZooError(e.message, path: reader.path, tensor: step.source.name)
                }
                try converted.withUnsafeBytes { try writer.write(step.target.name, $0) }
                bytes += converted.bytes.count
                progress?(k + 1, bytes)
            }
            try writer.finish()
        } catch {
            writer.abort()
            throw error
        }
    }
}
