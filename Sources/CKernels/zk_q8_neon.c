/* The "neon" variant for arm64 CPUs with the dot-product extension (SDOT; Apple M1 and later,
   Neoverse N1 / Graviton2 and later), chosen at run time like the x86 variants. GEMV and GEMM on the
   packed layout: one 128-bit register holds 4 consecutive values of 4 rows, so SDOT against the
   4 activation bytes of that chunk adds them into 4 per-row sums, as VPDPBUSD does on x86; the
   weights are turned back from offset binary (XOR 0x80) because SDOT is signed x signed.
   Quantizers and f16 conversions are the scalar ones. Bit-identical to the scalar reference.
   Built with clang only (SwiftPM's compiler): GCC 12 rejects NEON intrinsics in target("+dotprod"). */
#include "zk_internal.h"
#if ZK_NEON
#include <arm_neon.h>

#define ZK_DOTPROD __attribute__((target("dotprod")))

/* the 16 rows' sums of one block: offset-binary weights back to signed, 8 chunks x 4 row quads */
ZK_DOTPROD static inline void block_sums(const uint8_t *cell, const int8_t *xq, int32x4_t acc[4]) {
    const uint8x16_t flip = vdupq_n_u8(0x80);
    const int8x16_t xa = vld1q_s8(xq), xb = vld1q_s8(xq + 16);
    for (int j = 0; j < 4; j++) acc[j] = vdupq_n_s32(0);
#define ZK_CHUNK(c, xv, lane)                                                                          \
    for (int j = 0; j < 4; j++) {                                                                      \
        const int8x16_t w = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(cell + 32 + 64 * (c) + 16 * j), flip)); \
        acc[j] = vdotq_laneq_s32(acc[j], w, xv, lane);                                                 \
    }
    ZK_CHUNK(0, xa, 0) ZK_CHUNK(1, xa, 1) ZK_CHUNK(2, xa, 2) ZK_CHUNK(3, xa, 3)
    ZK_CHUNK(4, xb, 0) ZK_CHUNK(5, xb, 1) ZK_CHUNK(6, xb, 2) ZK_CHUNK(7, xb, 3)
#undef ZK_CHUNK
}

/* s[16] += (float)isum * (dx * dw), per row, in the contract's three roundings */
ZK_DOTPROD static inline void block_accumulate(const uint8_t *cell, float dx, const int32x4_t acc[4], float32x4_t s[4]) {
    for (int j = 0; j < 4; j++) {
        const float32x4_t dw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(const void *)(cell + 8 * j))));
        const float32x4_t t = vmulq_n_f32(dw, dx);
        s[j] = vaddq_f32(s[j], vmulq_f32(vcvtq_f32_s32(acc[j]), t));
    }
}

ZK_DOTPROD static float dot(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t nb) {
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32x4_t acc = vdupq_n_s32(0);
        acc = vdotq_s32(acc, vld1q_s8(w[b].qs), vld1q_s8(x[b].qs));
        acc = vdotq_s32(acc, vld1q_s8(w[b].qs + 16), vld1q_s8(x[b].qs + 16));
        const int32_t isum = vaddvq_s32(acc);
        const float t = x[b].d * zk_f16_to_f32(w[b].d);
        const float p = (float)isum * t;
        s = s + p;
    }
    return s;
}

ZK_DOTPROD static void gemm(const uint8_t *wp, int64_t n, int64_t nb, const zoo_block_q8_act *x, int64_t m,
                            const float *bias, float *y, int64_t ldy, int64_t r0, int64_t r1) {
    (void)n;
    for (int64_t g = r0 / ZK_GROUP; g * ZK_GROUP < r1; g++) {
        const int64_t row0 = g * ZK_GROUP;
        const int i0 = r0 > row0 ? (int)(r0 - row0) : 0;
        const int i1 = r1 - row0 < ZK_GROUP ? (int)(r1 - row0) : ZK_GROUP;
        const uint8_t *gp = wp + g * nb * ZK_CELL_BYTES;
        /* one activation row at a time: the group's cells stay in L1 between rows */
        for (int64_t i = 0; i < m; i++) {
            const zoo_block_q8_act *xr = x + i * nb;
            float32x4_t s[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *cell = gp + b * ZK_CELL_BYTES;
                int32x4_t acc[4];
                block_sums(cell, xr[b].qs, acc);
                block_accumulate(cell, xr[b].d, acc, s);
            }
            float out[ZK_GROUP];
            for (int j = 0; j < 4; j++) vst1q_f32(out + 4 * j, s[j]);
            zk_store_rows(y + i * ldy, out, bias, row0, i0, i1);
        }
    }
}

const zk_ops zk_ops_neon = {
    .name = "neon",
    .quant_act = zk_quant_act_scalar,
    .quant_q8_0 = zk_quant_q8_0_scalar,
    .dot = dot,
    .gemm = gemm,
    .f16_to_f32 = zk_f16_to_f32_row_scalar,
    .f32_to_f16 = zk_f32_to_f16_row_scalar,
    .bf16_to_f32 = zk_bf16_to_f32_row_scalar,
    .f32_to_bf16 = zk_f32_to_bf16_row_scalar,
};
#endif
