/* The "scalar" variant: plain C on the packed layout (arm64 and old x86-64 run this). */
#include "zk_internal.h"

static void gemm_scalar(const uint8_t *wp, int64_t n, int64_t nb, const zoo_block_q8_act *x, int64_t m,
                        const float *bias, float *y, int64_t ldy, int64_t r0, int64_t r1) {
    (void)n;
    for (int64_t g = r0 / ZK_GROUP; g * ZK_GROUP < r1; g++) {
        const int64_t row0 = g * ZK_GROUP;
        const int i0 = r0 > row0 ? (int)(r0 - row0) : 0;
        const int i1 = r1 - row0 < ZK_GROUP ? (int)(r1 - row0) : ZK_GROUP;
        const uint8_t *gp = wp + g * nb * ZK_CELL_BYTES;
        for (int64_t i = 0; i < m; i++) {
            const zoo_block_q8_act *xr = x + i * nb;
            float s[ZK_GROUP] = {0};
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *cell = gp + b * ZK_CELL_BYTES;
                /* all 16 rows at once, as the SIMD kernels do: offset-binary weights times signed
                   activations plus the correction c; written so that compilers vectorize over rows */
                int32_t isum[ZK_GROUP];
                for (int r = 0; r < ZK_GROUP; r++) isum[r] = xr[b].c;
                for (int c = 0; c < 8; c++) {
                    const uint8_t *wc = cell + 32 + 64 * c;
                    const int32_t x0 = xr[b].qs[4 * c], x1 = xr[b].qs[4 * c + 1];
                    const int32_t x2 = xr[b].qs[4 * c + 2], x3 = xr[b].qs[4 * c + 3];
                    for (int r = 0; r < ZK_GROUP; r++)
                        isum[r] += wc[4 * r] * x0 + wc[4 * r + 1] * x1 + wc[4 * r + 2] * x2 + wc[4 * r + 3] * x3;
                }
                float dw[ZK_GROUP];
                for (int r = 0; r < ZK_GROUP; r++) dw[r] = zk_f16_to_f32((uint16_t)(cell[2 * r] | (cell[2 * r + 1] << 8)));
                for (int r = 0; r < ZK_GROUP; r++) {
                    const float tt = xr[b].d * dw[r];
                    const float p = (float)isum[r] * tt;
                    s[r] = s[r] + p;
                }
            }
            zk_store_rows(y + i * ldy, s, bias, row0, i0, i1);
        }
    }
}

const zk_ops zk_ops_scalar = {
    .name = "scalar",
    .quant_act = zk_quant_act_scalar,
    .quant_q8_0 = zk_quant_q8_0_scalar,
    .dot = zk_dot_scalar,
    .gemm = gemm_scalar,
    .f16_to_f32 = zk_f16_to_f32_row_scalar,
    .f32_to_f16 = zk_f32_to_f16_row_scalar,
    .bf16_to_f32 = zk_bf16_to_f32_row_scalar,
    .f32_to_bf16 = zk_f32_to_bf16_row_scalar,
};
