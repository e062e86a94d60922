import ArgumentParser
import Foundation
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor
import ZooVerify

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput: GPT-2 prompt and generation tokens/s, or ViT images/s (median of several runs).",
        discussion: "The int8 kernel variant is chosen from the CPU; ZOO_KERNEL=avx512vnni|avx2|scalar forces one.")

    @Argument(help: "A GPT-2 or ViT model (folder, .gguf, or weights beside a config.json).")
    var model: String

    @Option(help: "Linear layers in f32, q8_0, or q8_0w: Q8_0 weights, f32 activations (weight-only quantization). Default: as stored, Q8_0 where the file holds Q8_0.")
    var dtype: VerifyDType?

    @Option(help: "GPT-2: prompt length for the prompt-processing measurement.")
    var promptTokens = 128

    @Option(help: "GPT-2: tokens generated one at a time for the generation measurement.")
    var genTokens = 128

    @Option(help: "ViT: batch size (repeatable).")
    var batch: [Int] = []

    @Option(help: "Timed runs after one warm-up run.")
    var runs = 5

    @Option(help: "Threads to use (default: all cores).")
    var threads: Int?

    @Option(help: "GPT-2 KV cache: f16 or f32 (default: f16 when the linear layers run int8 (q8_0), f32 otherwise).")
    var kvCache: KVCacheDType?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        try runReportingErrors {
            if runs < 1 { throw ZooError("--runs must be at least 1") }
            try ArgumentChecks.threads(threads)
            try ArgumentChecks.check(promptTokens, "--prompt-tokens", 1...ArgumentChecks.maxTokens)
            try ArgumentChecks.check(genTokens, "--gen-tokens", 0...ArgumentChecks.maxTokens)
            for b in batch { try ArgumentChecks.check(b, "--batch", 1...ArgumentChecks.maxBatch) }
            let n = KernelThreads.configure(threads)
            let mode: WeightMode = dtype?.weightMode ?? .auto
            let dtypeName = dtype?.rawValue ?? "auto"
            // q8_0w runs the f32-arithmetic kernels (their variant, e.g. "avx512"), not the int8 ones
            let kernel = dtype == .q8_0w ? KernelInfo.q8_0WeightOnlyVariant : KernelInfo.variant
            var fields: [(String, JSONValue)] = [("model", .string(model)), ("kernel", .string(kernel)),
                                                 ("threads", .int(Int64(n))), ("dtype", .string(dtypeName)), ("runs", .int(Int64(runs)))]
            var lines: [String] = []
            var kvNote = ""
            let t0 = Date()
            switch ModelKind.detect(model) {
            case .vit?:
                let vit = try ViTLoader.load(model, mode: mode)
                fields.append(("load_seconds", .double(Date().timeIntervalSince(t0))))
                var perBatch: [(String, JSONValue)] = []
                for b in batch.isEmpty ? [1, 8] : batch {
                    let r = try Benchmark.vit(vit.model, batch: b, runs: runs)
                    perBatch.append((String(b), .object([("images_per_s", .double(r.median)), ("min", .double(r.min)), ("max", .double(r.max))])))
                    lines.append(String(format: "batch %3d: %8.2f images/s  (min %.2f, max %.2f)", b, r.median, r.min, r.max))
                    if b == (batch.first ?? 1) { fields.append(("images_per_s", .double(r.median))) }
                }
                fields.append(("batches", .object(perBatch)))
            case .gpt2?, nil:
                let gpt2 = try GPT2Loader.load(path: model, mode: mode, kvCache: kvCache)
                fields.append(("load_seconds", .double(Date().timeIntervalSince(t0))))
                fields.append(("kv_cache", .string(gpt2.kvCache.rawValue)))
                kvNote = ", KV cache \(gpt2.kvCache.rawValue)"
                let (pp, tg) = try Benchmark.gpt2(gpt2, promptTokens: promptTokens, genTokens: genTokens, runs: runs)
                fields += [("prompt_tokens", .int(Int64(promptTokens))), ("gen_tokens", .int(Int64(genTokens))),
                           ("prompt_tokens_per_s", .double(pp.median)), ("prompt_min", .double(pp.min)), ("prompt_max", .double(pp.max)),
                           ("gen_tokens_per_s", .double(tg.median)), ("gen_min", .double(tg.min)), ("gen_max", .double(tg.max))]
                lines.append(String(format: "prompt (%d tokens): %9.1f tokens/s  (min %.1f, max %.1f)", promptTokens, pp.median, pp.min, pp.max))
                lines.append(String(format: "generation (%d):    %9.1f tokens/s  (min %.1f, max %.1f)", genTokens, tg.median, tg.min, tg.max))
            }
            if json {
                print(JSONValue.object(fields).serialized(pretty: true))
            } else {
                let note = KernelInfo.note.isEmpty ? "" : " (\(KernelInfo.note))"
                print("\(model): dtype \(dtypeName)\(kvNote), kernel \(kernel)\(note), \(n) threads, median of \(runs) runs")
                lines.forEach { print($0) }
            }
        }
    }
}
