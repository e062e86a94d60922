/* f16 and bf16 <-> f32: scalar definitions (the reference) and SIMD row variants that must match them
   bit for bit (checked exhaustively over all 2^16 / 2^32 inputs by the harness in the tests). */
#include "zk_internal.h"
#if ZK_X86
#include <immintrin.h>
#endif

uint16_t zk_f32_to_f16(float f) {
    const uint32_t x = zk_f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu)); /* NaN: quiet, top payload */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                          /* >= 65520 rounds to inf */
    if (ax >= 0x38800000u) {                                                           /* normal f16 */
        const uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);                            /* RNE on the 13 dropped bits */
        return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
    }
    if (ax < 0x33000000u) return sign; /* below 2^-25: rounds to zero */
    /* f16 subnormal: round(value / 2^-24), value = mant * 2^(e-150), so shift by 126 - e (14..24) */
    const uint32_t e = ax >> 23;
    const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;
    uint32_t q = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

static inline float bf16_to_f32(uint16_t h) { return zk_bits_f32((uint32_t)h << 16); }

static inline uint16_t f32_to_bf16(float f) {
    const uint32_t u = zk_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64u); /* NaN: force quiet */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float zoo_f16_to_f32(uint16_t h) { return zk_f16_to_f32(h); }
uint16_t zoo_f32_to_f16(float f) { return zk_f32_to_f16(f); }
float zoo_bf16_to_f32(uint16_t h) { return bf16_to_f32(h); }
uint16_t zoo_f32_to_bf16(float f) { return f32_to_bf16(f); }

void zk_f16_to_f32_row_scalar(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = zk_f16_to_f32(src[i]);
}
void zk_f32_to_f16_row_scalar(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = zk_f32_to_f16(src[i]);
}
/* bf16 rows are simple integer maps; the compiler vectorizes these bodies for each target */
static inline void bf16_to_f32_body(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)src[i] << 16;
        memcpy(dst + i, &u, 4);
    }
}
static inline void f32_to_bf16_body(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, src + i, 4);
        const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        const uint32_t quiet = (u >> 16) | 64u;
        dst[i] = (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
    }
}
void zk_bf16_to_f32_row_scalar(const uint16_t *src, float *dst, int64_t n) { bf16_to_f32_body(src, dst, n); }
void zk_f32_to_bf16_row_scalar(const float *src, uint16_t *dst, int64_t n) { f32_to_bf16_body(src, dst, n); }

#if ZK_X86
ZK_AVX2 void zk_f16_to_f32_row_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    zk_f16_to_f32_row_scalar(src + i, dst + i, n - i);
}
ZK_AVX2 void zk_f32_to_f16_row_avx2(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    zk_f32_to_f16_row_scalar(src + i, dst + i, n - i);
}
ZK_AVX2 void zk_bf16_to_f32_row_avx2(const uint16_t *src, float *dst, int64_t n) { bf16_to_f32_body(src, dst, n); }
ZK_AVX2 void zk_f32_to_bf16_row_avx2(const float *src, uint16_t *dst, int64_t n) { f32_to_bf16_body(src, dst, n); }

ZK_AVX512 void zk_f16_to_f32_row_avx512(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    zk_f16_to_f32_row_scalar(src + i, dst + i, n - i);
}
ZK_AVX512 void zk_f32_to_f16_row_avx512(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    zk_f32_to_f16_row_scalar(src + i, dst + i, n - i);
}
ZK_AVX512 void zk_bf16_to_f32_row_avx512(const uint16_t *src, float *dst, int64_t n) { bf16_to_f32_body(src, dst, n); }
ZK_AVX512 void zk_f32_to_bf16_row_avx512(const float *src, uint16_t *dst, int64_t n) { f32_to_bf16_body(src, dst, n); }
#endif

/* public row entry points: the selected variant */
void zoo_f16_to_f32_row(const uint16_t *src, float *dst, int64_t n) { if (n > 0) zk_current()->f16_to_f32(src, dst, n); }
void zoo_f32_to_f16_row(const float *src, uint16_t *dst, int64_t n) { if (n > 0) zk_current()->f32_to_f16(src, dst, n); }
void zoo_bf16_to_f32_row(const uint16_t *src, float *dst, int64_t n) { if (n > 0) zk_current()->bf16_to_f32(src, dst, n); }
void zoo_f32_to_bf16_row(const float *src, uint16_t *dst, int64_t n) { if (n > 0) zk_current()->f32_to_bf16(src, dst, n); }
