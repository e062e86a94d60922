import ArgumentParser
import Foundation
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text with a GPT-2 model (or classify images with --image).",
        discussion: """
            MODEL is a model folder (config.json, weights, tokenizer files), a .gguf file, or a \
            .safetensors/.npz file beside a config.json. Without MODEL the demo model \(ModelArgument.demoModel) is used.
            """)

    @Argument(help: "Model folder, .gguf file, or weights file beside a config.json (default: the demo model).")
    var model: String?

    @Option(help: "The prompt text.")
    var prompt: String?

    @Option(help: "Tokens to generate (0: only run the prompt, e.g. with --dump-logits).")
    var maxTokens = 64

    @Option(help: "Sampling temperature; 0 picks the most likely token (greedy).")
    var temperature: Float = 0

    @Option(help: "Sample only from the K most likely tokens (0: no limit).")
    var topK = 0

    @Option(help: "Sample only from the most likely tokens whose probabilities add up to P.")
    var topP: Float = 1

    @Option(help: "Random seed for sampling (same seed, same output).")
    var seed: UInt64 = 0

    @Option(help: "Threads to use (default: all cores).")
    var threads: Int?

    @Option(help: "GPT-2 KV cache: f16 or f32 (default: f16 when the linear layers run int8 (q8_0), f32 otherwise).")
    var kvCache: KVCacheDType?

    @Option(help: "Weights of the linear layers: auto (Q8_0 where the file stores Q8_0, else f32), f32, q8_0 (quantize at load; int8 kernels), or q8_0w: Q8_0 weights, f32 activations (weight-only quantization).")
    var dtype: WeightMode = .auto

    @Option(help: "Write the logits of every prompt position as float32 [T, vocab] to this .npy file.")
    var dumpLogits: String?

    @Option(help: "Classify this image (repeatable); MODEL is then an image classifier.")
    var image: [String] = []

    @Option(help: "With --image: how many classes to show per image.")
    var top = 5

    func run() throws {
        try runReportingErrors {
            if !image.isEmpty {
                try runImageClassification(model: model, images: image, top: top, dumpLogits: dumpLogits, threads: threads)
                return
            }
            guard let prompt else { throw ZooError("--prompt is required (or --image for an image classifier)") }
            try ArgumentChecks.threads(threads)
            try ArgumentChecks.check(maxTokens, "--max-tokens", 0...ArgumentChecks.maxTokens)
            let sampling = SamplingSettings(temperature: temperature, topK: topK, topP: topP, seed: seed)
            try sampling.validate()
            let threadCount = KernelThreads.configure(threads)

            let loadStart = Date()
            if model == nil { Stderr.print("note: no MODEL given; using the demo model at \(ModelArgument.demoModelPath)") }
            let source = try GPT2Source.resolve(ModelArgument.path(model))
            let tokenizer = try ModelArgument.tokenizer(for: source)
            let gpt2 = try GPT2Loader.load(source, mode: dtype, kvCache: kvCache)
            let loadSeconds = Date().timeIntervalSince(loadStart)
            if tokenizer.vocabularySize > gpt2.config.vocabulary {
                throw ZooError("the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocabulary is \(gpt2.config.vocabulary)", path: source.weightsPath)
            }

            let ids = tokenizer.encode(prompt)
            var decoder = tokenizer.makeStreamingDecoder()
            let stats = try TextGenerator.generate(
                model: gpt2, prompt: ids, maxTokens: maxTokens, sampling: sampling, stopToken: tokenizer.endOfTextId,
                sampleBelow: tokenizer.vocabularySize,
                promptLogits: dumpLogits.map { path in
                    { values, rows in
                        try NpyWriter.writeFloats(Array(values), shape: [rows, gpt2.config.vocabulary], to: path)
                    }
                },
                onToken: { id in Stdout.write(try decoder.feed(id)) })
            let tail = decoder.flush()
            Stdout.write(tail + (stats.generatedTokens > 0 ? "\n" : ""))

            let c = gpt2.config
            Stderr.print(String(format: "model: %@ (%d layers, n_embd %d, vocab %d, %@ linear weights, %@ KV cache), loaded in %.2f s, %d threads",
                                source.weightsPath, c.layers, c.embedding, c.vocabulary, gpt2.weights.linearFormSummary,
                                gpt2.kvCache.rawValue, loadSeconds, threadCount))
            Stderr.print(String(format: "prompt: %d tokens, %.1f tokens/s", stats.promptTokens, stats.promptTokensPerSecond))
            var end = ""
            if stats.hitEndOfText { end = " (stopped at end-of-text)" }
            if stats.hitContextLimit { end = " (stopped: context of \(c.positions) positions is full)" }
            Stderr.print(String(format: "generated: %d tokens, %.1f tokens/s", stats.generatedTokens, stats.generatedTokensPerSecond) + end)
            if let dumpLogits { Stderr.print("wrote logits [\(ids.count), \(c.vocabulary)] to \(dumpLogits)") }
        }
    }
}

/// Text on stdout as it is produced (unbuffered, so tokens appear while generating).
enum Stdout {
    static func write(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

extension WeightMode: ExpressibleByArgument {}
