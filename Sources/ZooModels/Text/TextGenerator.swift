import Foundation
import ZooTensor

/// Timings of one generation, for the summary `zoo run` prints on stderr.
public struct GenerationStats: Sendable {
    public var promptTokens = 0
    public var promptSeconds = 0.0
    public var generatedTokens = 0
    public var generateSeconds = 0.0
    /// Generation ended because the context (n_positions) was full.
    public var hitContextLimit = false
    /// Generation ended on the end-of-text token.
    public var hitEndOfText = false

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generatedTokensPerSecond: Double { generateSeconds > 0 ? Double(generatedTokens) / generateSeconds : 0 }
}

/// Prefill the prompt in one batch, then sample one token at a time through the KV cache.
public enum TextGenerator {
    /// prompt: [T] ids -> calls `onToken` with each new id as soon as it is chosen.
    /// `promptLogits` (when non-nil) receives the logits of every prompt position, [T, V].
    /// `sampleBelow` limits sampling to ids the tokenizer can decode (models may pad V).
    public static func generate(model: GPT2Model, prompt: [Int], maxTokens: Int, sampling: SamplingSettings,
                                stopToken: Int?, sampleBelow: Int? = nil, promptLogits: ((_ values: ArraySlice<Float>, _ rows: Int) throws -> Void)? = nil,
                                onToken: (Int) throws -> Void) throws -> GenerationStats {
        let context = model.config.positions
        if prompt.isEmpty { throw ZooError("the prompt is empty (it encodes to no tokens)") }
        if prompt.count > context {
            throw ZooError("the prompt is \(prompt.count) tokens, longer than the model's context of \(context) (n_positions)")
        }
        if maxTokens < 0 { throw ZooError("--max-tokens must be >= 0, found \(maxTokens)") }
        try sampling.validate()

        var stats = GenerationStats()
        stats.promptTokens = prompt.count
        // The cache holds what this run can reach, not the whole context.
        let session = model.makeSession(capacity: min(context, prompt.count + maxTokens))
        var sampler = Sampler(sampling)
        let v = model.config.vocabulary

        let start = DispatchTime.now()
        let request: LogitsRequest = promptLogits != nil ? .all : (maxTokens > 0 ? .last : .none)
        try session.forward(prompt, logits: request)
        stats.promptSeconds = seconds(since: start)
        if let promptLogits { try promptLogits(session.logits[0..<(prompt.count * v)], prompt.count) }
        guard maxTokens > 0 else { return stats }

        let decodeStart = DispatchTime.now()
        defer { stats.generateSeconds = seconds(since: decodeStart) }
        var lastRow = session.logitRows - 1
        let width = min(v, max(1, sampleBelow ?? v))
        while true {
            let id = session.logits.withUnsafeBufferPointer { all in
                sampler.sample(UnsafeBufferPointer(rebasing: all[(lastRow * v)..<(lastRow * v + width)]))
            }
            if let stopToken, id == stopToken { stats.hitEndOfText = true; break }
            try onToken(id)
            stats.generatedTokens += 1
            if stats.generatedTokens >= maxTokens { break }
            if session.position >= session.cache.capacity { stats.hitContextLimit = true; break }
            try session.forward([id], logits: .last)
            lastRow = 0
        }
        stats.generateSeconds = seconds(since: decodeStart)
        return stats
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
