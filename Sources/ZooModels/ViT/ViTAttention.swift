import Dispatch
import Foundation
import ZooKernels

/// Non-causal multi-head self-attention for the ViT blocks, written here rather than calling
/// ZooKernels.multiHeadAttention: profiling ViT-B/16 showed that kernel's softmax (its SIMD exp
/// goes through Swift's generic float->int vector conversion) taking ~25% of the forward pass,
/// single-threaded. This version works one query row at a time (scores for one row stay in L1),
/// computes 16 scores at once against K transposed, uses an exp built from bit operations, and spreads the (image, head) pairs over the threads.
/// Candidate for folding into ZooKernels (see the report).
enum ViTAttention {
    /// qkv: [B*N, 3C] (q | k | v, heads side by side in each) -> out: [B*N, C].
    static func run(qkv: UnsafePointer<Float>, batch b: Int, tokens n: Int, width c: Int, heads: Int,
                    threads: Int, into out: UnsafeMutablePointer<Float>) {
        let d = c / heads
        let pairs = b * heads
        let workers = max(1, min(threads, pairs))
        let qkvAddress = UInt(bitPattern: qkv), outAddress = UInt(bitPattern: out)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            guard let q = UnsafePointer<Float>(bitPattern: qkvAddress),
                  let o = UnsafeMutablePointer<Float>(bitPattern: outAddress) else { return }
            let np = (n + 15) / 16 * 16
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: np)
            let kt = UnsafeMutablePointer<Float>.allocate(capacity: d * np)
            defer { scores.deallocate(); kt.deallocate() }
            var pair = worker
            while pair < pairs {
                let image = pair / heads, h = pair % heads
                let base = q + image * n * 3 * c
                attendHead(q: base + h * d, k: base + c + h * d, v: base + 2 * c + h * d, ld: 3 * c,
                           tokens: n, headDim: d, kt: kt, scores: scores, out: o + image * n * c + h * d, ldo: c)
                pair += workers
            }
        }
    }

    /// One head of one image. q, k, v: [N, D] with row stride ld -> out: [N, D] with row stride ldo.
    /// kt: scratch of D * Np floats (Np = N rounded up to 16) for K transposed, so that the scores
    /// of 16 keys come from vertical multiply-adds (no horizontal sums); scores: Np floats.
    static func attendHead(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                           tokens n: Int, headDim d: Int, kt: UnsafeMutablePointer<Float>,
                           scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, ldo: Int) {
        let scale = 1 / Float(d).squareRoot()
        let np = (n + 15) / 16 * 16
        // kt: [D, Np] = K^T * scale, zero-padded.  K: [N, D] -> [D, Np]
        for e in 0..<d {
            let row = kt + e * np
            for j in 0..<n { row[j] = k[j * ld + e] * scale }
            for j in n..<np { row[j] = 0 }
        }
        for i in 0..<n {
            let qi = q + i * ld
            // scores[j] = (q_i . k_j) / sqrt(D), 16 keys at a time.  q_i: [D], kt: [D, Np] -> [Np]
            var jc = 0
            while jc < np {
                var acc = SIMD16<Float>(repeating: 0)
                var col = UnsafePointer(kt + jc)
                for e in 0..<d {
                    acc += SIMD16<Float>(repeating: qi[e]) * load16(col)
                    col += np
                }
                store16(acc, scores + jc)
                jc += 16
            }
            var rowMax = -Float.infinity
            for j in 0..<n { rowMax = max(rowMax, scores[j]) }
            let inv = 1 / ViTMath.expSubtractingMax(scores, count: n, max: rowMax)
            // out_i = sum_j p_j v_j.  p: [N], V: [N, D] -> [D]
            let oi = out + i * ldo
            if d == 64 {
                var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
                for j in 0..<n {
                    let p = SIMD16<Float>(repeating: scores[j]), vj = v + j * ld
                    a0 += p * load16(vj); a1 += p * load16(vj + 16)
                    a2 += p * load16(vj + 32); a3 += p * load16(vj + 48)
                }
                store16(a0 * inv, oi); store16(a1 * inv, oi + 16); store16(a2 * inv, oi + 32); store16(a3 * inv, oi + 48)
            } else {
                for e in 0..<d { oi[e] = 0 }
                for j in 0..<n {
                    let p = scores[j] * inv, vj = v + j * ld
                    for e in 0..<d { oi[e] += p * vj[e] }
                }
            }
        }
    }

    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always) static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}

/// Vectorised exp for softmax.
enum ViTMath {
    /// x[i] = exp(x[i] - max) in place; returns the sum.  x: [n] -> [n]
    static func expSubtractingMax(_ x: UnsafeMutablePointer<Float>, count n: Int, max m: Float) -> Float {
        var sum = SIMD16<Float>(repeating: 0)
        let shift = SIMD16<Float>(repeating: m)
        var i = 0
        while i + 16 <= n {
            let e = exp16(ViTAttention.load16(x + i) - shift)
            ViTAttention.store16(e, x + i)
            sum += e
            i += 16
        }
        var total = sum.sum()
        while i < n {
            let e = Foundation.exp(x[i] - m)
            x[i] = e
            total += e
            i += 1
        }
        return total
    }

    /// (Plain `*` and `+`, not `addProduct`: without FMA in the build target, addProduct becomes a
    /// scalar fmaf call per lane.)
    /// exp of 16 lanes: 2^k * p(r), x = k ln2 + r, |r| <= ln2/2, degree-7 Taylor polynomial
    /// (relative error ~1e-7) for x <= 0. k comes from the round-to-nearest trick (adding 1.5 * 2^23), so no
    /// float->int vector conversion is needed. 
    @inline(__always) static func exp16(_ input: SIMD16<Float>) -> SIMD16<Float> {
        // Softmax inputs are <= 0 (max subtracted); below -87 the result would underflow anyway.
        // (`replacing(with:where:)` and `&*` compile to vector code; `clamped` and `&<<` did not.)
        let lo = SIMD16<Float>(repeating: -87)
        let x = input.replacing(with: lo, where: input .< lo)
        let magic = SIMD16<Float>(repeating: 12_582_912)  // 1.5 * 2^23
        let shifted = x * SIMD16(repeating: 1.442_695_04) + magic
        let k = shifted - magic  // round(x / ln2)
        let r = x - k * SIMD16(repeating: 0.693_145_75) - k * SIMD16(repeating: 1.428_606_8e-6)
        var p = SIMD16<Float>(repeating: 1.0 / 5040)
        p = p * r + SIMD16(repeating: 1.0 / 720)
        p = p * r + SIMD16(repeating: 1.0 / 120)
        p = p * r + SIMD16(repeating: 1.0 / 24)
        p = p * r + SIMD16(repeating: 1.0 / 6)
        p = p * r + SIMD16(repeating: 0.5)
        p = p * r + SIMD16(repeating: 1)
        p = p * r + SIMD16(repeating: 1)
        let ki = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        let scale = unsafeBitCast((ki &+ 127) &* 8_388_608, to: SIMD16<Float>.self)  // 2^k as float bits
        return p * scale
    }
}
