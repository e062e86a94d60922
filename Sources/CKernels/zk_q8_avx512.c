/* The "avx512vnni" variant (AVX-512 F/BW/VL + VNNI): quantizers, the block dot product, GEMV and
   GEMM on the packed layout. Bit-identical to the scalar reference (see the contract in ckernels.h):
   integer block sums are exact whatever the instruction, and the f32 steps are the same three
   separately rounded operations per block, in block order, one vector lane per output row. */
#include "zk_internal.h"
#if ZK_X86
#include <immintrin.h>

void zk_f16_to_f32_row_avx512(const uint16_t *src, float *dst, int64_t n);
void zk_f32_to_f16_row_avx512(const float *src, uint16_t *dst, int64_t n);
void zk_bf16_to_f32_row_avx512(const uint16_t *src, float *dst, int64_t n);
void zk_f32_to_bf16_row_avx512(const float *src, uint16_t *dst, int64_t n);

static inline int32_t load_i32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* roundf as an integer: truncate v + copysign(0.49999997f, v). The addition rounds (to nearest even)
   exactly so that truncation gives round-half-away-from-zero; checked against roundf for every
   float with |v| < 2^23 by the harness (quants are within +-127.5). */
ZK_AVX512 static inline __m512i round_away_i32(__m512 v) {
    const __m512i half = _mm512_ternarylogic_epi32(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u),
                                                   _mm512_set1_epi32(0x3effffff), 0xEA); /* (v & sign) | half */
    return _mm512_cvttps_epi32(_mm512_add_ps(v, _mm512_castsi512_ps(half)));
}

/* Quantizers work on up to 16 blocks at a time in three passes, so that no block waits on its own
   chain of reduction -> two divisions -> rounding: (1) amax of each block, (2) the scales of all 16
   with vector divisions (the same IEEE operations as zk_block_scale, lane by lane), (3) the quants. */
ZK_AVX512 static inline uint32_t block_amax_bits(const float *x) {
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
    const __m512i a = _mm512_max_epu32(_mm512_and_si512(_mm512_loadu_si512(x), abs_mask),
                                       _mm512_and_si512(_mm512_loadu_si512(x + 16), abs_mask));
    return (uint32_t)_mm512_reduce_max_epu32(a);
}

/* zk_block_scale for 16 blocks: d, id, and the lanes whose quants are all zero */
ZK_AVX512 static inline __mmask16 block_scales16(const uint32_t amax_bits[16], float d_out[16], float id_out[16]) {
    const __m512i bits = _mm512_loadu_si512(amax_bits);
    const __m512i inf = _mm512_set1_epi32(0x7f800000);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(bits, inf), isinf = _mm512_cmpeq_epu32_mask(bits, inf);
    __m512 d = _mm512_div_ps(_mm512_castsi512_ps(bits), _mm512_set1_ps(127.0f));
    const __mmask16 nonzero = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    const __m512 inv = _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(1.0f), d);
    const __mmask16 ovf = _mm512_cmpge_epu32_mask(_mm512_and_si512(_mm512_castps_si512(inv), _mm512_set1_epi32(0x7fffffff)), inf);
    const __mmask16 zero = (__mmask16)(nan | isinf | ovf);
    d = _mm512_mask_mov_ps(d, nan, _mm512_castsi512_ps(_mm512_set1_epi32(0x7fc00000)));
    _mm512_storeu_ps(d_out, d);
    _mm512_storeu_ps(id_out, _mm512_maskz_mov_ps((__mmask16)~zero, inv));
    return zero;
}

ZK_AVX512 static inline int32_t quant_values(const float *x, float id, int zero, int8_t *qs) {
    if (zero) {
        memset(qs, 0, ZOO_QK8_0);
        return 0;
    }
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i q0 = round_away_i32(_mm512_mul_ps(_mm512_loadu_ps(x), vid));
    const __m512i q1 = round_away_i32(_mm512_mul_ps(_mm512_loadu_ps(x + 16), vid));
    /* saturating packs work per 128-bit lane; one dword permute restores the element order
       (values are within [-127, 127] already, so nothing saturates) */
    const __m512i p = _mm512_packs_epi16(_mm512_packs_epi32(q0, q1), _mm512_setzero_si512());
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm256_storeu_si256((__m256i *)qs, _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, p)));
    return _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
}

ZK_AVX512 static void quant_act(const float *x, zoo_block_q8_act *y, int64_t nb) {
    for (int64_t b0 = 0; b0 < nb; b0 += 16) {
        const int cnt = nb - b0 < 16 ? (int)(nb - b0) : 16;
        uint32_t amax[16] = {0};
        float d[16], id[16];
        for (int i = 0; i < cnt; i++) amax[i] = block_amax_bits(x + (b0 + i) * ZOO_QK8_0);
        const __mmask16 zero = block_scales16(amax, d, id);
        for (int i = 0; i < cnt; i++) {
            zoo_block_q8_act *blk = &y[b0 + i];
            blk->d = d[i];
            blk->c = -128 * quant_values(x + (b0 + i) * ZOO_QK8_0, id[i], (zero >> i) & 1, blk->qs);
        }
    }
}

ZK_AVX512 static void quant_q8_0(const float *x, zoo_block_q8_0 *y, int64_t nb) {
    for (int64_t b0 = 0; b0 < nb; b0 += 16) {
        const int cnt = nb - b0 < 16 ? (int)(nb - b0) : 16;
        uint32_t amax[16] = {0};
        float d[16], id[16];
        for (int i = 0; i < cnt; i++) amax[i] = block_amax_bits(x + (b0 + i) * ZOO_QK8_0);
        const __mmask16 zero = block_scales16(amax, d, id);
        for (int i = 0; i < cnt; i++) {
            y[b0 + i].d = zk_f32_to_f16(d[i]);
            quant_values(x + (b0 + i) * ZOO_QK8_0, id[i], (zero >> i) & 1, y[b0 + i].qs);
        }
    }
}

ZK_AVX512 static float dot(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t nb) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const __m256i wu = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)w[b].qs), flip); /* w + 128 */
        const __m256i xv = _mm256_loadu_si256((const __m256i *)x[b].qs);
        const __m256i acc = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, xv);
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        const int32_t isum = _mm_cvtsi128_si32(h) + x[b].c;
        const float t = x[b].d * zk_f16_to_f32(w[b].d);
        const float p = (float)isum * t;
        s = s + p;
    }
    return s;
}

/* lanes i0..i1-1 of a 16-row group: y = s (+ bias) */
ZK_AVX512 static inline void store_group(float *y, const float *bias, int64_t row0, int i0, int i1, __m512 s) {
    const __mmask16 k = (__mmask16)(((1u << i1) - 1u) & ~((1u << i0) - 1u));
    if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(k, bias + row0));
    _mm512_mask_storeu_ps(y + row0, k, s);
}

/* GEMV: one group of 16 rows, every block; four independent VPDPBUSD chains hide their latency */
ZK_AVX512 static inline __m512 gemv_group(const uint8_t *gp, int64_t nb, const zoo_block_q8_act *x) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = gp + b * ZK_CELL_BYTES;
        const int8_t *xq = x[b].qs;
        __m512i a0 = _mm512_set1_epi32(x[b].c), a1 = _mm512_setzero_si512();
        __m512i a2 = _mm512_setzero_si512(), a3 = _mm512_setzero_si512();
        a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(cell + 32), _mm512_set1_epi32(load_i32(xq)));
        a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(cell + 96), _mm512_set1_epi32(load_i32(xq + 4)));
        a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512(cell + 160), _mm512_set1_epi32(load_i32(xq + 8)));
        a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512(cell + 224), _mm512_set1_epi32(load_i32(xq + 12)));
        a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(cell + 288), _mm512_set1_epi32(load_i32(xq + 16)));
        a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(cell + 352), _mm512_set1_epi32(load_i32(xq + 20)));
        a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512(cell + 416), _mm512_set1_epi32(load_i32(xq + 24)));
        a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512(cell + 480), _mm512_set1_epi32(load_i32(xq + 28)));
        const __m512i acc = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
        const __m512 t = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)cell)), _mm512_set1_ps(x[b].d));
        s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_cvtepi32_ps(acc), t));
    }
    return s;
}

/* GEMM tile: NG (1 or 2) groups of 16 rows x MR activation rows, for every block. Each broadcast of 4
   activation bytes feeds NG VPDPBUSD and each weight vector is used MR times; one accumulator chain per
   (row, group), so MR * NG = 12 independent chains cover VPDPBUSD's latency (4 cycles).
   What bounds it (measured on this AMD EPYC, family 25 model 17, i.e. Zen 4, benchmarks/kernels/vnni_ports.c): a 512-bit VPDPBUSD issues once
   per cycle, and VMULPS zmm takes the same slot (VADDPS, VCVTDQ2PS, broadcast loads do not), so the
   contract's two multiplies per (row, block) cost 2 slots per 8 VPDPBUSD: at most 80% of the int8
   peak, 1.25 cycles per VPDPBUSD. With weights in cache this tile and the former one-group, 8-row tile
   both run at ~1.26. What is left is the weights' first pass from DRAM (a model is larger than L3):
   there the pairs run at 1.31-1.39 cycles against 1.40-1.43 for one group at a time (2-7%, q8_bench
   -k); software prefetch of the next pair (all at once or spread over the tiles) did not help.
   MR = 4, 5 are within noise of 6; 7 (and 8 with NG = 2) are slower. The correction c is the
   accumulator's start value and dx a broadcast operand, so nothing else joins the float step.
   always_inline + constant MR, NG keep everything in registers. */
#ifndef ZK_MR
#define ZK_MR 6
#endif
ZK_AVX512 __attribute__((always_inline)) static inline void
gemm_tile(const uint8_t *gp, int64_t gstride, int64_t nb, const zoo_block_q8_act *x, const int mr, const int ng,
          float *y, int64_t ldy, const float *bias, int64_t row0, int i0, int i1, int i1b) {
    __m512 s0[ZK_MR], s1[ZK_MR];
    for (int i = 0; i < mr; i++) s0[i] = s1[i] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = gp + b * ZK_CELL_BYTES, *cell1 = cell + gstride;
        __m512i a0[ZK_MR], a1[ZK_MR];
        for (int i = 0; i < mr; i++) {
            a0[i] = _mm512_set1_epi32(x[i * nb + b].c);
            if (ng == 2) a1[i] = a0[i];
        }
        for (int c = 0; c < 8; c++) {
            const __m512i w0 = _mm512_loadu_si512(cell + 32 + 64 * c);
            const __m512i w1 = ng == 2 ? _mm512_loadu_si512(cell1 + 32 + 64 * c) : w0;
            for (int i = 0; i < mr; i++) {
                const __m512i xb = _mm512_set1_epi32(load_i32(x[i * nb + b].qs + 4 * c));
                a0[i] = _mm512_dpbusd_epi32(a0[i], w0, xb);
                if (ng == 2) a1[i] = _mm512_dpbusd_epi32(a1[i], w1, xb);
            }
        }
        const __m512 dw0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)cell));
        const __m512 dw1 = ng == 2 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)cell1)) : dw0;
        for (int i = 0; i < mr; i++) {
            const __m512 xd = _mm512_set1_ps(x[i * nb + b].d);
            s0[i] = _mm512_add_ps(s0[i], _mm512_mul_ps(_mm512_cvtepi32_ps(a0[i]), _mm512_mul_ps(dw0, xd)));
            if (ng == 2) s1[i] = _mm512_add_ps(s1[i], _mm512_mul_ps(_mm512_cvtepi32_ps(a1[i]), _mm512_mul_ps(dw1, xd)));
        }
    }
    for (int i = 0; i < mr; i++) {
        store_group(y + i * ldy, bias, row0, i0, i1, s0[i]);
        if (ng == 2) store_group(y + i * ldy, bias, row0 + ZK_GROUP, 0, i1b, s1[i]);
    }
}

/* all m activation rows against NG groups starting at row0 */
ZK_AVX512 __attribute__((always_inline)) static inline void
gemm_groups(const uint8_t *gp, int64_t nb, const zoo_block_q8_act *x, int64_t m, const int ng, float *y,
            int64_t ldy, const float *bias, int64_t row0, int i0, int i1, int i1b) {
    const int64_t gs = nb * ZK_CELL_BYTES;
    int64_t i = 0;
    for (; i + ZK_MR <= m; i += ZK_MR) gemm_tile(gp, gs, nb, x + i * nb, ZK_MR, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b);
    switch (m - i) {
#if ZK_MR > 7
    case 7: gemm_tile(gp, gs, nb, x + i * nb, 7, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b); break;
#endif
#if ZK_MR > 6
    case 6: gemm_tile(gp, gs, nb, x + i * nb, 6, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b); break;
#endif
#if ZK_MR > 5
    case 5: gemm_tile(gp, gs, nb, x + i * nb, 5, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b); break;
#endif
    case 4: gemm_tile(gp, gs, nb, x + i * nb, 4, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b); break;
    case 3: gemm_tile(gp, gs, nb, x + i * nb, 3, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b); break;
    case 2: gemm_tile(gp, gs, nb, x + i * nb, 2, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b); break;
    case 1: gemm_tile(gp, gs, nb, x + i * nb, 1, ng, y + i * ldy, ldy, bias, row0, i0, i1, i1b); break;
    default: break;
    }
}

ZK_AVX512 static void gemm(const uint8_t *wp, int64_t n, int64_t nb, const zoo_block_q8_act *x, int64_t m,
                           const float *bias, float *y, int64_t ldy, int64_t r0, int64_t r1) {
    (void)n;
    for (int64_t g = r0 / ZK_GROUP; g * ZK_GROUP < r1;) {
        const int64_t row0 = g * ZK_GROUP;
        const int i0 = r0 > row0 ? (int)(r0 - row0) : 0;
        const int i1 = r1 - row0 < ZK_GROUP ? (int)(r1 - row0) : ZK_GROUP;
        const uint8_t *gp = wp + g * nb * ZK_CELL_BYTES;
        if (m == 1) {
            store_group(y, bias, row0, i0, i1, gemv_group(gp, nb, x));
            g++;
            continue;
        }
        if (r1 - row0 > ZK_GROUP) { /* a second group follows: pair them */
            const int i1b = r1 - row0 - ZK_GROUP < ZK_GROUP ? (int)(r1 - row0 - ZK_GROUP) : ZK_GROUP;
            gemm_groups(gp, nb, x, m, 2, y, ldy, bias, row0, i0, i1, i1b);
            g += 2;
        } else {
            gemm_groups(gp, nb, x, m, 1, y, ldy, bias, row0, i0, i1, 0);
            g++;
        }
    }
}

const zk_ops zk_ops_avx512 = {
    .name = "avx512vnni",
    .quant_act = quant_act,
    .quant_q8_0 = quant_q8_0,
    .dot = dot,
    .gemm = gemm,
    .f16_to_f32 = zk_f16_to_f32_row_avx512,
    .f32_to_f16 = zk_f32_to_f16_row_avx512,
    .bf16_to_f32 = zk_bf16_to_f32_row_avx512,
    .f32_to_bf16 = zk_f32_to_bf16_row_avx512,
};
#endif
