import Foundation
import ZooFormats
import ZooTensor

/// What a model-aware conversion did, for the summary line and the tests.
public struct ModelConversionResult: Sendable {
    public let output: String
    public let tensors: Int
    public let bytes: Int
    /// Worst relative error per written dtype, measured by re-reading the output.
    public let worstError: [DType: Double]
    public let notes: [String]
}

/// GPT-2 to GGUF as llama.cpp's converter writes it, and GGUF back to a Hugging Face folder.
public enum GPT2Conversion {
    /// A text the written tokenizer must encode exactly as the source tokenizer does.
    static let probeText = "Zoo's probe: Hello world!  Tabs\tand\nnewlines, digits 1234567, ümlauts, 日本語, emoji 🦒🌍 <|endoftext|> don't stop."

    /// llama.cpp's type choice: 1-D tensors, norms, biases and position embeddings stay F32;
    /// other weights take the requested type (Q8_0 where rows are whole blocks, else F16).
    static func ggufPolicy(_ request: DTypeRequest) -> TableMapping.DTypePolicy {
        return { rule, shape, source in
            if !rule.quantizable || shape.count < 2 { return .f32 }
            switch request {
            case .keep: return source.isQuantized && source != .q8_0 ? .f32 : source
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            case .q8_0: return (shape.last ?? 0) % 32 == 0 ? .q8_0 : .f16
            }
        }
    }

    static func fileType(_ plan: [MappedTensor]) -> UInt32 {
        let weights = plan.map(\.target.dtype).filter { $0 != .f32 }
        if weights.contains(.q8_0) { return 7 }
        if weights.contains(.bf16) { return 32 }
        if weights.contains(.f16) { return 1 }
        return 0
    }

    /// What a GPT-2 conversion reads before writing: the source, its config and tokenizer.
    struct LoadedSource {
        let source: GPT2Source
        let reader: CheckpointReader
        let config: GPT2Config
        let table: NamingTable
        let tokenizer: GPT2Tokenizer
    }

    static func load(_ path: String, source: GPT2Source) throws -> LoadedSource {
        let reader = try Checkpoint.open(source.weightsPath)
        if reader.format == .gguf, let gguf = reader as? GGUFReader {
            return LoadedSource(source: source, reader: reader, config: try GPT2Config.fromGGUF(reader), table: GPT2NamingTables.gguf,
                                tokenizer: try GPT2Tokenizer(gguf: gguf))
        }
        guard let configPath = source.configPath, let folder = source.tokenizerFolder else {
            throw ZooError("needs a config.json and tokenizer files beside the weights", path: path)
        }
        return LoadedSource(source: source, reader: reader, config: try GPT2Config.fromHF(configPath: configPath), table: GPT2NamingTables.huggingFace,
                            tokenizer: try TokenizerCache.load(folder: folder))
    }

    public static func toGGUF(model path: String, output: String, dtype request: DTypeRequest, force: Bool,
                              dryRun: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws -> (plan: [MappedTensor], result: ModelConversionResult?) {
        let source = try GPT2Source.resolve(path)
        // SHA-256 of the sources runs on the second core while the rest is prepared and the tensors
        // are written; the header gets placeholder digests of the same length, patched in before
        // the file is committed. A plan (dryRun) starts it too, for the conversion that usually
        // follows (the CLI plans, then converts).
        let folder = source.tokenizerFolder ?? ""
        let extras = ["config.json", "vocab.json", "merges.txt", "tokenizer.json"].map { (folder as NSString).appendingPathComponent($0) }
        let hashed = Provenance.sourceFiles(weights: source.weightsPath, extra: source.kind == .gguf ? [] : extras)
        let hashes = PendingHashes.start(files: hashed)
        defer { if !dryRun { PendingHashes.forget(hashes); hashes.cancel() } }
        let loaded = try load(path, source: source)
        let (reader, config, tokenizer) = (loaded.reader, loaded.config, loaded.tokenizer)
        if config.activation != .geluTanh {
            throw ZooError("uses exact (erf) GELU; llama.cpp's gpt2 architecture computes the tanh form, so the GGUF would not run the same model", path: path)
        }
        if tokenizer.vocabularySize != config.vocabulary {
            throw ZooError("the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocabulary is \(config.vocabulary)", path: path)
        }
        let plan = try TableMapping.plan(reader: reader, source: loaded.table, target: GPT2NamingTables.gguf, sizes: config.sizes,
                                         fallbacks: ["lm_head.weight": "wte.weight"], policy: ggufPolicy(request))
        if dryRun { return (plan, nil) }

        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var meta: [MetadataEntry] = [
            MetadataEntry("general.architecture", .string("gpt2")),
            MetadataEntry("general.type", .string("model")),
            MetadataEntry("general.name", .string(name)),
            MetadataEntry("gpt2.block_count", .uint32(UInt32(config.layers))),
            MetadataEntry("gpt2.context_length", .uint32(UInt32(config.positions))),
            MetadataEntry("gpt2.embedding_length", .uint32(UInt32(config.embedding))),
            MetadataEntry("gpt2.feed_forward_length", .uint32(UInt32(config.inner))),
            MetadataEntry("gpt2.attention.head_count", .uint32(UInt32(config.heads))),
            MetadataEntry("gpt2.attention.layer_norm_epsilon", .float32(config.layerNormEpsilon)),
            MetadataEntry("general.file_type", .uint32(fileType(plan))),
            MetadataEntry("general.quantization_version", .uint32(2)),
            MetadataEntry("tokenizer.ggml.model", .string("gpt2")),
            MetadataEntry("tokenizer.ggml.pre", .string("gpt-2")),
            MetadataEntry("tokenizer.ggml.tokens", .array(.strings(tokenizer.tokens))),
            MetadataEntry("tokenizer.ggml.token_type", .array(MetadataArray(.int32, (0..<tokenizer.vocabularySize).map { .int32(tokenizer.isSpecial($0) ? 3 : 1) }))),
            MetadataEntry("tokenizer.ggml.merges", .array(.strings(tokenizer.merges))),
        ]
        if let eot = tokenizer.endOfTextId {
            meta.append(MetadataEntry("tokenizer.ggml.bos_token_id", .uint32(UInt32(eot))))
            meta.append(MetadataEntry("tokenizer.ggml.eos_token_id", .uint32(UInt32(eot))))
        }
        let recipe = "dtype=\(request.rawValue); 1-D tensors, norms, biases and position_embd F32" + (request == .q8_0 ? "; Q8_0 where rows are whole 32-blocks, else F16" : "")
        meta += Provenance.placeholderMetadata(files: hashed, recipe: recipe)

        let writer = try GGUFWriter(path: output, force: force)
        do {
            try writer.begin(metadata: meta, tensors: plan.map(\.target))
            try writer.flush()
            // The header is final but for the digests: parse it back and check its tokenizer on the
            // second core (after the hashing) while the tensors stream on this one.
            let temporary = writer.temporaryPath
            let headerCheck = BackgroundTask { () throws -> GGUFReader in
                do {
                    let back = try GGUFReader(path: temporary)
                    let want = tokenizer.encode(probeText), got = try GPT2Tokenizer(gguf: back).encode(probeText)
                    if want != got {
                        throw ZooError("the written tokenizer encodes the probe text as \(got.prefix(12))..., the source as \(want.prefix(12))...", path: output)
                    }
                    return back
                } catch var e as ZooError {
                    if e.path == temporary { e.path = output }
                    throw e
                }
            }
            // Every chunk is read back from the file and checked against the source as it is written.
            let written = try ChunkedConversion.write(plan, reader: reader, writer: writer, progress: progress)
            // Proof, before the file appears: the parsed header puts every tensor where it was
            // written and checked, its tokenizer encodes the probe text as the source's does, and
            // the digests patched in read back as written.
            let back = try headerCheck.value()
            try ChunkedConversion.checkLayout(plan, written: back, writerOffset: writer.dataOffset, readerRange: back.dataRange, output: output)
            let lines = try hashes.wait()
            guard let files = Provenance.metadata(lines: lines, recipe: recipe).first(where: { $0.key == Provenance.filesKey }) else {
                throw ZooError("internal: no provenance entry", path: output)
            }
            try writer.replaceMetadata(files)
            try writer.finish()
            return (plan, ModelConversionResult(output: output, tensors: plan.count, bytes: written.bytes, worstError: written.worst, notes: []))
        } catch {
            writer.abort()
            throw error
        }
    }

    /// Streams the plan into a writer that can read back what it wrote (chunk by chunk, each chunk
    /// checked against the source; see ChunkedConversion), then commits it. Returns the bytes
    /// written and the worst relative error per dtype.
    static func write(_ plan: [MappedTensor], reader: CheckpointReader, writer: ChunkedCheckpointWriter, metadata: [MetadataEntry],
                      progress: ((Int, Int) -> Void)?) throws -> ChunkedConversion.Result {
        do {
            try writer.begin(metadata: metadata, tensors: plan.map(\.target))
            let result = try ChunkedConversion.write(plan, reader: reader, writer: writer, progress: progress)
            try writer.finish()
            return result
        } catch {
            writer.abort()
            throw error
        }
    }

    /// A GGUF (or any GPT-2 Zoo runs) to a Hugging Face folder: config.json, model.safetensors
    /// (names prefixed `transformer.`, Conv1D weights [in, out]), vocab.json, merges.txt.
    public static func toHuggingFace(model path: String, folder output: String, dtype request: DTypeRequest, force: Bool,
                                     progress: ((Int, Int) -> Void)? = nil) throws -> ModelConversionResult {
        if request == .q8_0 { throw ZooError("a Hugging Face folder holds safetensors, which has no Q8_0; choose f32, f16 or bf16") }
        let source = try GPT2Source.resolve(path)
        let reader = try Checkpoint.open(source.weightsPath)
        let config: GPT2Config, table: NamingTable, tokenizer: GPT2Tokenizer
        if let gguf = reader as? GGUFReader {
            config = try GPT2Config.fromGGUF(reader); table = GPT2NamingTables.gguf; tokenizer = try GPT2Tokenizer(gguf: gguf)
        } else {
            guard let configPath = source.configPath, let folder = source.tokenizerFolder else { throw ZooError("needs config.json", path: path) }
            config = try GPT2Config.fromHF(configPath: configPath); table = GPT2NamingTables.huggingFace
            tokenizer = try GPT2Tokenizer.load(folder: folder)
        }
        let policy: TableMapping.DTypePolicy = { _, _, src in
            switch request {
            case .keep: return src.isQuantized ? .f32 : src
            case .f16: return .f16
            case .bf16: return .bf16
            default: return .f32
            }
        }
        var plan = try TableMapping.plan(reader: reader, source: table, target: GPT2NamingTables.huggingFace, sizes: config.sizes, policy: policy)
        // A separate lm_head is written only when it differs from the token embedding.
        var tied = true
        if let head = plan.first(where: { $0.field == "lm_head.weight" }) {
            let wte = try TableMapping.canonical(plan.first(where: { $0.field == "wte.weight" })!, reader: reader)
            tied = try TableMapping.canonical(head, reader: reader) == wte
            if tied { plan.removeAll { $0.field == "lm_head.weight" } }
        }
        let staging = try StagingFolder(target: output, force: force)
        let weightsPath = staging.path + "/model.safetensors"
        let writer = try SafetensorsWriter(path: weightsPath, force: false)
        let written = try write(plan, reader: reader, writer: writer,
                                metadata: [MetadataEntry("zoo.source", .string((source.weightsPath as NSString).lastPathComponent))], progress: progress)
        let eot = tokenizer.endOfTextId ?? (config.vocabulary - 1)
        let configJSON: JSONValue = .object([
            ("architectures", .array([.string("GPT2LMHeadModel")])), ("model_type", .string("gpt2")),
            ("vocab_size", .int(Int64(config.vocabulary))), ("n_positions", .int(Int64(config.positions))),
            ("n_ctx", .int(Int64(config.positions))), ("n_embd", .int(Int64(config.embedding))),
            ("n_layer", .int(Int64(config.layers))), ("n_head", .int(Int64(config.heads))),
            ("n_inner", .int(Int64(config.inner))), ("activation_function", .string("gelu_new")),
            ("layer_norm_epsilon", .double(Double(config.layerNormEpsilon))),
            ("bos_token_id", .int(Int64(eot))), ("eos_token_id", .int(Int64(eot))),
            ("tie_word_embeddings", .bool(tied)), ("scale_attn_weights", .bool(true)),
        ])
        try staging.writeText("config.json", configJSON.serialized(pretty: true) + "\n")
        let vocab = JSONValue.object(tokenizer.tokens.enumerated().map { ($0.element, .int(Int64($0.offset))) })
        try staging.writeText("vocab.json", vocab.serialized() + "\n")
        try staging.writeText("merges.txt", "#version: 0.2\n" + tokenizer.merges.joined(separator: "\n") + "\n")
        let eotText = tokenizer.tokens[eot]
        try staging.writeText("tokenizer_config.json", JSONValue.object([
            ("tokenizer_class", .string("GPT2Tokenizer")), ("model_max_length", .int(Int64(config.positions))),
            ("bos_token", .string(eotText)), ("eos_token", .string(eotText)), ("unk_token", .string(eotText)),
            ("add_prefix_space", .bool(false)),
        ]).serialized(pretty: true) + "\n")
        // Proof before the folder appears: every chunk was read back and checked as it was written;
        // the re-read header must put each tensor where it was written; and the tokenizer.
        let reread = try SafetensorsReader(path: weightsPath)
        try ChunkedConversion.checkLayout(plan, written: reread, writerOffset: writer.dataOffset, readerRange: reread.dataRange, output: weightsPath)
        let back = try GPT2Tokenizer.load(folder: staging.path)
        if back.encode(probeText) != tokenizer.encode(probeText) {
            throw ZooError("the written vocab.json/merges.txt encode the probe text differently from the source tokenizer", path: output)
        }
        try staging.commit()
        return ModelConversionResult(output: output, tensors: plan.count, bytes: written.bytes, worstError: written.worst, notes: tied ? ["lm_head tied to wte"] : [])
    }
}

/// A folder output that appears whole or not at all: files are written into a hidden sibling
/// folder, which is renamed onto the target at the end (an old target is moved aside first with --force).
final class StagingFolder {
    let target: String
    let path: String
    let force: Bool
    private var committed = false

    init(target: String, force: Bool) throws {
        self.target = target
        self.force = force
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: target, isDirectory: &isFolder), !force {
            throw ZooError("output already exists (use --force to replace it)", path: target)
        }
        let parent = (target as NSString).deletingLastPathComponent
        let base = (target as NSString).lastPathComponent
        path = (parent.isEmpty ? "." : parent) + "/." + base + ".zoo-tmp-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) } catch {
            throw ZooError("cannot create a temporary folder beside the output: \(error.localizedDescription)", path: target)
        }
    }

    func writeText(_ name: String, _ text: String) throws {
        let out = try AtomicOutput(path: path + "/" + name, force: false)
        try out.write(Array(text.utf8))
        try out.commit()
    }

    func commit() throws {
        var aside: String?
        if FileManager.default.fileExists(atPath: target) {
            aside = path + ".old"
            if rename(target, aside!) != 0 { throw ZooError("cannot move the old output aside: \(String(cString: strerror(errno)))", path: target) }
        }
        if rename(path, target) != 0 {
            let reason = String(cString: strerror(errno))
            if let aside { rename(aside, target) }
            throw ZooError("cannot move the finished folder into place: \(reason)", path: target)
        }
        if let aside { try? FileManager.default.removeItem(atPath: aside) }
        committed = true
    }

    deinit {
        if !committed { try? FileManager.default.removeItem(atPath: path) }
    }
}
