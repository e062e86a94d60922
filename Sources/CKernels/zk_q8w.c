/* Weight-only Q8_0: packed Q8_0 weights ("q8_0x16", zk_repack.c), f32 activations, f32 arithmetic.
   A Q8_0 value q * f16(d) is exact in f32 (8 + 11 significant bits; the smallest product, 2^-24, is
   normal), so "f32 on the dequantized weights" is a well-defined target:
   - M >= 2: bit for bit zoo_f32_matmul on the dequantized weights. Each task dequantizes a block of
     weight rows into a per-thread f32 buffer (~256 KB: it stays in L2) and runs the f32 variant's
     own GEMM / GEMV on it, so the micro-kernels, and hence the bits, are those of zk_f32_*.c.
   - M == 1 (decode, memory-bound): its own order, zoo_q8_0w_gemv_ref. Per row, 4 lanes t = 0..3;
     per block b, lane t first sums the block's 8 products x[32b + 4c + t] * q[32b + 4c + t] (q as
     f32, c ascending, an fmaf chain from +0), then adds that sum times the block's scale with one
     fmaf into its running total; at the end (t0 + t2) + (t1 + t3), then + bias. The scale is thus
     applied once per block and lane instead of once per weight: two vector operations per 16
     weights (convert, fused multiply-add) instead of three (convert, scale, fused multiply-add).
     Measured on this Zen 4 (one thread, 3072 x 768 weights): 26 GB/s of packed bytes from cache
     and 22.5 GB/s from memory, against 17.7 and 13.2 GB/s for zoo_f32_gemv_ref's order, whose 32
     lanes per row do not fit 16 rows in registers either. Packed cell layout: chunk c holds
     positions 4c .. 4c+3 of 16 rows, so the 16 bytes of 4 rows in one chunk are one vector of
     (row, t) lanes, and all 16 rows of a group advance together in one pass over its bytes.
     Error: at most K/32 + 11 roundings per term, |y - exact| <= (K/32 + 11) 2^-24 sum|x w| (+ bias). */
#include "zk_internal.h"
#include <math.h>
#include <stdlib.h>

#define ZW_BUF 65536    /* f32 values per dequantized block of rows for M >= 2 (256 KB) */

typedef struct {
    const char *name;
    /* y[row] for the rows of 16-row groups [g0, g1) (rows >= n skipped), zoo_q8_0w_gemv_ref's order */
    void (*gemv)(const uint8_t *wp, int64_t n, int64_t nb, const float *x, const float *bias, float *y,
                 int64_t g0, int64_t g1);
    /* rows [r0, r1) (r0 a multiple of 16) into dst, row-major with stride nb * 32 */
    void (*dequant)(const uint8_t *wp, int64_t nb, int64_t r0, int64_t r1, float *dst);
} zw_ops;

static inline const uint8_t *cell_at(const uint8_t *wp, int64_t nb, int64_t g, int64_t b) {
    return wp + (g * nb + b) * ZK_CELL_BYTES;
}

static inline uint16_t scale_bits(const uint8_t *cell, int r) {
    return (uint16_t)(cell[2 * r] | (cell[2 * r + 1] << 8));
}

/* the end of a row: lanes (t0 + t2) + (t1 + t3), then the bias */
static inline float finish(const float a[4], const float *bias, int64_t row) {
    const float s = (a[0] + a[2]) + (a[1] + a[3]);
    return bias ? s + bias[row] : s;
}

/* ---- plain C (also the reference's loop) ---------------------------------------------------- */

static void gemv_scalar(const uint8_t *wp, int64_t n, int64_t nb, const float *x, const float *bias, float *y,
                        int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; g++)
        for (int r = 0; r < ZK_GROUP && g * ZK_GROUP + r < n; r++) {
            float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *cell = cell_at(wp, nb, g, b);
                const float d = zk_f16_to_f32(scale_bits(cell, r));
                const float *xb = x + b * ZOO_QK8_0;
                for (int t = 0; t < 4; t++) {
                    float s = 0.0f;
                    for (int c = 0; c < 8; c++)
                        s = fmaf(xb[4 * c + t], (float)(int8_t)(cell[32 + 64 * c + 4 * r + t] ^ 0x80u), s);
                    a[t] = fmaf(s, d, a[t]);
                }
            }
            y[g * ZK_GROUP + r] = finish(a, bias, g * ZK_GROUP + r);
        }
}

static void dequant_scalar(const uint8_t *wp, int64_t nb, int64_t r0, int64_t r1, float *dst) {
    for (int64_t row = r0; row < r1; row++)
        zoo_q8_0_packed_dequantize_row(wp, r1, nb * ZOO_QK8_0, row, dst + (row - r0) * nb * ZOO_QK8_0);
}

static const zw_ops zw_scalar = {.name = "scalar", .gemv = gemv_scalar, .dequant = dequant_scalar};

#if ZK_X86
#include <immintrin.h>

/* ---- AVX2: GEMV 8 rows x 1 position per ymm; dequantization 2 rows x 4 positions ----------- */

ZK_AVX2 static inline __m256 pair_scales(const uint8_t *cell, int p) {
    int32_t s;
    memcpy(&s, cell + 4 * p, 4); /* rows 2p, 2p + 1 */
    const __m256 d2 = _mm256_castps128_ps256(_mm_cvtph_ps(_mm_cvtsi32_si128(s)));
    return _mm256_permutevar8x32_ps(d2, _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

/* rows 2p, 2p + 1, positions 4c .. 4c + 3 of a cell, dequantized (exact) */
ZK_AVX2 static inline __m256 pair_chunk(const uint8_t *cell, int p, int c, __m256 d) {
    const __m128i raw = _mm_xor_si128(_mm_loadl_epi64((const __m128i *)(cell + 32 + 64 * c + 8 * p)),
                                      _mm_set1_epi8((char)0x80));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(raw)), d);
}

/* Per cell, all 16 rows advance together over c = 0..7, so 8 independent fmadd chains (the
   reference's per-block sums s) progress side by side and hide the 4-cycle FMA latency (one pair's chain
   at a time is 8 x 4 = 32 cycles of latency per 64 bytes, which held an earlier loop at ~17 GB/s).
   Int8 to f32 in few operations: the 32 bytes of 8 rows in a chunk are loaded and unbiased (vpxor) at
   once, then one vpshufb per 8 weights puts each byte q into the top byte of a 32-bit lane, so vcvtdq2ps
   gives q * 2^24 (exact: 8 significant bits). A vector holds one position t of 8 rows (x[4c + t] is
   broadcast), so the 8 rows' scales multiply it as converted, with no per-row spreading. The
   block's sums s then carry a factor 2^24, which its scales d * 2^-24 (exact: d is an f16 value) take back
   out. This is bit for bit the reference when no intermediate is subnormal or overflows, which holds when
   each of the block's x is zero or of magnitude in [2^-103, 2^90] (block_scalable): then x, every product
   x q and every rounded partial sum is a multiple of 2^-126, so zero or normal (times 2^24 too), and at
   most 8 * 128 * 2^90 * 2^24 = 2^124; rounding commutes with exact scaling by 2^24 on normal numbers,
   zeros keep their signs, and (s 2^24)(d 2^-24) is s d exactly. (Under the default MXCSR tiny x would do
   too, as subnormal sums are then exact; the lower bound keeps the two paths equal under flush-to-zero.)
   Other blocks (NaN, infinities, huge or tiny values) shift q back down with vpsrad (one more operation
   per 8 weights) and use d itself. */

/* Are all 32 of a block's x zero or of magnitude in [2^-103, 2^90] (so no NaN, infinity or tiny value)? */
ZK_AVX2 static int block_scalable(const float *xb) {
    const __m256 lo = _mm256_set1_ps(0x1p-103f), hi = _mm256_set1_ps(0x1p90f), zero = _mm256_setzero_ps();
    const __m256 mag = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int i = 0; i < ZOO_QK8_0; i += 8) {
        const __m256 a = _mm256_and_ps(_mm256_loadu_ps(xb + i), mag);
        const __m256 in = _mm256_and_ps(_mm256_cmp_ps(a, lo, _CMP_GE_OQ), _mm256_cmp_ps(a, hi, _CMP_LE_OQ));
        ok = _mm256_and_ps(ok, _mm256_or_ps(in, _mm256_cmp_ps(a, zero, _CMP_EQ_OQ)));
    }
    return _mm256_movemask_ps(ok) == 0xff;
}

#define ZW_FLAGS 1024 /* blocks whose flags are computed once per call (K <= 32768); later ones per cell */

ZK_AVX2 static void gemv_avx2(const uint8_t *wp, int64_t n, int64_t nb, const float *x, const float *bias,
                              float *y, int64_t g0, int64_t g1) {
    uint8_t scalable[ZW_FLAGS];
    for (int64_t b = 0; b < nb && b < ZW_FLAGS; b++) scalable[b] = (uint8_t)block_scalable(x + b * ZOO_QK8_0);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const __m256 unscale = _mm256_set1_ps(0x1p-24f);
    /* control t: byte 4i + t of each 128-bit half (row i of the half's 4, position t) into the top byte
       of lane i, the rest zero; the 8 lanes are then the 8 rows of the 32 bytes, in order */
    __m256i top[4];
    for (int t = 0; t < 4; t++)
        top[t] = _mm256_setr_epi8(-128, -128, -128, (char)t, -128, -128, -128, (char)(4 + t), -128, -128, -128,
                                  (char)(8 + t), -128, -128, -128, (char)(12 + t), -128, -128, -128, (char)t,
                                  -128, -128, -128, (char)(4 + t), -128, -128, -128, (char)(8 + t), -128, -128,
                                  -128, (char)(12 + t));
    for (int64_t g = g0; g < g1; g++) {
        __m256 acc[2][4]; /* [h][t]: lanes rows 8h .. 8h + 7, position t */
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < 4; t++) acc[h][t] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *cell = cell_at(wp, nb, g, b);
            const float *xb = x + b * ZOO_QK8_0;
            __m256 s[2][4];
            for (int h = 0; h < 2; h++)
                for (int t = 0; t < 4; t++) s[h][t] = _mm256_setzero_ps();
            __m256 d[2] = {_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)cell)),          /* rows 0..7 */
                           _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(cell + 16)))}; /* rows 8..15 */
            if (b < ZW_FLAGS ? scalable[b] : block_scalable(xb)) {
                for (int c = 0; c < 8; c++)
                    for (int h = 0; h < 2; h++) {
                        const __m256i raw = _mm256_xor_si256(
                            _mm256_loadu_si256((const __m256i *)(cell + 32 + 64 * c + 32 * h)), flip);
                        for (int t = 0; t < 4; t++)
                            s[h][t] = _mm256_fmadd_ps(_mm256_broadcast_ss(xb + 4 * c + t),
                                                      _mm256_cvtepi32_ps(_mm256_shuffle_epi8(raw, top[t])), s[h][t]);
                    }
                d[0] = _mm256_mul_ps(d[0], unscale);
                d[1] = _mm256_mul_ps(d[1], unscale);
            } else {
                for (int c = 0; c < 8; c++)
                    for (int h = 0; h < 2; h++) {
                        const __m256i raw = _mm256_xor_si256(
                            _mm256_loadu_si256((const __m256i *)(cell + 32 + 64 * c + 32 * h)), flip);
                        for (int t = 0; t < 4; t++) {
                            const __m256i q = _mm256_srai_epi32(_mm256_shuffle_epi8(raw, top[t]), 24);
                            s[h][t] = _mm256_fmadd_ps(_mm256_broadcast_ss(xb + 4 * c + t), _mm256_cvtepi32_ps(q), s[h][t]);
                        }
                    }
            }
            for (int h = 0; h < 2; h++)
                for (int t = 0; t < 4; t++) acc[h][t] = _mm256_fmadd_ps(s[h][t], d[h], acc[h][t]);
        }
        for (int h = 0; h < 2; h++) {
            /* finish()'s (t0 + t2) + (t1 + t3) for 8 rows at once, then the bias */
            float out[8];
            _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(acc[h][0], acc[h][2]), _mm256_add_ps(acc[h][1], acc[h][3])));
            for (int i = 0; i < 8 && g * ZK_GROUP + 8 * h + i < n; i++) {
                const int64_t row = g * ZK_GROUP + 8 * h + i;
                y[row] = bias ? out[i] + bias[row] : out[i];
            }
        }
    }
}

/* whole groups at a time; the rows of the last group past r1 are dequantized into nothing */
ZK_AVX2 static void dequant_avx2(const uint8_t *wp, int64_t nb, int64_t r0, int64_t r1, float *dst) {
    const int64_t ld = nb * ZOO_QK8_0;
    for (int64_t g = r0 / ZK_GROUP; g * ZK_GROUP < r1; g++)
        for (int p = 0; p < 8; p++) {
            const int64_t row = g * ZK_GROUP + 2 * p;
            if (row >= r1) break;
            float *d0 = dst + (row - r0) * ld, *d1 = d0 + ld;
            const int both = row + 1 < r1;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *cell = cell_at(wp, nb, g, b);
                const __m256 d = pair_scales(cell, p);
                for (int c = 0; c < 8; c++) {
                    const __m256 v = pair_chunk(cell, p, c, d);
                    _mm_storeu_ps(d0 + b * ZOO_QK8_0 + 4 * c, _mm256_castps256_ps128(v));
                    if (both) _mm_storeu_ps(d1 + b * ZOO_QK8_0 + 4 * c, _mm256_extractf128_ps(v, 1));
                }
            }
        }
}

static const zw_ops zw_avx2 = {.name = "avx2", .gemv = gemv_avx2, .dequant = dequant_avx2};

/* ---- AVX-512: 4 rows x 4 positions per zmm; 4 row quads per group --------------------------- */

#define ZW_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma,f16c")))

ZW_AVX512 static void gemv_avx512(const uint8_t *wp, int64_t n, int64_t nb, const float *x, const float *bias,
                                  float *y, int64_t g0, int64_t g1) {
    const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m128i flip = _mm_set1_epi8((char)0x80);
    for (int64_t g = g0; g < g1; g++) {
        __m512 acc[4]; /* row quad q: lanes (row 4q + i, t) */
        for (int q = 0; q < 4; q++) acc[q] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *cell = cell_at(wp, nb, g, b);
            const float *xb = x + b * ZOO_QK8_0;
            __m512 xv[8]; /* x[4c .. 4c + 3] in every 128-bit lane */
            for (int c = 0; c < 8; c++) xv[c] = _mm512_broadcast_f32x4(_mm_loadu_ps(xb + 4 * c));
            const __m512 d16 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)cell)); /* 16 rows' scales */
            for (int q = 0; q < 4; q++) {
                __m512 s = _mm512_setzero_ps();
                for (int c = 0; c < 8; c++) {
                    const __m128i raw = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(cell + 32 + 64 * c + 16 * q)), flip);
                    s = _mm512_fmadd_ps(xv[c], _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(raw)), s);
                }
                const __m512 d = _mm512_permutexvar_ps(_mm512_add_epi32(spread, _mm512_set1_epi32(4 * q)), d16);
                acc[q] = _mm512_fmadd_ps(s, d, acc[q]);
            }
        }
        for (int q = 0; q < 4; q++) {
            float out[16];
            _mm512_storeu_ps(out, acc[q]);
            for (int i = 0; i < 4 && g * ZK_GROUP + 4 * q + i < n; i++)
                y[g * ZK_GROUP + 4 * q + i] = finish(out + 4 * i, bias, g * ZK_GROUP + 4 * q + i);
        }
    }
}

static const zw_ops zw_avx512 = {.name = "avx512", .gemv = gemv_avx512, .dequant = dequant_avx2};
#endif

/* follows the f32 variant, which follows the selected Q8 variant (ZOO_KERNEL, zoo_kernel_force) */
static const zw_ops *zw_current(void) {
#if ZK_X86
    const zk_f32_ops *f = zk_f32_current();
    if (f == &zk_f32_ops_avx512) return &zw_avx512;
    if (f == &zk_f32_ops_avx2) return &zw_avx2;
#endif
    return &zw_scalar;
}

const char *zoo_q8_0w_kernel_name(void) { return zw_current()->name; }

/* ---- the product ------------------------------------------------------------------------------ */

typedef struct {
    const zw_ops *ops;
    const zk_f32_ops *f32;
    const uint8_t *wp;
    const float *x, *xp, *bias;
    float *y;
    int64_t n, k, nb, m, ldx, ldy, unit, rows_per_block;
    int failed; /* a buffer could not be had (read after the run) */
} zw_ctx;

/* rows of dequantized weights per block: whole f32 panels (32 rows), ~ZW_BUF values */
static int64_t rows_per_block(int64_t k) {
    const int64_t r = ZW_BUF / k / ZK_F32_NR * ZK_F32_NR;
    return r < ZK_F32_NR ? ZK_F32_NR : r;
}

static void task(void *p, int t, int n_tasks) {
    zw_ctx *c = (zw_ctx *)p;
    int64_t n0, n1;
    zoo_split_range(c->n, c->unit, t, n_tasks, &n0, &n1);
    if (n0 >= n1) return;
    if (c->m == 1) {
        /* groups [n0 / 16, ceil(n1 / 16)); n0 is a multiple of 16 and n1 too unless it is n */
        c->ops->gemv(c->wp, n1, c->nb, c->x, c->bias, c->y, n0 / ZK_GROUP, (n1 + ZK_GROUP - 1) / ZK_GROUP);
        return;
    }
    const int64_t rb = c->rows_per_block;
    float *w = zk_thread_scratch(ZK_SCRATCH_Q8W_ROWS, (size_t)(rb * c->k));
    if (!w) { __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED); return; }
    for (int64_t j = n0; j < n1; j += rb) {
        const int64_t j1 = n1 - j < rb ? n1 : j + rb;
        c->ops->dequant(c->wp, c->nb, j, j1, w);
        const float *bias = c->bias ? c->bias + j : NULL;
        if (c->m <= ZK_F32_GEMV_MAX_M)
            c->f32->gemv(w, c->k, c->x, c->m, c->ldx, bias, c->y + j, c->ldy, 0, j1 - j);
        else c->f32->gemm(w, c->k, c->x, c->m, c->ldx, c->xp, bias, c->y + j, c->ldy, 0, j1 - j);
    }
}

static int bad_args(int64_t n, int64_t k, int64_t m, int64_t ldx, int64_t ldy) {
    return n < 0 || k < 0 || k % ZOO_QK8_0 != 0 || m < 0 || (m > 1 && (ldx < k || ldy < n));
}

static int run(zoo_pool *pool, const zw_ops *ops, const zk_f32_ops *f32, const void *packed, int64_t n, int64_t k,
               const float *x, int64_t m, int64_t ldx, const float *bias, float *y, int64_t ldy) {
    if (k == 0) { /* empty sums: y = +0 (+ bias) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) y[i * ldy + j] = bias ? 0.0f + bias[j] : 0.0f;
        return 0;
    }
    zw_ctx c = {.ops = ops, .f32 = f32, .wp = (const uint8_t *)packed, .x = x, .bias = bias, .y = y,
                .n = n, .k = k, .nb = k / ZOO_QK8_0, .m = m, .ldx = ldx, .ldy = ldy,
                .unit = m == 1 || m <= ZK_F32_GEMV_MAX_M ? ZK_GROUP : ZK_F32_NR, .rows_per_block = rows_per_block(k)};
    if (m > ZK_F32_GEMV_MAX_M && f32->x_tile > 0) {
        const int64_t tiles = (m + f32->x_tile - 1) / f32->x_tile;
        float *xp = zk_thread_scratch(ZK_SCRATCH_Q8W_X, (size_t)(tiles * f32->x_tile * k));
        if (!xp) return ZOO_KERR_NOMEM;
        f32->pack_x(x, ldx, m, k, xp, 0, tiles);
        c.xp = xp;
    }
    const int threads = zoo_pool_size(pool);
    const int64_t units = (n + c.unit - 1) / c.unit;
    /* as zoo_f32_matmul: a few tasks per thread, none with much more than 1 MB of weight bytes
       (tasks are claimed one at a time, so a preempted worker holds up little); small products
       stay on the caller */
    int64_t tasks = 1;
    if (threads > 1 && m * n * (k + 1) >= (1 << 16)) {
        tasks = 4 * (int64_t)threads;
        const int64_t by_size = n * k / (1 << 20);
        if (by_size > tasks) tasks = by_size < 4096 ? by_size : 4096;
    }
    if (tasks > units) tasks = units;
    if (tasks <= 1) task(&c, 0, 1);
    else zoo_pool_run(pool, task, &c, (int)tasks);
    return c.failed ? ZOO_KERR_NOMEM : 0;
}

int zoo_q8_0w_matmul(zoo_pool *pool, const void *packed, int64_t n, int64_t k, const float *x, int64_t m,
                     int64_t ldx, const float *bias, float *y, int64_t ldy) {
    if (bad_args(n, k, m, ldx, ldy)) return ZOO_KERR_ARG;
    if (m == 0 || n == 0) return 0;
    return run(pool, zw_current(), zk_f32_current(), packed, n, k, x, m, ldx, bias, y, ldy);
}

int zoo_q8_0w_gemv_ref(const void *packed, int64_t n, int64_t k, const float *x, const float *bias, float *y) {
    if (n < 0 || k < 0 || k % ZOO_QK8_0 != 0) return ZOO_KERR_ARG;
    gemv_scalar((const uint8_t *)packed, n, k / ZOO_QK8_0, x, bias, y, 0, (n + ZK_GROUP - 1) / ZK_GROUP);
    return 0;
}

int zoo_q8_0w_matmul_ref(const void *packed, int64_t n, int64_t k, const float *x, int64_t m, int64_t ldx,
                         const float *bias, float *y, int64_t ldy) {
    if (bad_args(n, k, m, ldx, ldy)) return ZOO_KERR_ARG;
    if (m == 0 || n == 0) return 0;
    if (m == 1) return zoo_q8_0w_gemv_ref(packed, n, k, x, bias, y);
    float *w = (float *)malloc((size_t)(n * k > 0 ? n * k : 1) * sizeof(float));
    if (!w) return ZOO_KERR_NOMEM;
    for (int64_t row = 0; row < n; row++) zoo_q8_0_packed_dequantize_row(packed, n, k, row, w + row * k);
    const int rc = zoo_f32_gemm_ref(w, n, k, x, m, ldx, bias, y, ldy);
    free(w);
    return rc;
}
