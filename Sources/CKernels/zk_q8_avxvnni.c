/* The "avxvnni" variant: 256-bit VPDPBUSD (VEX-encoded AVX-VNNI, on CPUs with AVX2 but without
   AVX-512, e.g. Intel Alder Lake and later client parts) on the packed layout, like the avx512vnni
   variant with 8-row halves of a group per register. Quantizers and conversions are the AVX2 ones.
   Bit-identical to the scalar reference.
   ZK_AVXVNNI_VIA_AVX512VL (harness only) builds the same code with the EVEX form so that a machine
   with AVX-512 VNNI but no AVX-VNNI can test it. */
#include "zk_internal.h"
#if ZK_X86
#include <immintrin.h>

#ifdef ZK_AVXVNNI_VIA_AVX512VL
#define ZK_VNNI256 __attribute__((target("avx512f,avx512vl,avx512vnni,avx2,fma,f16c")))
#define DPBUSD(acc, u, s) _mm256_dpbusd_epi32(acc, u, s)
#else
#define ZK_VNNI256 __attribute__((target("avxvnni,avx2,fma,f16c")))
#define DPBUSD(acc, u, s) _mm256_dpbusd_avx_epi32(acc, u, s)
#endif

static inline int32_t load_i32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

ZK_VNNI256 static float dot(const zoo_block_q8_0 *w, const zoo_block_q8_act *x, int64_t nb) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const __m256i wu = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)w[b].qs), flip); /* w + 128 */
        const __m256i acc = DPBUSD(_mm256_setzero_si256(), wu, _mm256_loadu_si256((const __m256i *)x[b].qs));
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

/* GEMV: one 16-row group as two 8-row halves, two accumulator chains per half */
ZK_VNNI256 static void gemv_group(const uint8_t *gp, int64_t nb, const zoo_block_q8_act *x, float out[16]) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = gp + b * ZK_CELL_BYTES;
        __m256i a0 = _mm256_set1_epi32(x[b].c), a1 = _mm256_setzero_si256();
        __m256i h0 = _mm256_set1_epi32(x[b].c), h1 = _mm256_setzero_si256();
        for (int c = 0; c < 8; c += 2) {
            const __m256i xb0 = _mm256_set1_epi32(load_i32(x[b].qs + 4 * c));
            const __m256i xb1 = _mm256_set1_epi32(load_i32(x[b].qs + 4 * c + 4));
            a0 = DPBUSD(a0, _mm256_loadu_si256((const __m256i *)(cell + 32 + 64 * c)), xb0);
            h0 = DPBUSD(h0, _mm256_loadu_si256((const __m256i *)(cell + 64 + 64 * c)), xb0);
            a1 = DPBUSD(a1, _mm256_loadu_si256((const __m256i *)(cell + 96 + 64 * c)), xb1);
            h1 = DPBUSD(h1, _mm256_loadu_si256((const __m256i *)(cell + 128 + 64 * c)), xb1);
        }
        const __m256 xd = _mm256_set1_ps(x[b].d);
        const __m256 t0 = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)cell)), xd);
        const __m256 t1 = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(cell + 16))), xd);
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(a0, a1)), t0));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(h0, h1)), t1));
    }
    _mm256_storeu_ps(out, s0);
    _mm256_storeu_ps(out + 8, s1);
}

/* GEMM tile: 8 rows (one half of a group) x MR activation rows */
#define ZK_MRV 6
ZK_VNNI256 __attribute__((always_inline)) static inline void
gemm_tile(const uint8_t *gp, int64_t nb, int half, const zoo_block_q8_act *x, int mr, float out[][16]) {
    __m256 s[ZK_MRV];
    for (int i = 0; i < mr; i++) s[i] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *cell = gp + b * ZK_CELL_BYTES;
        __m256i acc[ZK_MRV];
        for (int i = 0; i < mr; i++) acc[i] = _mm256_set1_epi32(x[i * nb + b].c);
        for (int c = 0; c < 8; c++) {
            const __m256i w = _mm256_loadu_si256((const __m256i *)(cell + 32 + 64 * c + 32 * half));
            for (int i = 0; i < mr; i++)
                acc[i] = DPBUSD(acc[i], w, _mm256_set1_epi32(load_i32(x[i * nb + b].qs + 4 * c)));
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(cell + 16 * half)));
        for (int i = 0; i < mr; i++) {
            const __m256 t = _mm256_mul_ps(dw, _mm256_set1_ps(x[i * nb + b].d));
            s[i] = _mm256_add_ps(s[i], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i]), t));
        }
    }
    for (int i = 0; i < mr; i++) _mm256_storeu_ps(out[i] + 8 * half, s[i]);
}

ZK_VNNI256 static void gemm(const uint8_t *wp, int64_t n, int64_t nb, const zoo_block_q8_act *x, int64_t m,
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
        for (int64_t i = 0; i < m; i += ZK_MRV) {
            float out[ZK_MRV][16];
            const int mr = m - i < ZK_MRV ? (int)(m - i) : ZK_MRV;
            for (int half = i0 < 8 ? 0 : 1; half <= (i1 > 8); half++) {
                switch (mr) {
                case 6: gemm_tile(gp, nb, half, x + i * nb, 6, out); break;
                case 5: gemm_tile(gp, nb, half, x + i * nb, 5, out); break;
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

const zk_ops zk_ops_avxvnni = {
    .name = "avxvnni",
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
