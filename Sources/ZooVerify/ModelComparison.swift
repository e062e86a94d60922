import Foundation
import ZooTensor

/// Two language models (or two dtypes of one) on the same text: how far the second's next-token
/// distributions are from the first's, and each one's perplexity on the text.
public struct ModelComparison: Sendable {
    public var positions = 0
    public var meanKL = 0.0
    public var maxKL = 0.0
    public var top1 = 0.0
    public var perplexityA = 0.0
    public var perplexityB = 0.0
    public var windows = 0

    /// Runs both models over `ids` in consecutive windows of the shorter context; every position
    /// but the last of each window predicts the next token.
    public static func run(_ a: TextLogitsModel, _ b: TextLogitsModel, ids: [Int], maxTokens: Int? = nil) throws -> ModelComparison {
        guard a.vocabularySize == b.vocabularySize else {
            throw ZooError("the models have different vocabularies (\(a.vocabularySize) and \(b.vocabularySize)); they cannot be compared token by token")
        }
        let tokens = maxTokens.map { Array(ids.prefix($0)) } ?? ids
        guard tokens.count >= 2 else { throw ZooError("the text is \(tokens.count) token(s); at least 2 are needed") }
        let window = min(a.contextLength, b.contextLength)
        let v = a.vocabularySize
        var result = ModelComparison()
        var nllA = 0.0, nllB = 0.0, agree = 0
        var start = 0
        while start < tokens.count - 1 {
            let chunk = Array(tokens[start..<min(start + window, tokens.count)])
            if chunk.count < 2 { break }
            let la = try a.logits(for: chunk, captureHidden: false).logits
            let lb = try b.logits(for: chunk, captureHidden: false).logits
            for t in 0..<(chunk.count - 1) {
                let ra = Array(la[(t * v)..<((t + 1) * v)]), rb = Array(lb[(t * v)..<((t + 1) * v)])
                let pa = Metrics.logSoftmax(ra), pb = Metrics.logSoftmax(rb)
                var kl = 0.0
                for i in 0..<v { kl += exp(pa[i]) * (pa[i] - pb[i]) }
                kl = max(kl, 0)
                result.meanKL += kl
                result.maxKL = max(result.maxKL, kl)
                if Metrics.argmax(ra) == Metrics.argmax(rb) { agree += 1 }
                nllA -= pa[chunk[t + 1]]
                nllB -= pb[chunk[t + 1]]
                result.positions += 1
            }
            result.windows += 1
            start += chunk.count - 1 == 0 ? 1 : chunk.count
        }
        let n = Double(max(result.positions, 1))
        result.meanKL /= n
        result.top1 = Double(agree) / n
        result.perplexityA = exp(nllA / n)
        result.perplexityB = exp(nllB / n)
        return result
    }
}
