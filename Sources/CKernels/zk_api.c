/* Public Q8_0 entry points: argument checks, then the selected variant. */
#include "zk_internal.h"

static int bad_k(int64_t k) { return k < 0 || k % ZOO_QK8_0 != 0; }

int zoo_q8_0_quantize_row(const float *x, zoo_block_q8_0 *y, int64_t k) {
    if (bad_k(k)) return ZOO_KERR_ARG;
    if (k > 0) zk_current()->quant_q8_0(x, y, k / ZOO_QK8_0);
    return 0;
}

int zoo_q8_act_quantize_row(const float *x, zoo_block_q8_act *y, int64_t k) {
    if (bad_k(k)) return ZOO_KERR_ARG;
    if (k > 0) zk_current()->quant_act(x, y, k / ZOO_QK8_0);
    return 0;
}

float zoo_q8_0_dot(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t k) {
    if (bad_k(k)) return zk_bits_f32(0x7fc00000u);
    return zk_current()->dot(w, x, k / ZOO_QK8_0);
}

static int bad_gemm(int64_t n, int64_t k, int64_t m, int64_t ldy, int64_t r0, int64_t r1) {
    return n < 0 || bad_k(k) || m < 0 || r0 < 0 || r1 > n || ldy < 0 || (m > 1 && ldy < n);
}

int zoo_q8_0_gemm(const void *packed, int64_t n, int64_t k, const zoo_block_q8_act *x, int64_t m,
                  const float *bias, float *y, int64_t ldy, int64_t row_begin, int64_t row_end) {
    if (bad_gemm(n, k, m, ldy, row_begin, row_end)) return ZOO_KERR_ARG;
    if (m == 0 || row_begin >= row_end) return 0;
    zk_current()->gemm((const uint8_t *)packed, n, k / ZOO_QK8_0, x, m, bias, y, ldy, row_begin, row_end);
    return 0;
}

int zoo_q8_0_gemv(const void *packed, int64_t n, int64_t k, const zoo_block_q8_act *x,
                  const float *bias, float *y, int64_t row_begin, int64_t row_end) {
    return zoo_q8_0_gemm(packed, n, k, x, 1, bias, y, n, row_begin, row_end);
}
