import ZooTensor

/// Tolerances for one run: max relative error on the final outputs, and on block outputs.
public struct Tolerance: Sendable, Equatable {
    public var maxRel: Double
    public var source: String

    /// Defaults per dtype, used when neither a flag nor the fixture gives one. q8_0w (Q8_0 weights,
    /// f32 activations) has one source of error fewer than q8_0, so q8_0's bound holds for it too.
    public static func defaultMaxRel(dtype: String) -> Double { dtype == "q8_0" || dtype == "q8_0w" ? 3e-2 : 1e-4 }
}

/// One compared output (a prompt's logits, or an image batch's logits).
public struct OutputCheck: Sendable {
    public let name: String
    public let comparison: Comparison
    public let passed: Bool
    /// The first block whose output exceeds the tolerance (0-based) and its max relative error.
    public let firstDivergentLayer: (layer: Int, maxRel: Double)?
    public let layerMaxRel: [Double]
}

public struct VerifyReport: Sendable {
    public let fixture: String
    public let model: String
    public let dtype: String
    public let tolerance: Tolerance
    public let checks: [OutputCheck]
    public let reference: String
    /// How a text model stored its KV cache ("f32" / "f16"); nil for image models.
    public var kvCache: String? = nil
    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// Aggregates over all outputs: worst max-rel/abs, lowest cosine, mean KL, top-1.
    public var summary: Comparison {
        var s = Comparison()
        var klSum = 0.0, klRows = 0, agree = 0.0, topRows = 0
        for check in checks {
            let c = check.comparison
            if c.maxRel >= s.maxRel { s.maxRel = c.maxRel }
            s.maxAbs = max(s.maxAbs, c.maxAbs)
            s.cosine = min(s.cosine, c.cosine)
            if let kl = c.meanKL { klSum += kl * Double(c.rows); klRows += c.rows; s.maxKL = max(s.maxKL ?? 0, c.maxKL ?? 0) }
            if let t = c.top1 { agree += t * Double(c.rows); topRows += c.rows }
            s.rows += c.rows
        }
        s.meanKL = klRows > 0 ? klSum / Double(klRows) : nil
        s.top1 = topRows > 0 ? agree / Double(topRows) : nil
        return s
    }
}

public enum Verifier {
    /// Picks the tolerance: a flag, else the fixture's own, else the default for the dtype.
    public static func tolerance(fixture: Fixture, dtype: String, override: Double?) -> Tolerance {
        if let override { return Tolerance(maxRel: override, source: "flag") }
        if let own = fixture.tolerance(for: dtype) { return Tolerance(maxRel: own, source: "fixture") }
        // a fixture made before q8_0w existed: its q8_0 bound (the same weights, exact activations)
        if dtype == "q8_0w", let q8 = fixture.tolerance(for: "q8_0") { return Tolerance(maxRel: q8, source: "fixture (q8_0)") }
        return Tolerance(maxRel: Tolerance.defaultMaxRel(dtype: dtype), source: "default")
    }

    /// Per-layer max relative error of hidden [L, rows*C] against the reference.
    static func layerErrors(_ got: [Float]?, _ reference: [Float]?, layers: Int) -> [Double] {
        guard let got, let reference, layers > 0, got.count == reference.count, got.count % layers == 0 else { return [] }
        let per = got.count / layers
        return (0..<layers).map { l in
            Metrics.compare(Array(got[(l * per)..<((l + 1) * per)]), Array(reference[(l * per)..<((l + 1) * per)]), width: per, distributions: false).maxRel
        }
    }

    static func firstDivergence(_ errors: [Double], tolerance: Double) -> (Int, Double)? {
        for (l, e) in errors.enumerated() where e > tolerance || e.isNaN { return (l, e) }
        return nil
    }

    public static func verify(text model: TextLogitsModel, fixture: Fixture, modelName: String, dtype: String, tolerance: Tolerance) throws -> VerifyReport {
        guard fixture.kind == .text else {
            throw ZooError("is an image fixture (\(fixture.modelType)), but the model is a language model", path: fixture.path)
        }
        if let v = fixture.vocabularySize, v != model.vocabularySize {
            throw ZooError("was made for a model with a vocabulary of \(v), this model has \(model.vocabularySize): a fixture for another model?", path: fixture.path)
        }
        if fixture.numLayers != 0 && fixture.numLayers != model.layerCount {
            throw ZooError("was made for a model with \(fixture.numLayers) layers, this model has \(model.layerCount): a fixture for another model?", path: fixture.path)
        }
        var checks: [OutputCheck] = []
        for (i, sample) in fixture.samples.enumerated() {
            if let bad = sample.inputIds.first(where: { $0 < 0 || $0 >= model.vocabularySize }) {
                throw ZooError("prompt \(i) holds token id \(bad), outside this model's vocabulary", path: fixture.path)
            }
            if sample.inputIds.count > model.contextLength {
                throw ZooError("prompt \(i) has \(sample.inputIds.count) tokens, more than this model's context \(model.contextLength)", path: fixture.path)
            }
            let run = try model.logits(for: sample.inputIds, captureHidden: sample.hiddenStates != nil)
            let c: Comparison
            if let ref = sample.logits {
                if ref.count != run.logits.count { throw ZooError("prompt \(i): reference logits have \(ref.count) values, Zoo produced \(run.logits.count)", path: fixture.path) }
                c = Metrics.compare(run.logits, ref, width: model.vocabularySize, distributions: true)
            } else {
                let k = fixture.topK ?? 1, t = sample.inputIds.count
                // formats/fixture-format.md: topk_ids and topk_logits [T, K], logsumexp [T]. Checked
                // here so that a short member is an error, not an index out of range, and a missing
                // logsumexp does not compare nothing and pass.
                guard k >= 1 && k <= model.vocabularySize else {
                    throw ZooError("topk is \(k); expected 1...\(model.vocabularySize) (the vocabulary)", path: fixture.path)
                }
                let members: [(String, Int?, Int, String)] = [
                    ("topk_ids", sample.topkIds?.count, t * k, "[\(t), \(k)]"),
                    ("topk_logits", sample.topkLogits?.count, t * k, "[\(t), \(k)]"),
                    ("logsumexp", sample.logSumExp?.count, t, "[\(t)]")]
                for (name, count, wanted, shape) in members where count != wanted {
                    throw ZooError("prompt \(i): \(name)_\(i) must be \(shape) (a row per input position), found "
                                   + (count.map { "\($0) values" } ?? "no such member"), path: fixture.path)
                }
                guard run.logits.count == t * model.vocabularySize else {
                    throw ZooError("prompt \(i): Zoo produced \(run.logits.count) logits for \(t) positions of \(model.vocabularySize)", path: fixture.path)
                }
                c = Metrics.compareTopK(run.logits, vocabulary: model.vocabularySize, ids: sample.topkIds ?? [], logits: sample.topkLogits ?? [],
                                        logSumExp: sample.logSumExp ?? [], k: k)
            }
            let errors = layerErrors(run.hidden, sample.hiddenStates, layers: fixture.numLayers)
            let passed = c.maxRel <= tolerance.maxRel
            let first = passed ? nil : firstDivergence(errors, tolerance: tolerance.maxRel)
            checks.append(OutputCheck(name: "prompt \(i)", comparison: c, passed: passed, firstDivergentLayer: first.map { (layer: $0.0, maxRel: $0.1) }, layerMaxRel: errors))
        }
        return VerifyReport(fixture: fixture.path, model: modelName, dtype: dtype, tolerance: tolerance, checks: checks, reference: fixture.referenceLibrary)
    }

    public static func verify(image model: ImageOutputsModel, fixture: Fixture, modelName: String, dtype: String, tolerance: Tolerance) throws -> VerifyReport {
        guard fixture.kind == .image, let pixels = fixture.pixelValues, let reference = fixture.imageOutputs else {
            throw ZooError("is a text fixture (\(fixture.modelType)), but the model is an image model", path: fixture.path)
        }
        if fixture.numLayers != 0 && fixture.numLayers != model.layerCount {
            throw ZooError("was made for a model with \(fixture.numLayers) layers, this model has \(model.layerCount): a fixture for another model?", path: fixture.path)
        }
        let run = try model.outputs(pixels: pixels, captureHidden: fixture.imageHidden != nil)
        if run.outputs.count != reference.count {
            throw ZooError("reference \(fixture.imageOutputName ?? "outputs") have \(reference.count) values, Zoo produced \(run.outputs.count): a fixture for another model?", path: fixture.path)
        }
        let batch = pixels.shape.dims.first ?? 1
        let width = reference.count / max(batch, 1)
        let c = Metrics.compare(run.outputs, reference, width: width, distributions: fixture.imageOutputName == "logits")
        let errors = layerErrors(run.hidden, fixture.imageHidden, layers: fixture.numLayers)
        let passed = c.maxRel <= tolerance.maxRel
        let first = passed ? nil : firstDivergence(errors, tolerance: tolerance.maxRel)
        let check = OutputCheck(name: fixture.imageOutputName ?? "outputs", comparison: c, passed: passed,
                                firstDivergentLayer: first.map { (layer: $0.0, maxRel: $0.1) }, layerMaxRel: errors)
        return VerifyReport(fixture: fixture.path, model: modelName, dtype: dtype, tolerance: tolerance, checks: [check], reference: fixture.referenceLibrary)
    }
}
