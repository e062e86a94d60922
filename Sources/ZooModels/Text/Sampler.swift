import Foundation
import ZooTensor

/// How the next token is picked from logits.
public struct SamplingSettings: Sendable, Equatable {
    /// 0 = greedy (argmax); otherwise logits are divided by it before softmax.
    public var temperature: Float = 0
    /// Keep only the k most likely tokens (0 = no limit).
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose probability reaches p (1 = no limit).
    public var topP: Float = 1
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public func validate() throws {
        if !(temperature >= 0) || !temperature.isFinite { throw ZooError("--temperature must be >= 0, found \(temperature)") }
        if topK < 0 { throw ZooError("--top-k must be >= 0, found \(topK)") }
        if !(topP > 0 && topP <= 1) { throw ZooError("--top-p must be in (0, 1], found \(topP)") }
    }
}

/// Greedy / temperature / top-k / top-p sampling with a seeded generator.
public struct Sampler: Sendable {
    public let settings: SamplingSettings
    private var rng: SeededRandom
    private var order: [Int] = []

    public init(_ settings: SamplingSettings) {
        self.settings = settings
        rng = SeededRandom(seed: settings.seed)
    }

    /// logits: [V] -> token id.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        guard logits.count > 0 else { return 0 }
        if settings.temperature == 0 || settings.topK == 1 { return Sampler.argmax(logits) }
        let invT = 1 / settings.temperature
        // Candidates in descending logit order; top-k first so the sort stays small.
        if order.count != logits.count { order = Array(0..<logits.count) } else { for i in 0..<order.count { order[i] = i } }
        var candidates: ArraySlice<Int>
        if settings.topK > 0 && settings.topK < logits.count {
            candidates = Sampler.topK(logits, k: settings.topK)[...]
        } else {
            order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            candidates = order[...]
        }
        let m = logits[candidates[candidates.startIndex]]
        var probs = candidates.map { Double(Foundation.exp((logits[$0] - m) * invT)) }
        let total = probs.reduce(0, +)
        var keep = probs.count
        if settings.topP < 1 {
            var cum = 0.0
            for (i, p) in probs.enumerated() {
                cum += p / total
                if cum >= Double(settings.topP) { keep = i + 1; break }
            }
        }
        probs = Array(probs.prefix(keep))
        candidates = candidates.prefix(keep)
        let r = Double(rng.nextUnitFloat()) * probs.reduce(0, +)
        var acc = 0.0
        for (i, p) in probs.enumerated() {
            acc += p
            if r < acc { return candidates[candidates.startIndex + i] }
        }
        return candidates[candidates.startIndex + keep - 1]
    }

    /// Index of the largest logit (the first of ties).
    public static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<max(x.count, 1) where x[i] > x[best] { best = i }
        return best
    }

    /// The k largest indices in descending order (ties: lower id first), via a bounded insertion list.
    static func topK(_ x: UnsafeBufferPointer<Float>, k: Int) -> [Int] {
        var top: [Int] = []
        top.reserveCapacity(k + 1)
        func better(_ a: Int, _ b: Int) -> Bool { x[a] > x[b] || (x[a] == x[b] && a < b) }
        for i in 0..<x.count {
            if top.count == k, let last = top.last, !better(i, last) { continue }
            var pos = top.count
            while pos > 0 && better(i, top[pos - 1]) { pos -= 1 }
            top.insert(i, at: pos)
            if top.count > k { top.removeLast() }
        }
        return top
    }
}
