import Foundation

// Element-wise activations. Each fast version sits beside a plain reference that follows the
// formula literally; tests compare the two on awkward sizes.

/// sqrt(2/pi), the constant of the tanh approximation of GELU (HF `gelu_new`, ggml `gelu`).
let geluTanhScale: Float = 0.7978845608028654

/// GELU, tanh form, in place.  x: [n] -> [n]
/// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as x * sigmoid(2u)
/// = x / (1 + exp(-2u)) (the same function, without tanh's cancellation near 0), split over
/// the kernel threads.
public func geluTanh(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    parallelChunks(n, grain: 16_384) { range in geluTanhChunk(x + range.lowerBound, count: range.count) }
}

@inline(__always)
func geluTanhChunk(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    let c0 = SIMD16<Float>(repeating: -2 * geluTanhScale)
    let c1 = SIMD16<Float>(repeating: -2 * geluTanhScale * 0.044715)
    let one = SIMD16<Float>(repeating: 1)
    var i = 0
    while i + 16 <= n {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
        let minus2u = v * (c0 + c1 * v * v)
        let r = v / (one + expVector(minus2u))
        UnsafeMutableRawPointer(x + i).storeBytes(of: r, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n {
        let v = x[i]
        x[i] = v / (1 + expf(-2 * geluTanhScale * (v + 0.044715 * v * v * v)))
        i += 1
    }
}

/// Reference GELU (tanh form), in place.  x: [n] -> [n]
public func geluTanhReference(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n {
        let v = Double(x[i])
        x[i] = Float(0.5 * v * (1 + Foundation.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))))
    }
}

/// GELU, exact erf form (PyTorch nn.GELU, HF `gelu`), in place.  x: [n] -> [n]
public func geluErf(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n {
        let v = x[i]
        x[i] = 0.5 * v * (1 + Foundation.erf(v * 0.7071067811865476))
    }
}

/// Reference GELU (erf form) in double precision, in place.  x: [n] -> [n]
public func geluErfReference(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n {
        let v = Double(x[i])
        x[i] = Float(0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot())))
    }
}

/// exp of 16 lanes: 2^k * p(r) with x = k ln2 + r, |r| <= ln2/2, degree-6 polynomial (~1 ulp).
/// k is rounded with the 1.5*2^23 trick rather than a float->int conversion, which Swift's
/// generic SIMD code would do lane by lane.
@inline(__always)
func expVector(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let xc = x.clamped(lowerBound: SIMD16(repeating: -87.3), upperBound: SIMD16(repeating: 88.3))
    let shifter = SIMD16<Float>(repeating: 12_582_912)  // 1.5 * 2^23: adding it rounds to an integer
    let shifted = xc * SIMD16<Float>(repeating: 1.4426950408889634) + shifter
    let k = shifted - shifter
    // Two-constant Cody-Waite reduction keeps r accurate.
    var r = xc - k * SIMD16<Float>(repeating: 0.693359375)
    r = r + k * SIMD16<Float>(repeating: 2.12194440e-4)
    var p = SIMD16<Float>(repeating: 1.0 / 720)
    p = p * r + SIMD16<Float>(repeating: 1.0 / 120)
    p = p * r + SIMD16<Float>(repeating: 1.0 / 24)
    p = p * r + SIMD16<Float>(repeating: 1.0 / 6)
    p = p * r + SIMD16<Float>(repeating: 0.5)
    p = p * r + SIMD16<Float>(repeating: 1)
    p = p * r + SIMD16<Float>(repeating: 1)
    // The low mantissa bits of `shifted` hold k (two's complement offset by 0x4B400000).
    let kBits = unsafeBitCast(shifted, to: SIMD16<UInt32>.self) &- 0x4B40_0000
    let scale = (kBits &+ 127) &<< 23
    return p * unsafeBitCast(scale, to: SIMD16<Float>.self)
}
