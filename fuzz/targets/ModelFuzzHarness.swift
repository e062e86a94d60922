// What the model-side fuzz targets run on one input, shared by the libFuzzer entry
// (fuzz/targets/models.swift) and the ordinary tests that replay fuzz/regressions
// (Tests/ZooModelsTests/ModelFuzzHarness.swift is a symbolic link to this file).
// A ZooError means the input was rejected cleanly; FuzzInvariantBroken means Zoo accepted the
// input but broke one of its own promises (the fuzz entry turns it into a crash, the tests into a
// failure).
import ZooFormats
import ZooTensor
@testable import ZooModels

let modelFuzzTargets = ["tokenizer-vocab", "tokenizer-json", "tokenizer-gguf", "config", "model-gguf", "model-folder", "image"]

struct FuzzInvariantBroken: Error, CustomStringConvertible {
    let description: String
}

/// Runs one model-side target on `bytes`.
/// - checkRoundTrip: also require decode(encode(s)) == s for tokenizers where it must hold.
/// - timmReader: the checkpoint timm configs are completed from (opened only when needed).
func runModelFuzzTarget(_ target: String, _ bytes: UnsafeRawBufferPointer, checkRoundTrip: Bool,
                        timmReader: () throws -> CheckpointReader) throws {
    switch target {
    case "tokenizer-vocab":
        let p = fuzzParts(bytes, 3)
        let tokenizer = try GPT2Tokenizer(vocabJSON: fuzzText(p[0]), mergesTXT: fuzzText(p[1]))
        try exerciseTokenizer(tokenizer, fuzzText(p[2]), checkRoundTrip: checkRoundTrip)
    case "tokenizer-json":
        let p = fuzzParts(bytes, 2)
        try exerciseTokenizer(try GPT2Tokenizer(tokenizerJSON: fuzzText(p[0])), fuzzText(p[1]), checkRoundTrip: false)
    case "tokenizer-gguf":
        let reader = try GGUFReader(file: MappedFile(copying: bytes, path: "fuzz-input.gguf"))
        // The text: the file's last KB (encoding all of a 60 KB file would dominate each run).
        try exerciseTokenizer(try GPT2Tokenizer(gguf: reader), fuzzText(UnsafeRawBufferPointer(rebasing: bytes.suffix(1024))),
                              checkRoundTrip: checkRoundTrip)
    case "config":
        try fuzzConfig(bytes, timmReader: timmReader)
    case "model-gguf":
        try fuzzModelGGUF(bytes)
    case "model-folder":
        try fuzzModelFolder(bytes)
    case "image":
        let image = try ImageDecoder.decode(bytes: bytes, path: "fuzz-input")
        for p in [ImagePreprocessing.huggingFaceDefaults(imageSize: 16), .timmDefaults(imageSize: 12)] {
            let values = try p.pixelValues(image)
            if values.count != 3 * p.height * p.width { throw FuzzInvariantBroken(description: "preprocessing made \(values.count) values") }
        }
    default:
        throw FuzzInvariantBroken(description: "unknown fuzz target \(target)")
    }
}

/// Splits at the first `count - 1` zero bytes; parts after the last zero byte found are nil.
func fuzzParts(_ bytes: UnsafeRawBufferPointer, _ count: Int) -> [UnsafeRawBufferPointer?] {
    var out: [UnsafeRawBufferPointer?] = []
    var rest: UnsafeRawBufferPointer? = bytes
    for _ in 0..<(count - 1) {
        guard let r = rest else { out.append(nil); continue }
        if let end = r.firstIndex(of: 0) {
            out.append(UnsafeRawBufferPointer(rebasing: r[..<end]))
            rest = UnsafeRawBufferPointer(rebasing: r[(end + 1)...])
        } else {
            out.append(r)
            rest = nil
        }
    }
    out.append(rest)
    return out
}

func fuzzText(_ bytes: UnsafeRawBufferPointer?) -> String {
    bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
}

/// Encodes `sample`, decodes the ids back (whole and streamed), decodes out-of-range ids.
/// - checkRoundTrip: the byte-level invariant decode(encode(s)) == s, which holds when every byte
///   has a token and special tokens decode to their own text (no prefix space).
func exerciseTokenizer(_ tokenizer: GPT2Tokenizer, _ sample: String, checkRoundTrip: Bool) throws {
    let ids = tokenizer.encode(sample)
    let bytes = try tokenizer.bytes(of: ids)
    _ = try tokenizer.decode(ids)
    var stream = tokenizer.makeStreamingDecoder()
    var streamed = ""
    for id in ids { streamed += try stream.feed(id) }
    streamed += stream.flush()
    if checkRoundTrip && roundTrips(tokenizer) && bytes != Array(sample.utf8) {
        throw FuzzInvariantBroken(description: "round trip broken: \(Array(sample.utf8)) -> \(ids) -> \(bytes)")
    }
    for bad in [-1, tokenizer.vocabularySize, Int.max, Int.min] where (try? tokenizer.decode([bad])) != nil {
        throw FuzzInvariantBroken(description: "id \(bad) decoded")
    }
}

func roundTrips(_ t: GPT2Tokenizer) -> Bool {
    var bytesWithToken = Set<UInt8>()
    for (id, token) in t.tokens.enumerated() where token.unicodeScalars.count == 1 && !t.isSpecial(id) {
        if let b = try? t.bytes(of: id), b.count == 1 { bytesWithToken.insert(b[0]) }
    }
    guard bytesWithToken.count == 256 else { return false }
    for (token, id) in t.specialTokens where (try? t.bytes(of: id)) != Array(token.utf8) { return false }
    return true
}

/// config.json [0x00 preprocessor_config.json]: what ViTLoader.describe / ViTLoader.load /
/// GPT2Loader compute from config files before reading a weight.
func fuzzConfig(_ bytes: UnsafeRawBufferPointer, timmReader: () throws -> CheckpointReader) throws {
    let p = fuzzParts(bytes, 2)
    guard let first = p[0] else { return }
    let json = try JSON.parse(first, what: "config.json", path: "config.json")
    let config: ViTConfig
    let preprocessing: ImagePreprocessing
    if json["architecture"]?.string != nil {
        config = try ViTConfig.fromTimm(json, reader: try timmReader(), path: "config.json")
        preprocessing = try ImagePreprocessing.fromTimm(json["pretrained_cfg"] ?? .object([]),
                                                        imageSize: config.imageHeight, path: "config.json")
    } else if json["model_type"]?.string == "vit" {
        config = try ViTConfig.fromHuggingFace(json, path: "config.json")
        if let pp = p[1] {
            preprocessing = try ImagePreprocessing.fromHuggingFace(
                try JSON.parse(pp, what: "preprocessor_config.json", path: "preprocessor_config.json"),
                imageSize: config.imageHeight, path: "preprocessor_config.json")
        } else {
            preprocessing = .huggingFaceDefaults(imageSize: config.imageHeight)
        }
    } else {
        let config = try GPT2Config.fromHF(json: json, path: "config.json")
        _ = (config.sizes, config.headDim)
        return
    }
    _ = (config.tableSizes, config.numTokens, config.headDim, ViTNamingTables.table(for: config.convention))
    _ = preprocessing.height == config.imageHeight && preprocessing.width == config.imageWidth
    exerciseGeometry(preprocessing)
}

/// The resize arithmetic the first image would run (a crop_pct of 1e-300 used to trap there).
func exerciseGeometry(_ p: ImagePreprocessing) {
    if p.recipe == .timm { _ = (p.timmResizeSize(width: 5, height: 7), p.timmResizeSize(width: 7, height: 5)) }
}

/// A GGUF file as `zoo run` takes it: the architecture from general.architecture, the config from
/// the metadata, the weights through the GGUF naming table in every weight mode, then one forward
/// pass on a tiny input whose result must have the promised size.
func fuzzModelGGUF(_ bytes: UnsafeRawBufferPointer) throws {
    let reader = try GGUFReader(file: MappedFile(copying: bytes, path: "fuzz-input.gguf"))
    switch reader.metadataValue("general.architecture")?.string {
    case "gpt2":
        try runGPT2(reader, try GPT2Config.fromGGUF(reader), GPT2NamingTables.gguf)
    case "vit":
        let (config, preprocessing) = try ViTGGUFMetadata.config(reader)
        exerciseGeometry(preprocessing)
        try runViT(reader, config, ViTNamingTables.gguf)
    default:
        return
    }
}

/// config.json 0x00 model.safetensors: a Hugging Face GPT-2 or ViT folder, or a timm ViT, as
/// `zoo run FOLDER` loads it (Conv1D transposes, fused q/k/v, reshaped tokens), then one forward pass.
func fuzzModelFolder(_ bytes: UnsafeRawBufferPointer) throws {
    let p = fuzzParts(bytes, 2)
    guard let configBytes = p[0], let weightBytes = p[1] else { return }
    let json = try JSON.parse(configBytes, what: "config.json", path: "config.json")
    let reader = try Checkpoint.open(MappedFile(copying: weightBytes, path: "model.safetensors"), as: .safetensors)
    if json["architecture"]?.string != nil {
        let config = try ViTConfig.fromTimm(json, reader: reader, path: "config.json")
        try runViT(reader, config, ViTNamingTables.table(for: config.convention))
    } else if json["model_type"]?.string == "vit" {
        let config = try ViTConfig.fromHuggingFace(json, path: "config.json")
        try runViT(reader, config, ViTNamingTables.table(for: config.convention))
    } else {
        try runGPT2(reader, try GPT2Config.fromHF(json: json, path: "config.json"), GPT2NamingTables.huggingFace)
    }
}

/// Loads a GPT-2 in every weight mode and runs 2 tokens; every row's logits must come back.
func runGPT2(_ reader: CheckpointReader, _ config: GPT2Config, _ table: NamingTable) throws {
    for mode in [WeightMode.auto, .f32, .q8_0, .q8_0w] {
        let model = try GPT2Loader.load(reader: reader, config: config, table: table, mode: mode)
        let session = model.makeSession(capacity: 3)
        try session.forward([0, config.vocabulary - 1], logits: .all)
        if session.logits.count != session.logitRows * config.vocabulary || session.logitRows != 2 {
            throw FuzzInvariantBroken(description: "GPT-2 gave \(session.logitRows) rows, \(session.logits.count) logits")
        }
    }
}

/// Loads a ViT in every weight mode and classifies one constant image.
func runViT(_ reader: CheckpointReader, _ config: ViTConfig, _ table: NamingTable) throws {
    // Bounded by the file (the position table holds one row per patch, the patch kernel
    // ch * p * p columns); skipped above 4 M values only to keep fuzzing fast.
    let values = config.numChannels * config.imageHeight * config.imageWidth
    guard values <= 1 << 22 else { return }
    for mode in [WeightMode.auto, .f32, .q8_0] {
        let weights = try WeightLoader.load(reader, table: table, sizes: config.tableSizes, keepQuantized: mode != .f32)
        let model = try ViTModel(config: config, weights: weights, mode: mode)
        let out = try model.forward(pixels: [Float](repeating: 0.25, count: values), batch: 1)
        if out.outputs.count != out.outputWidth || ![config.hiddenSize, config.labels.count].contains(out.outputWidth) {
            throw FuzzInvariantBroken(description: "ViT gave \(out.outputs.count) outputs of width \(out.outputWidth)")
        }
    }
}
