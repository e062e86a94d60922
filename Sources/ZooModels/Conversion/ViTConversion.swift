import Foundation
import ZooFormats
import ZooTensor

/// ViT to Zoo's GGUF layout (formats/vit-gguf.md) and to Hugging Face or timm folders.
public enum ViTConversion {
    static func policy(_ request: DTypeRequest, gguf: Bool) -> TableMapping.DTypePolicy {
        return { rule, shape, source in
            if gguf && (!rule.quantizable || shape.count < 2) { return .f32 }
            switch request {
            case .keep: return source.isQuantized ? (gguf && source == .q8_0 ? .q8_0 : .f32) : source
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            case .q8_0: return rule.quantizable && (shape.last ?? 0) % 32 == 0 ? .q8_0 : .f16
            }
        }
    }

    public static func toGGUF(model path: String, output: String, dtype request: DTypeRequest, force: Bool,
                              progress: ((Int, Int) -> Void)? = nil) throws -> ModelConversionResult {
        let d = try ViTLoader.describe(path)
        let plan = try TableMapping.plan(reader: d.reader, source: d.table, target: ViTNamingTables.gguf,
                                         sizes: d.config.tableSizes, policy: policy(request, gguf: true))
        let extras = ["config.json", "preprocessor_config.json"].map { d.folder + "/" + $0 }
        var meta = ViTGGUFMetadata.entries(d.config, d.preprocessing)
        meta.insert(MetadataEntry("general.name", .string(((path as NSString).lastPathComponent as NSString).deletingPathExtension)), at: 2)
        meta.append(MetadataEntry("general.file_type", .uint32(GPT2Conversion.fileType(plan))))
        meta.append(MetadataEntry("general.quantization_version", .uint32(2)))
        meta += try Provenance.metadata(files: Provenance.sourceFiles(weights: d.reader.path, extra: d.reader.format == .gguf ? [] : extras),
                                        recipe: "dtype=\(request.rawValue); 1-D tensors, norms, biases, class and position embeddings F32")
        let writer = try GGUFWriter(path: output, force: force)
        do {
            try writer.begin(metadata: meta, tensors: plan.map(\.target))
            // Every chunk is read back and checked against the source as it is written; then the
            // re-read header must put each tensor where it was written, before the file appears.
            let written = try ChunkedConversion.write(plan, reader: d.reader, writer: writer, progress: progress)
            try writer.flush()
            let back = try GGUFReader(path: writer.temporaryPath)
            try ChunkedConversion.checkLayout(plan, written: back, writerOffset: writer.dataOffset, readerRange: back.dataRange, output: output)
            try writer.finish()
            return ModelConversionResult(output: output, tensors: plan.count, bytes: written.bytes, worstError: written.worst, notes: [])
        } catch {
            writer.abort()
            throw error
        }
    }

    /// A ViT (any convention, or Zoo's GGUF) to a Hugging Face or timm folder.
    public static func toFolder(model path: String, folder output: String, convention: ViTConvention, dtype request: DTypeRequest,
                                force: Bool, progress: ((Int, Int) -> Void)? = nil) throws -> ModelConversionResult {
        if request == .q8_0 { throw ZooError("a Hugging Face or timm folder holds safetensors, which has no Q8_0") }
        let d = try ViTLoader.describe(path)
        var target = convention
        if convention == .huggingFace && d.config.convention == .huggingFaceBare { target = .huggingFaceBare }
        if convention == .timm && d.config.convention == .huggingFaceBare {
            throw ZooError("a headless ViTModel (pooler) has no timm equivalent; convert it to a Hugging Face folder", path: path)
        }
        let table = ViTNamingTables.table(for: target)
        let plan = try TableMapping.plan(reader: d.reader, source: d.table, target: table, sizes: d.config.tableSizes,
                                         policy: policy(request, gguf: false))
        var notes: [String] = []
        let staging = try StagingFolder(target: output, force: force)
        let writer = try SafetensorsWriter(path: staging.path + "/model.safetensors", force: false)
        let written = try GPT2Conversion.write(plan, reader: d.reader, writer: writer, metadata: [], progress: progress)
        let c = d.config, p = d.preprocessing
        let labels = c.labels
        if target == .timm {
            if abs(c.layerNormEps - 1e-6) > 1e-9 { notes.append("timm's ViT uses layer norm eps 1e-6; the source used \(c.layerNormEps)") }
            let cfg: JSONValue = .object([
                ("architecture", .string("vit_base_patch\(c.patchSize)_\(c.imageHeight)")),
                ("num_classes", .int(Int64(labels.count))), ("img_size", .int(Int64(c.imageHeight))),
                ("patch_size", .int(Int64(c.patchSize))), ("in_chans", .int(Int64(c.numChannels))),
                ("embed_dim", .int(Int64(c.hiddenSize))), ("depth", .int(Int64(c.numLayers))),
                ("num_heads", .int(Int64(c.numHeads))), ("mlp_ratio", .double(Double(c.intermediateSize) / Double(c.hiddenSize))),
                ("qkv_bias", .bool(c.qkvBias)), ("label_names", .array(labels.map { .string($0) })),
                ("pretrained_cfg", .object([
                    ("input_size", .array([.int(Int64(c.numChannels)), .int(Int64(c.imageHeight)), .int(Int64(c.imageWidth))])),
                    ("interpolation", .string(p.filter == .bicubic ? "bicubic" : "bilinear")),
                    ("crop_pct", .double(p.recipe == .timm ? p.cropPct : 1.0)), ("crop_mode", .string("center")),
                    ("mean", .array(p.mean.map { .double(Double($0)) })), ("std", .array(p.std.map { .double(Double($0)) })),
                    ("num_classes", .int(Int64(labels.count))),
                ])),
            ])
            if p.recipe == .huggingFace { notes.append("HF resizes straight to \(p.height)x\(p.width); timm's eval transform with crop_pct 1.0 is that resize for square inputs only") }
            try staging.writeText("config.json", cfg.serialized(pretty: true) + "\n")
        } else {
            let id2label = JSONValue.object(labels.enumerated().map { (String($0.offset), .string($0.element)) })
            let label2id = JSONValue.object(labels.enumerated().map { ($0.element, .int(Int64($0.offset))) })
            var cfg: [(String, JSONValue)] = [
                ("architectures", .array([.string(target == .huggingFaceBare ? "ViTModel" : "ViTForImageClassification")])),
                ("model_type", .string("vit")), ("image_size", .int(Int64(c.imageHeight))), ("patch_size", .int(Int64(c.patchSize))),
                ("num_channels", .int(Int64(c.numChannels))), ("hidden_size", .int(Int64(c.hiddenSize))),
                ("num_hidden_layers", .int(Int64(c.numLayers))), ("num_attention_heads", .int(Int64(c.numHeads))),
                ("intermediate_size", .int(Int64(c.intermediateSize))), ("hidden_act", .string(c.exactGELU ? "gelu" : "gelu_new")),
                ("layer_norm_eps", .double(Double(c.layerNormEps))), ("qkv_bias", .bool(c.qkvBias)),
            ]
            if target == .huggingFace { cfg += [("id2label", id2label), ("label2id", label2id)] }
            try staging.writeText("config.json", JSONValue.object(cfg).serialized(pretty: true) + "\n")
            if p.recipe == .timm { notes.append("timm's resize-and-crop (crop_pct \(p.cropPct)) has no ViTImageProcessor equivalent; the folder resizes straight to \(p.height)x\(p.width)") }
            try staging.writeText("preprocessor_config.json", JSONValue.object([
                ("image_processor_type", .string("ViTImageProcessor")), ("do_resize", .bool(p.doResize)),
                ("size", .object([("height", .int(Int64(p.height))), ("width", .int(Int64(p.width)))])),
                ("resample", .int(p.filter == .bicubic ? 3 : 2)), ("do_rescale", .bool(p.doRescale)),
                ("rescale_factor", .double(p.rescaleFactor)), ("do_normalize", .bool(p.doNormalize)),
                ("image_mean", .array(p.mean.map { .double(Double($0)) })), ("image_std", .array(p.std.map { .double(Double($0)) })),
            ]).serialized(pretty: true) + "\n")
        }
        let back = try SafetensorsReader(path: staging.path + "/model.safetensors")
        try ChunkedConversion.checkLayout(plan, written: back, writerOffset: writer.dataOffset, readerRange: back.dataRange, output: staging.path + "/model.safetensors")
        try staging.commit()
        return ModelConversionResult(output: output, tensors: plan.count, bytes: written.bytes, worstError: written.worst, notes: notes)
    }
}
