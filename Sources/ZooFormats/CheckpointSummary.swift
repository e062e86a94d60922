import ZooTensor

/// What `zoo inspect` shows: format, metadata and the tensor table, as JSON or as text.
public enum CheckpointSummary {
    public static func json(_ reader: CheckpointReader) -> JSONValue {
        .object([
            ("format", .string(reader.format.rawValue)),
            ("metadata", .object(reader.metadata.map { ($0.key, $0.value.json) })),
            ("tensors", .array(reader.tensors.map { info in
                .object([
                    ("name", .string(info.name)),
                    ("dtype", .string(info.dtype.name)),
                    ("shape", .array(info.shape.dims.map { .int(Int64($0)) })),
                    ("bytes", .int(Int64(info.byteCount))),
                ])
            })),
        ])
    }

    public static func text(_ reader: CheckpointReader) -> String {
        var lines: [String] = []
        var header = "\(reader.path): \(reader.format.rawValue)"
        if let gguf = reader as? GGUFReader { header += " v\(gguf.version), alignment \(gguf.alignment)" }
        if let sharded = reader as? ShardedSafetensorsReader { header += " (\(sharded.shards.count) shards)" }
        header += ", \(reader.tensors.count) tensors, \(formatBytes(reader.totalTensorBytes))"
        let parameters = reader.tensors.reduce(0) { $0 + $1.shape.count }
        header += ", \(parameters) parameters"
        lines.append(header)
        if !reader.metadata.isEmpty {
            lines.append("")
            lines.append("metadata (\(reader.metadata.count)):")
            let width = reader.metadata.map(\.key.count).max() ?? 0
            for entry in reader.metadata {
                lines.append("  " + pad(entry.key, width) + "  " + pad(entry.value.type.name, 6) + "  " + entry.value.summary)
            }
        }
        if !reader.tensors.isEmpty {
            lines.append("")
            let nameWidth = max(4, reader.tensors.map(\.name.count).max() ?? 0)
            let shapes = reader.tensors.map { $0.shape.description }
            let shapeWidth = max(5, shapes.map(\.count).max() ?? 0)
            lines.append("  " + pad("name", nameWidth) + "  " + pad("dtype", 7) + "  " + pad("shape", shapeWidth) + "  bytes")
            for (info, shape) in zip(reader.tensors, shapes) {
                lines.append("  " + pad(info.name, nameWidth) + "  " + pad(info.dtype.name, 7) + "  " + pad(shape, shapeWidth) + "  \(info.byteCount)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    public static func formatBytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }
}
