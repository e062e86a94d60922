import Foundation
import ZooTensor

/// One dimension of a shape in a naming table, resolved against the model's sizes:
/// a literal (`16`), a size symbol (`"C"`) or a multiple of one (`"3*C"`).
public struct DimExpr: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public let factor: Int
    public let symbol: String?

    public init(stringLiteral text: String) {
        let parts = text.split(separator: "*", maxSplits: 1).map { String($0) }
        if parts.count == 2, let f = Int(parts[0]) {
            factor = f
            symbol = parts[1]
        } else {
            factor = 1
            symbol = text
        }
    }

    public init(integerLiteral value: Int) {
        factor = value
        symbol = nil
    }

    public func resolve(_ sizes: [String: Int]) throws -> Int {
        guard let symbol else { return factor }
        guard let v = sizes[symbol] else { throw ZooError("naming table uses the size '\(symbol)', which the model does not define") }
        return factor * v
    }

    public var description: String {
        guard let symbol else { return String(factor) }
        return factor == 1 ? symbol : "\(factor)*\(symbol)"
    }
}

/// How a checkpoint tensor becomes a model tensor (and, read backwards, the reverse).
public enum TensorTransform: String, Sendable {
    /// Same shape, same order.
    case none
    /// A 2-D [a, b] checkpoint tensor becomes [b, a] (HF Conv1D [in, out] -> Linear [out, in]).
    case transpose
    /// Several checkpoint tensors (q, k, v) are stacked along dim 0 into one model tensor;
    /// reversed, the model tensor is split into equal parts.
    case concatRows
    /// Same values in row-major order, another shape (`storedShape` gives the checkpoint's).
    case reshape
}

/// One model tensor: where it lives in a checkpoint and what it must look like.
/// `{L}` in `field` and `checkpoint` stands for the layer index (0 ..< sizes["L"]).
public struct TensorRule: Sendable {
    /// The model's own canonical name, e.g. "h.{L}.attn.qkv.weight".
    public let field: String
    /// The checkpoint name(s) without the table's prefix; several only with `.concatRows`.
    public let checkpoint: [String]
    /// Shape the model wants (after the transform), outermost first.
    public let shape: [DimExpr]
    public let transform: TensorTransform
    /// The checkpoint's shape when it is not derivable from `shape` and `transform` (reshape).
    public let storedShape: [DimExpr]?
    /// May be stored block-quantized (matrices of linear layers, embeddings); norms and biases never.
    public let quantizable: Bool
    /// Absent in some checkpoints (a tied lm_head); the model supplies a fallback.
    public let optional: Bool
    /// Whether the table's prefix applies (false for a head that lives outside the prefixed body).
    public let prefixed: Bool

    public init(_ field: String, _ checkpoint: String..., shape: [DimExpr], transform: TensorTransform = .none,
                storedShape: [DimExpr]? = nil, quantizable: Bool = false, optional: Bool = false, prefixed: Bool = true) {
        self.prefixed = prefixed
        self.field = field
        self.checkpoint = checkpoint
        self.shape = shape
        self.transform = transform
        self.storedShape = storedShape
        self.quantizable = quantizable
        self.optional = optional
    }

    public var isPerLayer: Bool { field.contains("{L}") }
}

/// One checkpoint convention for one architecture: data only, so the same table maps a
/// checkpoint onto the model (loading) and the model onto a checkpoint (conversion).
public struct NamingTable: Sendable {
    /// A short name for messages, e.g. "gpt2 (Hugging Face)".
    public let name: String
    /// Name prefixes the convention allows, tried in order ("transformer." or none); writers use the first.
    public let prefixes: [String]
    public let rules: [TensorRule]
    /// Checkpoint names (patterns with `{L}`, without prefix) that are buffers, not parameters: skipped.
    public let ignored: [String]

    public init(name: String, prefixes: [String] = [""], rules: [TensorRule], ignored: [String] = []) {
        self.name = name
        self.prefixes = prefixes
        self.rules = rules
        self.ignored = ignored
    }

    /// Every rule with `{L}` replaced and shapes resolved, in table order (layer-major within a rule).
    public func expand(sizes: [String: Int], prefix: String? = nil) throws -> [ResolvedTensorRule] {
        let p = prefix ?? prefixes.first ?? ""
        var out: [ResolvedTensorRule] = []
        let layers = sizes["L"] ?? 0
        for rule in rules {
            let indices: [Int?] = rule.isPerLayer ? (0..<layers).map { $0 } : [nil]
            let shape = try rule.shape.map { try $0.resolve(sizes) }
            let stored = try storedShapes(rule, shape: shape, sizes: sizes)
            for index in indices {
                func fill(_ s: String) -> String { index.map { s.replacingOccurrences(of: "{L}", with: String($0)) } ?? s }
                out.append(ResolvedTensorRule(field: fill(rule.field), checkpoint: rule.checkpoint.map { (rule.prefixed ? p : "") + fill($0) },
                                              shape: shape, storedShape: stored, transform: rule.transform,
                                              quantizable: rule.quantizable, optional: rule.optional))
            }
        }
        return out
    }

    /// The fewest checkpoint tensors a model of `sizes` needs (its required rules), saturating at
    /// Int.max; counted without expanding, so that a layer count read from a file stays cheap.
    public func requiredTensorCount(sizes: [String: Int]) -> Int {
        let layers = max(sizes["L"] ?? 0, 0)
        var total = 0
        for rule in rules where !rule.optional {
            let (names, overflowed) = rule.checkpoint.count.multipliedReportingOverflow(by: rule.isPerLayer ? layers : 1)
            let (sum, overflowedSum) = total.addingReportingOverflow(names)
            if overflowed || overflowedSum { return Int.max }
            total = sum
        }
        return total
    }

    /// Whether a checkpoint name (with prefix `prefix`) is a known non-parameter buffer.
    public func isIgnored(_ name: String, prefix: String) -> Bool {
        for pattern in ignored {
            if NamePattern.matches(prefix + pattern, name) || NamePattern.matches(pattern, name) { return true }
        }
        return false
    }

    private func storedShapes(_ rule: TensorRule, shape: [Int], sizes: [String: Int]) throws -> [Int] {
        if let s = rule.storedShape { return try s.map { try $0.resolve(sizes) } }
        switch rule.transform {
        case .none, .reshape: return shape
        case .transpose:
            guard shape.count == 2 else { throw ZooError("naming table '\(name)': transpose of '\(rule.field)' needs a 2-D shape") }
            return [shape[1], shape[0]]
        case .concatRows:
            let parts = rule.checkpoint.count
            guard parts > 0, let first = shape.first, first % parts == 0 else {
                throw ZooError("naming table '\(name)': '\(rule.field)' rows \(shape.first ?? 0) do not split into \(parts) parts")
            }
            return [first / parts] + shape.dropFirst()
        }
    }
}

/// A rule for one concrete tensor: names filled in, shapes in numbers.
public struct ResolvedTensorRule: Sendable, Equatable {
    public let field: String
    /// Full checkpoint names (prefix included); several parts for `.concatRows`.
    public let checkpoint: [String]
    /// Model shape.
    public let shape: [Int]
    /// Shape of each checkpoint part.
    public let storedShape: [Int]
    public let transform: TensorTransform
    public let quantizable: Bool
    public let optional: Bool
}

/// `{L}` matches a decimal layer index; everything else matches literally.
enum NamePattern {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let pieces = pattern.components(separatedBy: "{L}")
        var rest = Substring(name)
        for (i, piece) in pieces.enumerated() {
            guard rest.hasPrefix(piece) else { return false }
            rest = rest.dropFirst(piece.count)
            if i < pieces.count - 1 {
                let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
                if digits.isEmpty { return false }
                rest = rest.dropFirst(digits.count)
            }
        }
        return rest.isEmpty
    }
}
