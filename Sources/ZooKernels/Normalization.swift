import CKernels
import Foundation

// Layer norm, softmax and residual adds run in CKernels (zk_vector.c: plain C compiled per
// instruction set, chosen at run time); the double-precision references sit beside them.

/// Layer norm over the last dimension, as PyTorch computes it: biased variance, eps inside the sqrt,
/// rows split over the kernel threads.  x: [T, C] -> y: [T, C]   (y may equal x)
public func layerNorm(_ x: UnsafePointer<Float>, rows t: Int, cols c: Int, weight: UnsafePointer<Float>,
                      bias: UnsafePointer<Float>, eps: Float, into y: UnsafeMutablePointer<Float>) {
    guard t > 0, c > 0 else { return }
    let rc = zoo_f32_layer_norm(KernelThreads.pool, x, Int64(t), Int64(c), Int64(c), weight, bias, eps, y, Int64(c))
    assert(rc == 0, "zoo_f32_layer_norm rejected [\(t), \(c)]")
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
    zoo_f32_softmax(x, Int64(n))
}

/// Reference softmax in double precision.  x: [n] -> [n]
public func softmaxReference(_ x: [Float]) -> [Float] {
    guard let m = x.max() else { return [] }
    let e = x.map { Foundation.exp(Double($0 - m)) }
    let s = e.reduce(0, +)
    return e.map { Float($0 / s) }
}

/// y += x, element-wise (residual connections), split over the kernel threads.  x: [n], y: [n] -> y: [n]
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    zoo_f32_add(KernelThreads.pool, y, x, Int64(n))
}
