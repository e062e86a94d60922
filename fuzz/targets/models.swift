// libFuzzer entry for the model-side parsers, chosen by ZOO_FUZZ_TARGET:
//   tokenizer-vocab  vocab.json 0x00 merges.txt 0x00 text: load, encode the text, decode the ids
//   tokenizer-json   tokenizer.json 0x00 text: the same
//   tokenizer-gguf   a GGUF file: GPT2Tokenizer(gguf:), then encode the file's last KB as text
//   config           config.json [0x00 preprocessor_config.json]: GPT2Config or ViTConfig (HF or
//                    timm, completed from the timm fixture's shapes) and preprocessing, as the
//                    loaders do before any weight is read
//   model-gguf       a GGUF model file: config from metadata, weights through the GGUF naming table
//                    in each weight mode, one forward pass (GPT-2 or ViT by general.architecture)
//   model-folder     config.json 0x00 model.safetensors: a Hugging Face GPT-2 / ViT or timm ViT folder,
//                    loaded through its naming table in each weight mode, one forward pass
//   image            a PNG or JPEG file: decode, then both preprocessing recipes at a small size
// The work itself is in ModelFuzzHarness.swift (shared with the regression tests). Any ZooError
// is fine; a crash, hang, sanitizer report or broken invariant (trap) is a finding.
import ZooFormats
import ZooTensor
@testable import ZooModels

#if canImport(Glibc)
import Glibc
#endif

let target: String = {
    let name = getenv("ZOO_FUZZ_TARGET").map { String(cString: $0) } ?? "tokenizer-vocab"
    if !modelFuzzTargets.contains(name) {
        fputs("fuzz-models: unknown ZOO_FUZZ_TARGET \(name)\n", stderr)
        exit(2)
    }
    return name
}()

/// The timm fixture the config target completes timm configs from (run from the repository root).
let timmReader: CheckpointReader? = {
    guard target == "config" else { return nil }
    do { return try Checkpoint.open("fixtures/vit/timm-tiny/model.safetensors") } catch {
        fputs("fuzz-models: cannot open the timm fixture (run from the repository root): \(error)\n", stderr)
        exit(2)
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        try runModelFuzzTarget(target, bytes, checkRoundTrip: true) {
            guard let reader = timmReader else { throw FuzzInvariantBroken(description: "no timm fixture") }
            return reader
        }
    } catch let broken as FuzzInvariantBroken {
        fatalError(broken.description)
    } catch {
        // Rejected cleanly.
    }
    return 0
}
