import Foundation
import ZooKernels
import ZooModels
import ZooTensor

/// Median and spread of repeated timings.
public struct Rate: Sendable {
    public let median: Double
    public let min: Double
    public let max: Double

    public init(_ samples: [Double]) {
        let s = samples.sorted()
        median = s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
        min = s.first ?? 0
        max = s.last ?? 0
    }
}

/// Throughput measurements for `zoo bench`: each run is timed separately after one warm-up run.
public enum Benchmark {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// GPT-2: prompt processing (one batched forward of `promptTokens`, last logits only) and
    /// generation (`genTokens` single-token steps with greedy choice), tokens per second.
    public static func gpt2(_ model: GPT2Model, promptTokens: Int, genTokens: Int, runs: Int, seed: UInt64 = 1) throws -> (prompt: Rate, gen: Rate) {
        let v = model.config.vocabulary
        guard promptTokens >= 1, promptTokens + genTokens <= model.config.positions else {
            throw ZooError("--prompt-tokens \(promptTokens) + --gen-tokens \(genTokens) must be at least 1 and fit the context of \(model.config.positions)")
        }
        var state = seed
        let prompt = (0..<promptTokens).map { _ -> Int in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(v))
        }
        var pp: [Double] = [], tg: [Double] = []
        for run in 0...runs {
            let session = model.makeSession(capacity: promptTokens + genTokens)
            let t0 = now()
            try session.forward(prompt, logits: .last)
            let t1 = now()
            var next = argmax(session.logits)
            let t2 = now()
            for _ in 0..<genTokens {
                try session.forward([next], logits: .last)
                next = argmax(session.logits)
            }
            let t3 = now()
            if run == 0 { continue }  // warm-up: page faults, thread start, caches
            pp.append(Double(promptTokens) / (t1 - t0))
            if genTokens > 0 { tg.append(Double(genTokens) / (t3 - t2)) }
        }
        return (Rate(pp), Rate(tg))
    }

    /// ViT: images per second at a batch size, on a fixed random pixel tensor.
    public static func vit(_ model: ViTModel, batch: Int, runs: Int) throws -> Rate {
        let c = model.config
        let count = batch * c.numChannels * c.imageHeight * c.imageWidth
        var state: UInt64 = 7
        let pixels = (0..<count).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(state >> 40) % 2001 - 1000) / 1000
        }
        var rates: [Double] = []
        for run in 0...runs {
            let t0 = now()
            _ = try model.forward(pixels: pixels, batch: batch)
            let t1 = now()
            if run > 0 { rates.append(Double(batch) / (t1 - t0)) }
        }
        return Rate(rates)
    }

    static func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in 1..<max(v.count, 1) where v[i] > v[best] { best = i }
        return best
    }
}
