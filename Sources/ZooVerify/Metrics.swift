import Foundation

/// How close Zoo's outputs are to a reference, for rows of `width` values (positions x vocab).
public struct Comparison: Sendable, Equatable {
    public var maxAbs: Double = 0
    /// max |z - r| / max |r| over the whole array (formats/fixture-format.md).
    public var maxRel: Double = 0
    public var cosine: Double = 1
    /// Mean over rows of KL(softmax(ref) || softmax(zoo)), in nats; nil when not meaningful.
    public var meanKL: Double?
    public var maxKL: Double?
    /// Fraction of rows whose argmax agrees.
    public var top1: Double?
    /// Where the largest absolute difference is: row and column.
    public var worstRow = 0
    public var worstColumn = 0
    public var rows = 0

    public init() {}
}

public enum Metrics {
    /// Compares `got` with `reference` ([rows, width] row-major). With `distributions`, each row is
    /// a logit vector and KL / top-1 are computed too.
    public static func compare(_ got: [Float], _ reference: [Float], width: Int, distributions: Bool) -> Comparison {
        var c = Comparison()
        let n = min(got.count, reference.count)
        guard n > 0, width > 0 else { return c }
        var maxRef = 0.0, dot = 0.0, gotNorm = 0.0, refNorm = 0.0
        for i in 0..<n {
            let z = Double(got[i]), r = Double(reference[i])
            let d = abs(z - r)
            if d > c.maxAbs || d.isNaN { c.maxAbs = d.isNaN ? .infinity : d; c.worstRow = i / width; c.worstColumn = i % width }
            maxRef = max(maxRef, abs(r))
            dot += z * r; gotNorm += z * z; refNorm += r * r
        }
        c.maxRel = maxRef > 0 ? c.maxAbs / maxRef : c.maxAbs
        c.cosine = gotNorm > 0 && refNorm > 0 ? dot / (gotNorm.squareRoot() * refNorm.squareRoot()) : (gotNorm == refNorm ? 1 : 0)
        c.rows = n / width
        if distributions {
            var klSum = 0.0, klMax = 0.0, agree = 0
            for row in 0..<c.rows {
                let z = Array(got[(row * width)..<((row + 1) * width)]), r = Array(reference[(row * width)..<((row + 1) * width)])
                let kl = klDivergence(reference: r, other: z)
                klSum += kl; klMax = max(klMax, kl)
                if argmax(z) == argmax(r) { agree += 1 }
            }
            c.meanKL = klSum / Double(c.rows)
            c.maxKL = klMax
            c.top1 = Double(agree) / Double(c.rows)
        }
        return c
    }

    public static func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in 1..<max(v.count, 1) where v[i] > v[best] { best = i }
        return best
    }

    public static func logSoftmax(_ logits: [Float]) -> [Double] {
        let m = Double(logits.max() ?? 0)
        var s = 0.0
        for x in logits { s += exp(Double(x) - m) }
        let lse = m + log(s)
        return logits.map { Double($0) - lse }
    }

    /// KL(P || Q) for P = softmax(reference), Q = softmax(other), in nats.
    public static func klDivergence(reference: [Float], other: [Float]) -> Double {
        let lp = logSoftmax(reference), lq = logSoftmax(other)
        var kl = 0.0
        for i in 0..<lp.count { kl += exp(lp[i]) * (lp[i] - lq[i]) }
        return max(kl, 0)
    }

    /// Compares Zoo's full logits [T, V] with a top-k reference: the logits at the reference ids
    /// and the log-sum-exp per position; KL over the top-k mass plus one bucket for the rest.
    public static func compareTopK(_ got: [Float], vocabulary: Int, ids: [Int], logits: [Float], logSumExp: [Float], k: Int) -> Comparison {
        let rows = logSumExp.count
        var gathered: [Float] = []
        var reference: [Float] = []
        var c = Comparison()
        var klSum = 0.0, klMax = 0.0, agree = 0
        for row in 0..<rows {
            let z = Array(got[(row * vocabulary)..<((row + 1) * vocabulary)])
            let zl = logSoftmax(z)
            var kl = 0.0, pRest = 1.0, qRest = 1.0
            for j in 0..<k {
                let id = ids[row * k + j]
                guard id >= 0 && id < vocabulary else { continue }
                gathered.append(z[id]); reference.append(logits[row * k + j])
                let lp = Double(logits[row * k + j]) - Double(logSumExp[row])
                kl += exp(lp) * (lp - zl[id])
                pRest -= exp(lp); qRest -= exp(zl[id])
            }
            if pRest > 1e-12 && qRest > 1e-12 { kl += pRest * log(pRest / qRest) }
            klSum += max(kl, 0); klMax = max(klMax, kl)
            if argmax(z) == ids[row * k] { agree += 1 }
            // The log-sum-exp is compared as one more "logit" so a shift of the whole distribution shows.
            var s = 0.0
            let m = Double(z.max() ?? 0)
            for x in z { s += exp(Double(x) - m) }
            gathered.append(Float(m + log(s))); reference.append(logSumExp[row])
        }
        c = compare(gathered, reference, width: k + 1, distributions: false)
        c.rows = rows
        c.meanKL = rows > 0 ? klSum / Double(rows) : 0
        c.maxKL = klMax
        c.top1 = rows > 0 ? Double(agree) / Double(rows) : 1
        return c
    }
}
