import Foundation
/// Layer norm over the last dimension, as PyTorch computes it: biased variance, eps inside the sqrt.
/// x: [T, C] -> y: [T, C]   (y may equal x)
public func layerNorm(_ x: UnsafePointer<Float>, rows t: Int, cols c: Int, weight: UnsafePointer<Float>,
                      bias: UnsafePointer<Float>, eps: Float, into y: UnsafeMutablePointer<Float>) {
    for row in 0..<t {
        let xr = x + row * c, yr = y + row * c
        var sum: Float = 0
        for j in 0..<c { sum += xr[j] }
        let mean = sum / Float(c)
        var sq: Float = 0
        for j in 0..<c { let d = xr[j] - mean; sq += d * d }
        let rstd = 1 / (sq / Float(c) + eps).squareRoot()
        for j in 0..<c { yr[j] = (xr[j] - mean) * rstd * weight[j] + bias[j] }
    }
}

/// Reference layer norm in double precision.  x: [T, C] -> y: [T, C]
public func layerNormReference(_ x: [Float], rows t: Int, cols c: Int, weight: [Float], bias: [Float], eps: Float) -> [Float] {
    var y = [Float](repeating: 0, count: t * c)
    for row in 0..<t {
        let xs = x[(row * c)..<(row * c + c)].map(Double.init)
        let mean = xs.reduce(0, +) / Double(c)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
        let rstd = 1 / (variance + Double(eps)).squareRoot()
        for j in 0..<c { y[row * c + j] = Float((xs[j] - mean) * rstd * Double(weight[j]) + Double(bias[j])) }
    }
    return y
}

/// Softmax of each row in place, subtracting the row max first.  x: [T, N] -> [T, N]
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows t: Int, cols n: Int) {
    for row in 0..<t { softmax(x + row * n, count: n) }
}

/// Softmax of one vector in place.  x: [n] -> [n]
public func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    var m = x[0]
    for j in 1..<max(n, 1) where x[j] > m { m = x[j] }
    var sum: Float = 0
    var j = 0
    while j + 16 <= n {
        let e = expVector(UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self) - m)
        UnsafeMutableRawPointer(x + j).storeBytes(of: e, as: SIMD16<Float>.self)
        sum += e.sum()
        j += 16
    }
    while j < n { x[j] = expf(x[j] - m); sum += x[j]; j += 1 }
    let inv = 1 / sum
    for k in 0..<n { x[k] *= inv }
}

/// Reference softmax in double precision.  x: [n] -> [n]
public func softmaxReference(_ x: [Float]) -> [Float] {
    guard let m = x.max() else { return [] }
    let e = x.map { Foundation.exp(Double($0 - m)) }
    let s = e.reduce(0, +)
    return e.map { Float($0 / s) }
}

/// y += x, element-wise (residual connections).  x: [n], y: [n] -> y: [n]
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n { y[i] += x[i] }
}
