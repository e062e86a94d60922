import CKernels
import Foundation

// Element-wise activations. The fast versions run in CKernels (zk_vector.c: plain C compiled per
// instruction set, split over the kernel threads; an element's bits do not depend on either);
// each sits beside a plain reference that follows the formula literally, in double.

/// GELU, tanh form (HF `gelu_new`, ggml `gelu`), in place.  x: [n] -> [n]
/// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as x / (1 + exp(-2u)),
/// the same function without tanh's cancellation near 0.
public func geluTanh(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    zoo_f32_gelu_tanh(KernelThreads.pool, x, Int64(n))
}

/// Reference GELU (tanh form) in double, in place.  x: [n] -> [n]
/// Written as x * sigmoid(2u) so that the reference itself is accurate where 1 + tanh(u) cancels.
public func geluTanhReference(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n {
        let v = Double(x[i])
        x[i] = Float(v / (1 + Foundation.exp(-2 * 0.7978845608028654 * (v + 0.044715 * v * v * v))))
    }
}

/// GELU, exact erf form (PyTorch nn.GELU, HF `gelu`), in place.  x: [n] -> [n]
public func geluErf(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    zoo_f32_gelu_erf(KernelThreads.pool, x, Int64(n))
}

/// Reference GELU (erf form) in double precision, in place, as 0.5 x erfc(-x / sqrt 2) (no
/// cancellation for negative x).  x: [n] -> [n]
public func geluErfReference(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n {
        let v = Double(x[i])
        x[i] = Float(0.5 * v * Foundation.erfc(-v / 2.0.squareRoot()))
    }
}
