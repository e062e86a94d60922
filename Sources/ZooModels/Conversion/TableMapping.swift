import Foundation
import ZooFormats
import ZooTensor

/// One tensor a model-aware conversion writes: which model field it holds, which part of it,
/// and how it gets there from the source checkpoint.
public struct MappedTensor: Sendable {
    public let target: TensorSpec
    public let field: String
    /// The source rule (the field's, or the field it falls back to, e.g. a tied lm_head -> wte).
    let source: ResolvedTensorRule
    let targetRule: ResolvedTensorRule
    let part: Int
    /// Source dtype of the (first) source part.
    public let sourceDType: DType
    /// No transform on either side and the same dtype: the bytes are copied as they are.
    /// The checkpoint names this tensor is read from.
    public var sourceNames: [String] { source.checkpoint }

    public var copiesBytes: Bool {
        source.transform == .none && targetRule.transform == .none && source.checkpoint.count == 1 && sourceDType == target.dtype
    }
}

/// Model-aware conversion through two naming tables: source checkpoint -> the model's canonical
/// tensors -> target checkpoint names and layouts. Nothing about names is written here; the
/// tables say everything.
public enum TableMapping {
    /// Chooses, for each target tensor, its dtype: the caller's policy gets the target rule and
    /// the source dtype.
    public typealias DTypePolicy = (_ rule: ResolvedTensorRule, _ storedShape: [Int], _ source: DType) throws -> DType

    public static func plan(reader: CheckpointReader, source: NamingTable, target: NamingTable, sizes: [String: Int],
                            fallbacks: [String: String] = [:], policy: DTypePolicy) throws -> [MappedTensor] {
        let infos = Dictionary(reader.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let (_, sourceRules) = try WeightLoader.choosePrefix(table: source, sizes: sizes, names: infos)
        let byField = Dictionary(sourceRules.map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a })
        let present = { (rule: ResolvedTensorRule) in rule.checkpoint.allSatisfy { infos[$0] != nil } }
        var out: [MappedTensor] = []
        for rule in try layerMajor(target, sizes: sizes) {
            var chosen = byField[rule.field].flatMap { present($0) ? $0 : nil }
            if chosen == nil, let fallback = fallbacks[rule.field], let f = byField[fallback], present(f) { chosen = f }
            guard let src = chosen else {
                if rule.optional { continue }
                throw ZooError("has no tensor for '\(rule.field)' (looked for \(byField[rule.field]?.checkpoint.joined(separator: ", ") ?? "nothing"))", path: reader.path)
            }
            for name in src.checkpoint where infos[name]?.shape.dims != src.storedShape {
                throw ZooError("expected shape \(Shape(src.storedShape)), found \(infos[name]?.shape ?? Shape([]))", path: reader.path, tensor: name)
            }
            let sourceDType = infos[src.checkpoint[0]]?.dtype ?? .f32
            for (k, name) in rule.checkpoint.enumerated() {
                let dtype = try policy(rule, rule.storedShape, sourceDType)
                out.append(MappedTensor(target: TensorSpec(name: name, dtype: dtype, shape: Shape(rule.storedShape)), field: rule.field,
                                        source: src, targetRule: rule, part: k, sourceDType: sourceDType))
            }
        }
        return out
    }

    /// The target's tensors in the order llama.cpp and transformers write them: tensors before the
    /// first per-layer rule, then layer by layer (all of block 0, then block 1, ...), then the rest.
    static func layerMajor(_ table: NamingTable, sizes: [String: Int]) throws -> [ResolvedTensorRule] {
        let firstLayered = table.rules.firstIndex(where: \.isPerLayer) ?? table.rules.count
        var head: [ResolvedTensorRule] = [], tail: [ResolvedTensorRule] = []
        var perLayer: [[ResolvedTensorRule]] = []
        for (i, rule) in table.rules.enumerated() {
            let one = NamingTable(name: table.name, prefixes: table.prefixes, rules: [rule], ignored: table.ignored)
            let expanded = try one.expand(sizes: sizes)
            if rule.isPerLayer { perLayer.append(expanded) } else if i < firstLayered { head += expanded } else { tail += expanded }
        }
        var blocks: [ResolvedTensorRule] = []
        for layer in 0..<(sizes["L"] ?? 0) { for rule in perLayer where layer < rule.count { blocks.append(rule[layer]) } }
        return head + blocks + tail
    }

    /// The model's canonical f32 values for the entry's field, read from the source.
    static func canonical(_ entry: MappedTensor, reader: CheckpointReader) throws -> [Float] {
        let parts = try entry.source.checkpoint.map { name -> [Float] in
            do { return try reader.tensor(name).floats() } catch let e as ZooError { throw e.at(tensor: name).at(path: reader.path) }
        }
        return WeightLoader.apply(entry.source, parts)
    }

    /// Model values -> the target tensor's stored values (the inverse of the target rule).
    static func stored(_ values: [Float], entry: MappedTensor) -> [Float] {
        let rule = entry.targetRule
        switch rule.transform {
        case .none, .reshape: return values
        case .transpose: return WeightLoader.transpose(values, rows: rule.shape[0], cols: rule.shape[1])
        case .concatRows:
            let n = values.count / max(rule.checkpoint.count, 1)
            return Array(values[(entry.part * n)..<((entry.part + 1) * n)])
        }
    }

    /// The target tensor, ready to write: raw bytes when nothing changes, else converted.
    public static func tensor(_ entry: MappedTensor, reader: CheckpointReader) throws -> Tensor {
        if entry.copiesBytes { return try reader.tensor(entry.source.checkpoint[0]) }
        let values = stored(try canonical(entry, reader: reader), entry: entry)
        do {
            return try values.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: entry.target.dtype, shape: entry.target.shape) }
        } catch let e as ZooError { throw e.at(tensor: entry.target.name) }
    }

    /// Largest acceptable max|diff|/max|ref| per stored dtype: half an ulp of the format's
    /// precision relative to the largest value, with margin; Q8_0 is half a step of 1/127.
    public static func limit(_ dtype: DType) -> Double {
        switch dtype {
        case .f32, .f64: return 0
        case .f16: return 1e-3
        case .bf16: return 8e-3
        case .q8_0: return 1e-2
        default: return 5e-2
        }
    }
}
