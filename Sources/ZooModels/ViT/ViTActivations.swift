import Foundation
import ZooKernels

/// Activations used by the ViT blocks.
enum ViTActivations {
    /// GELU, erf form (PyTorch nn.GELU(), HF "gelu"), in place.  x: [n] -> [n]
    /// 0.5 x (1 + erf(x / sqrt 2)), with erf from Abramowitz & Stegun 7.1.26 (absolute error
    /// <= 1.5e-7, about one f32 ulp at 1) on 16 lanes at a time. Written here because the scalar
    /// libm erff of ZooKernels.geluErf took ~5% of a ViT-B/16 forward pass; candidate for ZooKernels.
    static func geluErf(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n {
            let v = ViTAttention.load16(x + i)
            ViTAttention.store16(v * SIMD16(repeating: 0.5) * (SIMD16(repeating: 1) + erf16(v * SIMD16(repeating: 0.707_106_781))),
                                 x + i)
            i += 16
        }
        while i < n {
            x[i] = 0.5 * x[i] * (1 + Foundation.erf(x[i] * 0.707_106_781))
            i += 1
        }
    }

    /// erf of 16 lanes: sign(x) (1 - (a1 t + ... + a5 t^5) exp(-x^2)), t = 1 / (1 + p |x|).
    @inline(__always) static func erf16(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let zero = SIMD16<Float>(repeating: 0)
        let negative = x .< zero
        let a = x.replacing(with: -x, where: negative)
        let t = SIMD16<Float>(repeating: 1) / (SIMD16(repeating: 1) + SIMD16(repeating: 0.327_591_1) * a)
        var poly = SIMD16<Float>(repeating: 1.061_405_429)
        poly = poly * t + SIMD16(repeating: -1.453_152_027)
        poly = poly * t + SIMD16(repeating: 1.421_413_741)
        poly = poly * t + SIMD16(repeating: -0.284_496_736)
        poly = poly * t + SIMD16(repeating: 0.254_829_592)
        poly = poly * t
        let y = SIMD16<Float>(repeating: 1) - poly * ViTMath.exp16(-(a * a))
        return y.replacing(with: -y, where: negative)
    }
}
