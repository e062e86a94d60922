/* Element-wise f32 kernels, written once in plain C and compiled several times (zk_vector.c
   includes this file once per instruction set, with ZKV_NAME / ZKV_ATTR set). Each element is the
   result of the same sequence of IEEE operations (+, -, *, /, sqrt, compares, bit moves; no fused
   multiply-add, FP_CONTRACT is off) whatever the instruction set and whichever thread runs it, so
   the compiler's vectorisation changes speed, never bits. Reductions use ZKV_LANES fixed partial
   sums (lane j takes elements j, j + ZKV_LANES, ...) combined in a fixed tree at the end: a fixed
   order that vectorises, instead of one serial chain that cannot. */

#ifndef ZKV_LANES
#define ZKV_LANES 16
#endif

/* exp(x) = 2^k * p(r), x = k ln2 + r, |r| <= ln2/2; degree-6 Taylor polynomial. Over every float
   in [-87.3, 88.3] the worst error is 3.02 ulp (swept exhaustively in review). k is rounded by
   adding 1.5*2^23, which leaves k in the low mantissa bits. The polynomial runs on x clamped to
   [-87.3, 88.3], where 2^k is a normal float; outside it the result is 0 (x < -87.3, true values
   ~1.2e-38 and below) or +inf (x > 88.3; true overflow is at 88.72). So GELU returns -0 where the
   true value is a tiny normal float below ~4.5e-38 (x near -10.07 in the tanh form, -13.14 in
   the erf form), as PyTorch's float32 GELU does. NaN fails every comparison and comes out NaN. */
ZKV_ATTR static inline float ZKV_NAME(zkv_exp)(float x) {
    float xc = x < -87.3f ? -87.3f : x;
    xc = xc > 88.3f ? 88.3f : xc;
    const float shifter = 12582912.0f;
    const float shifted = xc * 1.44269504088896341f + shifter;
    const float k = shifted - shifter;
    float r = xc - k * 0.693359375f;   /* ln2 split in two: hi has few bits, so k*hi is exact */
    r = r + k * 2.12194440e-4f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &shifted, 4);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    float y = p * scale;
    y = x < -87.3f ? 0.0f : y;
    y = x > 88.3f ? INFINITY : y;
    return y;
}

/* GELU, tanh form: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated as
   x / (1 + exp(-2u)), the same function without tanh's cancellation near 0. */
ZKV_ATTR static void ZKV_NAME(zkv_gelu_tanh)(float *x, int64_t n) {
    const float c0 = -2.0f * 0.7978845608028654f, c1 = -2.0f * 0.7978845608028654f * 0.044715f;
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        x[i] = v / (1.0f + ZKV_NAME(zkv_exp)(v * (c0 + c1 * v * v)));
    }
}

/* GELU, erf form: 0.5 x (1 + erf(x / sqrt 2)). With z = |x| / sqrt 2, 1 + erf = 2 - erfc(z) for
   x >= 0 and erfc(z) for x < 0, so no cancellation either side. erfc(z) = t exp(-z^2 + P(t)),
   t = 1 / (1 + z/2): the Chebyshev fit published in Numerical Recipes (Press et al., 2nd ed.,
   section 6.2, "erfcc"), fractional error below 1.2e-7 for every z >= 0. */
ZKV_ATTR static void ZKV_NAME(zkv_gelu_erf)(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        const float z = (v < 0.0f ? -v : v) * 0.70710678118654752f;
        const float t = 1.0f / (1.0f + 0.5f * z);
        float p = 0.17087277f;
        p = p * t - 0.82215223f;
        p = p * t + 1.48851587f;
        p = p * t - 1.13520398f;
        p = p * t + 0.27886807f;
        p = p * t - 0.18628806f;
        p = p * t + 0.09678418f;
        p = p * t + 0.37409196f;
        p = p * t + 1.00002368f;
        p = p * t - 1.26551223f;
        const float erfc = t * ZKV_NAME(zkv_exp)(p - z * z);
        x[i] = 0.5f * v * (v < 0.0f ? erfc : 2.0f - erfc);
    }
}

/* y += x */
ZKV_ATTR static void ZKV_NAME(zkv_add)(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = y[i] + x[i];
}

/* Fixed-tree sum of the lanes: ((l0 + l8) + (l4 + l12)) + ... as halving steps. */
ZKV_ATTR static inline float ZKV_NAME(zkv_lanes_sum)(float *acc) {
    for (int w = ZKV_LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) acc[j] = acc[j] + acc[j + w];
    return acc[0];
}

/* sum of x[0..n) in the fixed lane order */
ZKV_ATTR static inline float ZKV_NAME(zkv_sum)(const float *x, int64_t n) {
    float acc[ZKV_LANES] = {0};
    int64_t i = 0;
    for (; i + ZKV_LANES <= n; i += ZKV_LANES)
        for (int j = 0; j < ZKV_LANES; j++) acc[j] = acc[j] + x[i + j];
    for (int j = 0; i + j < n; j++) acc[j] = acc[j] + x[i + j];
    return ZKV_NAME(zkv_lanes_sum)(acc);
}

/* Layer norm of one row as PyTorch defines it (biased variance, eps inside the square root),
   two passes: the mean, then the mean of squared deviations.  x: [C] -> y: [C] (y may be x) */
ZKV_ATTR static void ZKV_NAME(zkv_layer_norm_row)(const float *x, int64_t c, const float *w, const float *b,
                                                  float eps, float *y) {
    const float mean = ZKV_NAME(zkv_sum)(x, c) / (float)c;
    float acc[ZKV_LANES] = {0};
    int64_t i = 0;
    for (; i + ZKV_LANES <= c; i += ZKV_LANES)
        for (int j = 0; j < ZKV_LANES; j++) {
            const float d = x[i + j] - mean;
            acc[j] = acc[j] + d * d;
        }
    for (int j = 0; i + j < c; j++) {
        const float d = x[i + j] - mean;
        acc[j] = acc[j] + d * d;
    }
    const float var = ZKV_NAME(zkv_lanes_sum)(acc) / (float)c;
    const float rstd = 1.0f / sqrtf(var + eps);
    for (int64_t j = 0; j < c; j++) y[j] = (x[j] - mean) * rstd * w[j] + b[j];
}

/* Softmax of one row in place, max subtracted first.  x: [n] -> [n] */
ZKV_ATTR static void ZKV_NAME(zkv_softmax)(float *x, int64_t n) {
    if (n <= 0) return;
    float lane[ZKV_LANES];
    for (int j = 0; j < ZKV_LANES; j++) lane[j] = x[0];
    int64_t i = 0;
    for (; i + ZKV_LANES <= n; i += ZKV_LANES)
        for (int j = 0; j < ZKV_LANES; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    for (int j = 0; i + j < n; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    float m = lane[0];
    for (int j = 1; j < ZKV_LANES; j++) m = lane[j] > m ? lane[j] : m;
    for (int64_t e = 0; e < n; e++) x[e] = ZKV_NAME(zkv_exp)(x[e] - m);
    const float inv = 1.0f / ZKV_NAME(zkv_sum)(x, n);
    for (int64_t e = 0; e < n; e++) x[e] = x[e] * inv;
}

/* A decode step's matrix-vector product, rows [r0, r1) of y = W x + bias, W [N, K] row-major:
   each row is a dot product in ZKV_LANES32 partial sums (lane l takes k = l, l + 32, ...; the last
   partial chunk masked), combined in a fixed halving tree, then + bias. One row at a time, so each
   thread reads one sequential stream: reading W once, front to back, is what a decode step is
   bound by (four rows side by side, sharing the loads of x, made four streams per thread and
   GPT-2 124M f32 decode fell from ~69 to ~44 tokens/s here). fmaf in every build (an
   instruction in the AVX2/AVX-512 ones, libm in the plain one), so all variants give the bits of
   zoo_f32_gemv_ref. */
#define ZKV_LANES32 32
ZKV_ATTR static void ZKV_NAME(zkv_dot_rows)(const float *w, int64_t k, const float *x, const float *bias,
                                            float *y, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        const float *w0 = w + r * k;
        float a0[ZKV_LANES32] = {0};
        int64_t p = 0;
        for (; p + ZKV_LANES32 <= k; p += ZKV_LANES32)
            for (int l = 0; l < ZKV_LANES32; l++) a0[l] = fmaf(x[p + l], w0[p + l], a0[l]);
        for (int l = 0; p + l < k; l++) a0[l] = fmaf(x[p + l], w0[p + l], a0[l]);
        for (int h = ZKV_LANES32 / 2; h > 0; h /= 2)
            for (int l = 0; l < h; l++) a0[l] = a0[l] + a0[l + h];
        y[r] = bias ? a0[0] + bias[r] : a0[0];
    }
}
