import ArgumentParser
import Foundation
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor
import ZooVerify

enum VerifyDType: String, ExpressibleByArgument, CaseIterable {
    case f32, q8_0, q8_0w

    var weightMode: WeightMode {
        switch self {
        case .f32: return .f32
        case .q8_0: return .q8_0
        case .q8_0w: return .q8_0w
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a model's outputs against reference fixtures, or compare two models on a text.",
        discussion: """
            zoo verify MODEL FIXTURE...            run MODEL on each fixture's inputs and compare with the reference
            zoo verify --fixtures DIR              every *.fixture.npz under DIR against the model it names (CI)
            zoo verify MODEL --against OTHER --text FILE   KL divergence, top-1 agreement and perplexity of two models
            Exit status 1 when any result is outside its tolerance. JSON schema: formats/verify-report.md.
            """)

    @Argument(help: "MODEL then FIXTURE files (.fixture.npz, formats/fixture-format.md).")
    var paths: [String] = []

    @Option(name: .customLong("fixtures"), help: "Verify every *.fixture.npz under this folder against the model it was made from.")
    var fixtureFolder: String?

    @Option(help: "How Zoo computes: f32, q8_0 (int8 weights and activations) or q8_0w: Q8_0 weights, f32 activations (weight-only quantization). Repeatable; each fixture is checked in each.")
    var dtype: [VerifyDType] = []

    @Option(help: "Tolerance on max |zoo - ref| / max |ref|, instead of the fixture's or the default (f32 1e-4, q8_0 and q8_0w 3e-2).")
    var maxRel: Double?

    @Option(help: "Compare MODEL with this model (or the same one in another --against-dtype) on --text.")
    var against: String?

    @Option(help: "dtype of the --against model (default: the same as --dtype).")
    var againstDtype: VerifyDType?

    @Option(help: "UTF-8 text file for --against.")
    var text: String?

    @Option(help: "With --against: use at most this many tokens of the text.")
    var maxTokens: Int?

    @Flag(help: "Print one JSON object (formats/verify-report.md).")
    var json = false

    @Option(help: "Also write the results as JUnit XML to this file.")
    var junit: String?

    @Option(help: "Threads to use (default: all cores).")
    var threads: Int?

    @Option(help: "GPT-2 KV cache: f16 or f32 (default: f16 when the linear layers run int8 (q8_0), f32 otherwise).")
    var kvCache: KVCacheDType?

    @Option(help: "KV cache of the --against model (default: --kv-cache if given, else by its dtype).")
    var againstKvCache: KVCacheDType?

    func run() throws {
        var failed = false
        try runReportingErrors {
            try ArgumentChecks.threads(threads)
            if let maxTokens { try ArgumentChecks.check(maxTokens, "--max-tokens", 0...ArgumentChecks.maxTokens) }
            KernelThreads.configure(threads)
            if let against {
                try compare(against: against)
                return
            }
            let start = Date()
            var jobs: [(model: String, fixture: String)] = []
            if let folder = fixtureFolder {
                jobs = try VerifyJobs.fromFolder(folder)
            } else {
                guard paths.count >= 2 else { throw ZooError("give MODEL and at least one FIXTURE (or --fixtures DIR)") }
                jobs = paths.dropFirst().map { (paths[0], $0) }
            }
            let dtypes = dtype.isEmpty ? [VerifyDType.f32] : dtype
            var reports: [VerifyReport] = []
            var cache: [String: AnyObject] = [:]
            for (modelPath, fixturePath) in jobs {
                let fixture = try Fixture(path: fixturePath)
                for d in dtypes {
                    let tolerance = Verifier.tolerance(fixture: fixture, dtype: d.rawValue, override: maxRel)
                    let key = modelPath + "|" + d.rawValue + "|" + (kvCache?.rawValue ?? "default")
                    switch fixture.kind {
                    case .text:
                        let adapter = try (cache[key] as? GPT2LogitsAdapter) ?? GPT2LogitsAdapter(try GPT2Loader.load(path: modelPath, mode: d.weightMode, kvCache: kvCache))
                        cache[key] = adapter
                        var report = try Verifier.verify(text: adapter, fixture: fixture, modelName: modelPath, dtype: d.rawValue, tolerance: tolerance)
                        report.kvCache = adapter.model.kvCache.rawValue
                        reports.append(report)
                    case .image:
                        let adapter = try (cache[key] as? ViTOutputsAdapter) ?? ViTOutputsAdapter(try ViTLoader.load(modelPath, mode: d.weightMode).model)
                        cache[key] = adapter
                        reports.append(try Verifier.verify(image: adapter, fixture: fixture, modelName: modelPath, dtype: d.rawValue, tolerance: tolerance))
                    }
                }
            }
            if json { print(Reports.json(reports).serialized(pretty: true)) } else { print(Reports.table(reports)) }
            if let junit {
                let out = try AtomicOutput(path: junit, force: true)
                try out.write(Array(Reports.junit(reports, seconds: Date().timeIntervalSince(start)).utf8))
                try out.commit()
            }
            failed = !reports.allSatisfy(\.passed)
        }
        if failed { throw ExitCode(1) }
    }

    func compare(against other: String) throws {
        guard let textPath = text else { throw ZooError("--against needs --text FILE") }
        guard let model = paths.first else { throw ZooError("give MODEL before --against") }
        guard let data = FileManager.default.contents(atPath: textPath) else { throw ZooError("cannot read", path: textPath) }
        guard let content = String(data: data, encoding: .utf8) else { throw ZooError("is not valid UTF-8", path: textPath) }
        let d = dtype.first ?? .f32, od = againstDtype ?? d
        let a = GPT2LogitsAdapter(try GPT2Loader.load(path: model, mode: d.weightMode, kvCache: kvCache))
        let b = GPT2LogitsAdapter(try GPT2Loader.load(path: other, mode: od.weightMode, kvCache: againstKvCache ?? kvCache))
        let kv = a.model.kvCache.rawValue, okv = b.model.kvCache.rawValue
        let tokenizer = try ModelArgument.tokenizer(for: try GPT2Source.resolve(model))
        let ids = tokenizer.encode(content)
        let r = try ModelComparison.run(a, b, ids: ids, maxTokens: maxTokens)
        if json {
            print(JSONValue.object([
                ("zoo_compare", .int(1)), ("model", .string(model)), ("model_dtype", .string(d.rawValue)),
                ("against", .string(other)), ("against_dtype", .string(od.rawValue)), ("text", .string(textPath)),
                ("model_kv_cache", .string(kv)), ("against_kv_cache", .string(okv)),
                ("tokens", .int(Int64(min(ids.count, maxTokens ?? ids.count)))), ("positions", .int(Int64(r.positions))),
                ("windows", .int(Int64(r.windows))), ("mean_kl", .double(r.meanKL)), ("max_kl", .double(r.maxKL)),
                ("top1", .double(r.top1)),
                ("perplexity", .object([("model", .double(r.perplexityA)), ("against", .double(r.perplexityB))])),
            ]).serialized(pretty: true))
        } else {
            print("""
                \(model) (\(d.rawValue), KV \(kv)) against \(other) (\(od.rawValue), KV \(okv)) on \(textPath): \(r.positions) positions in \(r.windows) windows
                  mean KL divergence  \(String(format: "%.3e", r.meanKL)) nats   (max \(String(format: "%.3e", r.maxKL)))
                  top-1 agreement     \(String(format: "%.2f", r.top1 * 100))%
                  perplexity          \(String(format: "%.3f", r.perplexityA)) (\(d.rawValue))  vs  \(String(format: "%.3f", r.perplexityB)) (\(od.rawValue))
                """)
        }
    }
}

/// Which model each fixture under a folder was made from: metadata `source.model` (repo-relative)
/// and any `equivalent_checkpoints` (e.g. a GGUF of the same weights).
enum VerifyJobs {
    static func fromFolder(_ folder: String) throws -> [(model: String, fixture: String)] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { throw ZooError("cannot read the folder", path: folder) }
        var fixtures: [String] = []
        while let name = walker.nextObject() as? String {
            if name.hasSuffix(".fixture.npz") { fixtures.append(folder + "/" + name) }
        }
        var jobs: [(String, String)] = []
        let root = ModelArgument.repositoryRoot
        for path in fixtures.sorted() {
            let fixture = try Fixture(path: path)
            var models: [String] = []
            if let m = fixture.sourceModel { models.append(m) }
            for e in fixture.metadata["equivalent_checkpoints"]?.array ?? [] { if let p = e["path"]?.string { models.append(p) } }
            for m in models {
                let resolved = m.hasPrefix("/") ? m : root + "/" + m
                guard FileManager.default.fileExists(atPath: resolved) else {
                    throw ZooError("names the model '\(m)', which does not exist", path: path)
                }
                jobs.append((resolved, path))
            }
        }
        if jobs.isEmpty { throw ZooError("holds no *.fixture.npz files", path: folder) }
        return jobs
    }
}
