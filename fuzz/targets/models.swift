// libFuzzer entry for the model-side parsers, chosen by ZOO_FUZZ_TARGET:
//   tokenizer-vocab  vocab.json 0x00 merges.txt 0x00 text: load, encode the text, decode the ids
//   tokenizer-json   tokenizer.json 0x00 text: the same
//   tokenizer-gguf   a GGUF file: GPT2Tokenizer(gguf:), then encode the file's last KB as text
//   config           config.json [0x00 preprocessor_config.json]: GPT2Config or ViTConfig (HF or
//                    timm, completed from the timm fixture's shapes) and preprocessing, as the
//                    loaders do before any weight is read
//   image            a PNG or JPEG file: decode, then both preprocessing recipes at a small size
// Any ZooError is fine; a crash, hang, sanitizer report or broken invariant (trap) is a finding.
import ZooFormats
import ZooTensor
@testable import ZooModels

#if canImport(Glibc)
import Glibc
#endif

let target: String = {
    if let raw = getenv("ZOO_FUZZ_TARGET") { return String(cString: raw) }
    return "tokenizer-vocab"
}()

/// The timm fixture the config target completes timm configs from (run from the repository root).
let timmReader: CheckpointReader? = {
    guard target == "config" else { return nil }
    do { return try Checkpoint.open("fixtures/vit/timm-tiny/model.safetensors") } catch {
        fputs("fuzz-models: cannot open the timm fixture (run from the repository root): \(error)\n", stderr)
        exit(2)
    }
}()

/// Splits at the first `count - 1` zero bytes; parts after the last zero byte found are nil.
func parts(_ bytes: UnsafeRawBufferPointer, _ count: Int) -> [UnsafeRawBufferPointer?] {
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

func text(_ bytes: UnsafeRawBufferPointer?) -> String {
    bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
}

/// Encodes `sample`, decodes the ids back (whole and streamed), decodes out-of-range ids.
/// - checkRoundTrip: the byte-level invariant decode(encode(s)) == s, which holds when every byte
///   has a token and special tokens decode to their own text (no prefix space).
func exercise(_ tokenizer: GPT2Tokenizer, _ sample: String, checkRoundTrip: Bool) throws {
    let ids = tokenizer.encode(sample)
    let bytes = try tokenizer.bytes(of: ids)
    _ = try tokenizer.decode(ids)
    var stream = tokenizer.makeStreamingDecoder()
    var streamed = ""
    for id in ids { streamed += try stream.feed(id) }
    streamed += stream.flush()
    if checkRoundTrip && roundTrips(tokenizer) && bytes != Array(sample.utf8) {
        fatalError("round trip broken: \(Array(sample.utf8)) -> \(ids) -> \(bytes)")
    }
    for bad in [-1, tokenizer.vocabularySize, Int.max, Int.min] {
        if (try? tokenizer.decode([bad])) != nil { fatalError("id \(bad) decoded") }
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

func fuzzConfig(_ bytes: UnsafeRawBufferPointer) throws {
    let p = parts(bytes, 2)
    let json = try JSON.parse(p[0]!, what: "config.json", path: "config.json")
    let config: ViTConfig
    let preprocessing: ImagePreprocessing
    if json["architecture"]?.string != nil {
        config = try ViTConfig.fromTimm(json, reader: timmReader!, path: "config.json")
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
    // What ViTLoader.describe and ViTLoader.load compute before reading a weight.
    _ = (config.tableSizes, config.numTokens, config.headDim, ViTNamingTables.table(for: config.convention))
    _ = preprocessing.height == config.imageHeight && preprocessing.width == config.imageWidth
}

func fuzzImage(_ bytes: UnsafeRawBufferPointer) throws {
    let image = try ImageDecoder.decode(bytes: bytes, path: "fuzz-input")
    for p in [ImagePreprocessing.huggingFaceDefaults(imageSize: 16), .timmDefaults(imageSize: 12)] {
        let values = try p.pixelValues(image)
        if values.count != 3 * p.height * p.width { fatalError("preprocessing made \(values.count) values") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        switch target {
        case "tokenizer-vocab":
            let p = parts(bytes, 3)
            let tokenizer = try GPT2Tokenizer(vocabJSON: text(p[0]), mergesTXT: text(p[1]))
            try exercise(tokenizer, text(p[2]), checkRoundTrip: true)
        case "tokenizer-json":
            let p = parts(bytes, 2)
            let tokenizer = try GPT2Tokenizer(tokenizerJSON: text(p[0]))
            try exercise(tokenizer, text(p[1]), checkRoundTrip: false)
        case "tokenizer-gguf":
            let reader = try GGUFReader(file: MappedFile(copying: bytes, path: "fuzz-input.gguf"))
            let tokenizer = try GPT2Tokenizer(gguf: reader)
            // The text: the file's last KB (encoding all of a 60 KB file would dominate each run).
            try exercise(tokenizer, text(UnsafeRawBufferPointer(rebasing: bytes.suffix(1024))), checkRoundTrip: true)
        case "config":
            try fuzzConfig(bytes)
        case "image":
            try fuzzImage(bytes)
        default:
            fputs("fuzz-models: unknown ZOO_FUZZ_TARGET \(target)\n", stderr)
            exit(2)
        }
    } catch {
        // Rejected cleanly.
    }
    return 0
}
