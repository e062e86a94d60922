import ZooFormats
import ZooTensor

/// A reference fixture (formats/fixture-format.md): inputs, the reference outputs and optionally
/// every block's output, as computed by transformers or timm.
public struct Fixture: @unchecked Sendable {
    public enum Kind: String, Sendable { case text, image }

    /// One prompt of a text fixture.
    public struct TextSample: Sendable {
        public let inputIds: [Int]
        /// Full logits [T, V], or nil for a top-k fixture.
        public let logits: [Float]?
        /// Top-k reference: ids [T, K], logits [T, K] and log-sum-exp [T].
        public let topkIds: [Int]?
        public let topkLogits: [Float]?
        public let logSumExp: [Float]?
        /// [L, T, C] block outputs, or nil.
        public let hiddenStates: [Float]?
    }

    public let path: String
    public let kind: Kind
    public let modelType: String
    public let metadata: JSONValue
    public let numLayers: Int
    public let hiddenSize: Int
    public let vocabularySize: Int?
    public let topK: Int?
    public let samples: [TextSample]
    /// Image fixtures: pixel_values [B, C, H, W], outputs [B, N] (logits or pooled), hidden [L, B, N, C].
    public let pixelValues: Tensor?
    public let imageOutputs: [Float]?
    public let imageOutputName: String?
    public let imageHidden: [Float]?

    public init(path: String) throws {
        self.path = path
        let reader = try NpzReader(path: path)
        func member(_ name: String) throws -> Tensor? {
            reader.info(name) == nil ? nil : try reader.tensor(name)
        }
        guard let metaTensor = try member("metadata") else {
            throw ZooError("is not a Zoo fixture: no 'metadata' member (see formats/fixture-format.md)", path: path)
        }
        let meta = try metaTensor.withUnsafeBytes { try JSON.parse($0, what: "fixture metadata", path: path) }
        metadata = meta
        guard meta["zoo_fixture"]?.int == 1 else {
            throw ZooError("fixture format version \(meta["zoo_fixture"]?.serialized() ?? "missing") is not one Zoo knows (1)", path: path)
        }
        guard let kindName = meta["kind"]?.string, let kind = Kind(rawValue: kindName) else {
            throw ZooError("fixture 'kind' must be \"text\" or \"image\"", path: path)
        }
        self.kind = kind
        modelType = meta["model_type"]?.string ?? "?"
        numLayers = meta["num_layers"]?.int ?? 0
        hiddenSize = meta["hidden_size"]?.int ?? 0
        vocabularySize = meta["vocab_size"]?.int
        topK = meta["topk"]?.int

        func floats(_ name: String) throws -> [Float]? { try member(name)?.floats() }
        func ints(_ name: String) throws -> [Int]? {
            guard let t = try member(name) else { return nil }
            // Read exactly: through f32, ids above 2^24 came back rounded, and Int64.max became 2^63, which
            // traps in Int(_:).
            return try t.withUnsafeBytes { raw in
                switch t.dtype {
                case .i64: return (0..<t.count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
                case .i32: return (0..<t.count).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
                default: throw ZooError("member '\(name)' must be int64, found \(t.dtype.name)", path: path)
                }
            }
        }
        var samples: [TextSample] = []
        if kind == .text {
            var i = 0
            while let ids = try ints("input_ids_\(i)") {
                let sample = TextSample(inputIds: ids, logits: try floats("logits_\(i)"), topkIds: try ints("topk_ids_\(i)"),
                                        topkLogits: try floats("topk_logits_\(i)"), logSumExp: try floats("logsumexp_\(i)"),
                                        hiddenStates: try floats("hidden_states_\(i)"))
                if sample.logits == nil && (sample.topkIds == nil || sample.topkLogits == nil) {
                    throw ZooError("prompt \(i) has neither logits_\(i) nor topk_ids_\(i)/topk_logits_\(i)", path: path)
                }
                samples.append(sample)
                i += 1
            }
            if samples.isEmpty { throw ZooError("text fixture has no input_ids_0", path: path) }
            pixelValues = nil; imageOutputs = nil; imageOutputName = nil; imageHidden = nil
        } else {
            guard let pixels = try member("pixel_values") else { throw ZooError("image fixture has no pixel_values", path: path) }
            pixelValues = try ElementConversion.convert(pixels, to: .f32)
            if let logits = try floats("logits") { imageOutputs = logits; imageOutputName = "logits" }
            else if let pooled = try floats("pooled") { imageOutputs = pooled; imageOutputName = "pooled" }
            else { throw ZooError("image fixture has neither logits nor pooled", path: path) }
            imageHidden = try floats("hidden_states")
        }
        self.samples = samples
    }

    /// The fixture's own tolerance for a dtype ("f32", "q8_0"), if it gives one.
    public func tolerance(for dtype: String) -> Double? {
        metadata["tolerances"]?[dtype]?["max_rel"]?.double
    }

    public var prompts: [String] { metadata["prompts"]?.array?.compactMap(\.string) ?? [] }
    public var sourceModel: String? { metadata["source"]?["model"]?.string }
    public var referenceLibrary: String {
        let r = metadata["reference"]
        return "\(r?["library"]?.string ?? "?") \(r?["version"]?.string ?? "")".trimmingCharacters(in: .whitespaces)
    }
}
