/* The "avx2" variant (AVX2 + FMA + F16C; FMA is required only so the variant means "Haswell or later",
   no fused operation is used). int8 products use VPMADDUBSW, which multiplies unsigned by signed bytes
   and saturates pairs to int16; the offset-binary packed weights (w + 128 up to 255) could saturate,
   so each weight vector is turned back into w and the usual sign trick is applied:
   |w| (unsigned, <= 128) * (x with the sign of w) (<= 127) -> pairs <= 32512, no saturation.
   Bit-identical to the scalar reference, like every variant. */
#include "zk_internal.h"
#if ZK_X86
#include <immintrin.h>

static inline int32_t load_i32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* roundf as an integer: truncate v + copysign(0.49999997f, v) (see zk_q8_avx512.c for why it is exact) */
ZK_AVX2 static inline __m256i round_away_i32(__m256 v) {
    const __m256 half = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_castsi256_ps(_mm256_set1_epi32(0x3effffff)));
    return _mm256_cvttps_epi32(_mm256_add_ps(v, half));
}

ZK_AVX2 static inline int32_t hsum_i32(__m256i v) {
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

ZK_AVX2 static inline float quant_block(const float *x, int8_t *qs, int32_t *sum) {
    __m256 v[4];
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    __m256i a = _mm256_setzero_si256();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        a = _mm256_max_epu32(a, _mm256_and_si256(_mm256_castps_si256(v[i]), abs_mask));
    }
    __m128i h = _mm_max_epu32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0xb1));
    float id;
    int zero;
    const float d = zk_block_scale((uint32_t)_mm_cvtsi128_si32(h), &id, &zero);
    if (zero) {
        memset(qs, 0, ZOO_QK8_0);
        *sum = 0;
        return d;
    }
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; i++) q[i] = round_away_i32(_mm256_mul_ps(v[i], vid));
    *sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    /* packs work per 128-bit lane; the permute restores element order */
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256((__m256i *)qs, _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    return d;
}

ZK_AVX2 void zk_quant_act_avx2(const float *x, zoo_block_q8_act *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++) {
        int32_t s;
        y[b].d = quant_block(x + b * ZOO_QK8_0, y[b].qs, &s);
        y[b].c = -128 * s;
    }
}

ZK_AVX2 void zk_quant_q8_0_avx2(const float *x, zoo_block_q8_0 *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++) {
        int32_t s;
        y[b].d = zk_f32_to_f16(quant_block(x + b * ZOO_QK8_0, y[b].qs, &s));
    }
}

/* 8 lanes of 4 signed products each: w (signed) times x */
ZK_AVX2 static inline __m256i dot4(__m256i w, __m256i x, __m256i ones16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)), ones16);
}

ZK_AVX2 static float dot(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t nb) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)w[b].qs);
        const __m256i xv = _mm256_loadu_si256((const __m256i *)x[b].qs);
        const int32_t isum = hsum_i32(dot4(wv, xv, ones16));
        const float t = x[b].d * zk_f16_to_f32(w[b].d);
        const float p = (float)isum * t;
        s = s + p;
    }
    return s;
}

/* GEMV: one 16-row group (two 8-row halves), every block */
ZK_AVX2 static void gemv_group(const uint8_t *gp, int64_t nb, const zoo_block_q8_act *x, float out[16]) {
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones16 = _mm256_set1_epi16(1);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = gp + b * ZK_CELL_BYTES;
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++) {
            const __m256i xb = _mm256_set1_epi32(load_i32(x[b].qs + 4 * c));
            const __m256i w0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(cell + 32 + 64 * c)), flip);
            const __m256i w1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(cell + 64 + 64 * c)), flip);
            acc0 = _mm256_add_epi32(acc0, dot4(w0, xb, ones16));
            acc1 = _mm256_add_epi32(acc1, dot4(w1, xb, ones16));
        }
        const __m256 xd = _mm256_set1_ps(x[b].d);
        const __m256 t0 = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)cell)), xd);
        const __m256 t1 = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(cell + 16))), xd);
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(_mm256_cvtepi32_ps(acc0), t0));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(_mm256_cvtepi32_ps(acc1), t1));
    }
    _mm256_storeu_ps(out, s0);
    _mm256_storeu_ps(out + 8, s1);
}

/* GEMM tile: 8 rows (one half of a group) x MR activation rows */
#define ZK_MR2 4
ZK_AVX2 __attribute__((always_inline)) static inline void
gemm_tile(const uint8_t *gp, int64_t nb, int half, const zoo_block_q8_act *x, int mr, float out[][16]) {
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones16 = _mm256_set1_epi16(1);
    __m256 s[ZK_MR2];
    for (int i = 0; i < mr; i++) s[i] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = gp + b * ZK_CELL_BYTES;
        __m256i acc[ZK_MR2];
        for (int i = 0; i < mr; i++) acc[i] = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++) {
            const __m256i w = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(cell + 32 + 64 * c + 32 * half)), flip);
            const __m256i aw = _mm256_abs_epi8(w);
            for (int i = 0; i < mr; i++) {
                const __m256i xb = _mm256_set1_epi32(load_i32(x[i * nb + b].qs + 4 * c));
                acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xb, w)), ones16));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(cell + 16 * half)));
        for (int i = 0; i < mr; i++) {
            const __m256 t = _mm256_mul_ps(dw, _mm256_set1_ps(x[i * nb + b].d));
            s[i] = _mm256_add_ps(s[i], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i]), t));
        }
    }
    for (int i = 0; i < mr; i++) _mm256_storeu_ps(out[i] + 8 * half, s[i]);
}

ZK_AVX2 static void gemm(const uint8_t *wp, int64_t n, int64_t nb, const zoo_block_q8_act *x, int64_t m,
                         const float *bias, float *y, int64_t ldy, int64_t r0, int64_t r1) {
    (void)n;
    for (int64_t g = r0 / ZK_GROUP; g * ZK_GROUP < r1; g++) {
        const int64_t row0 = g * ZK_GROUP;
        const int i0 = r0 > row0 ? (int)(r0 - row0) : 0;
        const int i1 = r1 - row0 < ZK_GROUP ? (int)(r1 - row0) : ZK_GROUP;
        const uint8_t *gp = wp + g * nb * ZK_CELL_BYTES;
        if (m == 1) {
            float out[16];
            gemv_group(gp, nb, x, out);
            zk_store_rows(y, out, bias, row0, i0, i1);
            continue;
        }
        for (int64_t i = 0; i < m; i += ZK_MR2) {
            float out[ZK_MR2][16];
            const int mr = m - i < ZK_MR2 ? (int)(m - i) : ZK_MR2;
            const int need_hi = i1 > 8, need_lo = i0 < 8;
            for (int half = need_lo ? 0 : 1; half <= need_hi; half++) {
                switch (mr) {
                case 4: gemm_tile(gp, nb, half, x + i * nb, 4, out); break;
                case 3: gemm_tile(gp, nb, half, x + i * nb, 3, out); break;
                case 2: gemm_tile(gp, nb, half, x + i * nb, 2, out); break;
                default: gemm_tile(gp, nb, half, x + i * nb, 1, out); break;
                }
            }
            for (int j = 0; j < mr; j++) zk_store_rows(y + (i + j) * ldy, out[j], bias, row0, i0, i1);
        }
    }
}

const zk_ops zk_ops_avx2 = {
    .name = "avx2",
    .quant_act = zk_quant_act_avx2,
    .quant_q8_0 = zk_quant_q8_0_avx2,
    .dot = dot,
    .gemm = gemm,
    .f16_to_f32 = zk_f16_to_f32_row_avx2,
    .f32_to_f16 = zk_f32_to_f16_row_avx2,
    .bf16_to_f32 = zk_bf16_to_f32_row_avx2,
    .f32_to_bf16 = zk_f32_to_bf16_row_avx2,
};
#endif
