import ZooFormats
import ZooTensor

/// Maps a checkpoint onto a model through a naming table: checks every tensor from the headers
/// first (missing, unused, wrongly shaped, wrong dtype), reports all problems in one error, and
/// only then reads, converts to f32 and transforms the tensors.
public enum WeightLoader {
    /// `keepQuantized`: tensors stored as Q8_0 under a quantizable rule without a transform stay
    /// Q8_0 (a zero-copy view) in `LoadedWeights.quantized` instead of being dequantized.
    public static func load(_ reader: CheckpointReader, table: NamingTable, sizes: [String: Int],
                            keepQuantized: Bool = false) throws -> LoadedWeights {
        // Sizes come from files: a 12 KB GGUF saying 10^6 layers would otherwise have every
        // per-layer name expanded and compared (seconds, gigabytes) before the mismatch below is
        // reported. Far more required names than tensors is reported at once; a near miss (a
        // layer too many) still gets the itemised list, whose cost the file's own size bounds.
        let required = table.requiredTensorCount(sizes: sizes)
        if required > 4 * reader.tensors.count + 64 {
            let layers = sizes["L"].map { "\($0) layers" } ?? "these sizes"
            throw ZooError("does not match \(table.name): \(layers) need at least \(required == Int.max ? "2^63" : String(required)) "
                           + "tensors, the checkpoint holds \(reader.tensors.count)", path: reader.path)
        }
        let infos = Dictionary(reader.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let (prefix, rules) = try choosePrefix(table: table, sizes: sizes, names: infos)

        var missing: [String] = [], misshaped: [String] = [], badType: [String] = []
        var used = Set<String>()
        var present: [ResolvedTensorRule] = []
        for rule in rules {
            let found = rule.checkpoint.filter { infos[$0] != nil }
            if found.isEmpty && rule.optional { continue }
            var ok = true
            for name in rule.checkpoint {
                guard let info = infos[name] else {
                    missing.append("\(name) (expected \(Shape(rule.storedShape)), for \(rule.field))")
                    ok = false
                    continue
                }
                used.insert(name)
                if info.shape.dims != rule.storedShape {
                    misshaped.append("\(name): expected \(Shape(rule.storedShape)), found \(info.shape)")
                    ok = false
                }
                if !info.dtype.isFloatingPoint {
                    if !info.dtype.isQuantized {
                        badType.append("\(name): \(info.dtype.name) (weights must be floating point)")
                        ok = false
                    } else if !rule.quantizable {
                        badType.append("\(name): \(info.dtype.name) (this tensor must be stored as a float type)")
                        ok = false
                    }
                }
            }
            if ok { present.append(rule) }
        }
        let unexpected = reader.tensors.map(\.name).filter { !used.contains($0) && !table.isIgnored($0, prefix: prefix) }

        if !(missing.isEmpty && misshaped.isEmpty && badType.isEmpty && unexpected.isEmpty) {
            var lines = ["does not match \(table.name)" + (prefix.isEmpty ? "" : " (names prefixed '\(prefix)')") + ":"]
            func section(_ title: String, _ items: [String]) {
                guard !items.isEmpty else { return }
                lines.append("  \(items.count) \(title):")
                // A whole other model's names help nobody: the first few say what is wrong.
                let shown = 24
                lines += items.prefix(shown).map { "    " + $0 }
                if items.count > shown { lines.append("    ... and \(items.count - shown) more") }
            }
            section("missing", missing)
            section("wrongly shaped", misshaped)
            section("with an unusable dtype", badType)
            section("unexpected (not used by the model)", unexpected)
            throw ZooError(lines.joined(separator: "\n"), path: reader.path)
        }

        var tensors: [String: FloatTensor] = [:]
        var quantized: [String: Tensor] = [:]
        var dtypes: [String: DType] = [:]
        for rule in present {
            if keepQuantized, rule.quantizable, rule.transform == .none, rule.checkpoint.count == 1,
               let name = rule.checkpoint.first, infos[name]?.dtype == .q8_0 {
                do { quantized[rule.field] = try reader.tensor(name) } catch let e as ZooError { throw e.at(tensor: name).at(path: reader.path) }
                dtypes[rule.field] = .q8_0
                continue
            }
            let parts = try rule.checkpoint.map { name -> [Float] in
                do { return try reader.tensor(name).floats() } catch let e as ZooError { throw e.at(tensor: name).at(path: reader.path) }
            }
            tensors[rule.field] = FloatTensor(shape: rule.shape, values: apply(rule, parts))
            if let first = rule.checkpoint.first, let info = infos[first] { dtypes[rule.field] = info.dtype }
        }
        return LoadedWeights(tensors: tensors, quantized: quantized, sourceDTypes: dtypes, prefix: prefix, path: reader.path)
    }

    /// The prefix under which most required tensors exist (ties: the table's order).
    static func choosePrefix(table: NamingTable, sizes: [String: Int],
                             names: [String: TensorInfo]) throws -> (String, [ResolvedTensorRule]) {
        var best: (String, [ResolvedTensorRule], Int)?
        for p in table.prefixes {
            let rules = try table.expand(sizes: sizes, prefix: p)
            let hits = rules.reduce(0) { $0 + $1.checkpoint.filter { names[$0] != nil }.count }
            if best == nil || hits > (best?.2 ?? 0) { best = (p, rules, hits) }
        }
        guard let chosen = best else { throw ZooError("naming table '\(table.name)' has no prefixes") }
        return (chosen.0, chosen.1)
    }

    /// Checkpoint values (each part in its stored shape) -> model values.
    static func apply(_ rule: ResolvedTensorRule, _ parts: [[Float]]) -> [Float] {
        switch rule.transform {
        case .none, .reshape:
            return parts.first ?? []
        case .concatRows:
            return parts.flatMap { $0 }
        case .transpose:
            return transpose(parts.first ?? [], rows: rule.storedShape[0], cols: rule.storedShape[1])
        }
    }

    /// x: [rows, cols] -> [cols, rows], in tiles so both sides stay in cache.
    public static func transpose(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * cols)
        let tile = 32
        x.withUnsafeBufferPointer { src in
            y.withUnsafeMutableBufferPointer { dst in
                var i0 = 0
                while i0 < rows {
                    var j0 = 0
                    while j0 < cols {
                        // Inner loop along the destination row: contiguous stores, strided loads.
                        for j in j0..<min(j0 + tile, cols) {
                            for i in i0..<min(i0 + tile, rows) { dst[j * rows + i] = src[i * cols + j] }
                        }
                        j0 += tile
                    }
                    i0 += tile
                }
            }
        }
        return y
    }
}
