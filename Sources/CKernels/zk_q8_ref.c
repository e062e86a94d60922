/* Plain-C reference for Q8_0: quantizers (ggml's quantize_row_q8_0_ref, and the activation block),
   dequantization, the block dot product and a GEMM on unpacked ggml rows. Every SIMD variant is
   tested against these bit for bit. Written without libm so the file links anywhere. */
#include "zk_internal.h"

/* roundf for |v| < 2^31: nearest integer, ties away from zero */
static inline int32_t round_away(float v) {
    const int32_t t = (int32_t)v; /* truncates toward zero */
    const float f = v - (float)t; /* exact: t and v share the integer part */
    return t + (f >= 0.5f) - (f <= -0.5f);
}

/* One block: f32 scale, quants, and their sum. */
static inline float quant_block(const float *x, int8_t *qs, int32_t *sum) {
    uint32_t amax = 0;
    for (int j = 0; j < ZOO_QK8_0; j++) {
        const uint32_t a = zk_f32_bits(x[j]) & 0x7fffffffu;
        if (a > amax) amax = a;
    }
    float id;
    int zero;
    const float d = zk_block_scale(amax, &id, &zero);
    int32_t s = 0;
    for (int j = 0; j < ZOO_QK8_0; j++) {
        const int32_t q = zero ? 0 : round_away(x[j] * id);
        qs[j] = (int8_t)q;
        s += q;
    }
    *sum = s;
    return d;
}

void zk_quant_act_scalar(const float *x, zoo_block_q8_act *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++) {
        int32_t s;
        y[b].d = quant_block(x + b * ZOO_QK8_0, y[b].qs, &s);
        y[b].c = -128 * s;
    }
}

void zk_quant_q8_0_scalar(const float *x, zoo_block_q8_0 *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++) {
        int32_t s;
        y[b].d = zk_f32_to_f16(quant_block(x + b * ZOO_QK8_0, y[b].qs, &s));
    }
}

float zk_dot_scalar(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t isum = 0;
        for (int j = 0; j < ZOO_QK8_0; j++) isum += (int32_t)w[b].qs[j] * (int32_t)x[b].qs[j];
        const float t = x[b].d * zk_f16_to_f32(w[b].d);
        const float p = (float)isum * t;
        s = s + p;
    }
    return s;
}

static int bad_k(int64_t k) { return k < 0 || k % ZOO_QK8_0 != 0; }

int zoo_q8_0_quantize_row_ref(const float *x, zoo_block_q8_0 *y, int64_t k) {
    if (bad_k(k)) return ZOO_KERR_ARG;
    zk_quant_q8_0_scalar(x, y, k / ZOO_QK8_0);
    return 0;
}

int zoo_q8_act_quantize_row_ref(const float *x, zoo_block_q8_act *y, int64_t k) {
    if (bad_k(k)) return ZOO_KERR_ARG;
    zk_quant_act_scalar(x, y, k / ZOO_QK8_0);
    return 0;
}

int zoo_q8_0_dequantize_row(const zoo_block_q8_0 *x, float *y, int64_t k) {
    if (bad_k(k)) return ZOO_KERR_ARG;
    for (int64_t b = 0; b < k / ZOO_QK8_0; b++) {
        const float d = zk_f16_to_f32(x[b].d);
        for (int j = 0; j < ZOO_QK8_0; j++) y[b * ZOO_QK8_0 + j] = (float)x[b].qs[j] * d;
    }
    return 0;
}

size_t zoo_q8_act_size(int64_t m, int64_t k) {
    if (m < 0 || bad_k(k)) return 0;
    const size_t rows = (size_t)m, nb = (size_t)(k / ZOO_QK8_0);
    if (rows != 0 && nb > SIZE_MAX / sizeof(zoo_block_q8_act) / rows) return 0; /* not addressable */
    return rows * nb * sizeof(zoo_block_q8_act);
}

float zoo_q8_0_dot_ref(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t k) {
    if (bad_k(k)) return zk_bits_f32(0x7fc00000u);
    return zk_dot_scalar(w, x, k / ZOO_QK8_0);
}

int zoo_q8_0_gemm_ref(const zoo_block_q8_0 *w, int64_t n, int64_t k, const zoo_block_q8_act *x,
                      int64_t m, const float *bias, float *y, int64_t ldy, int64_t row_begin,
                      int64_t row_end) {
    if (n < 0 || m < 0 || bad_k(k) || ldy < 0 || row_begin < 0 || row_end > n || (m > 1 && ldy < n))
        return ZOO_KERR_ARG;
    const int64_t nb = k / ZOO_QK8_0;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t r = row_begin; r < row_end; r++) {
            float v = zk_dot_scalar(w + r * nb, x + i * nb, nb);
            if (bias) v = v + bias[r];
            y[i * ldy + r] = v;
        }
    }
    return 0;
}
