/* Weight-only Q8_0: packed Q8_0 weights ("q8_0x16", zk_repack.c), f32 activations, f32 arithmetic.
   A Q8_0 value q * f16(d) is exact in f32 (8 + 11 significant bits; the smallest product, 2^-24, is
   normal), so the product is defined as zoo_f32_matmul on the dequantized weights, bit for bit:
   - M >= 2: each task dequantizes a block of weight rows into a per-thread f32 buffer (a few hundred
     KB: it stays in L2) and runs the f32 variant's own GEMM / GEMV on it, so the micro-kernels, and
     hence the bits, are those of zk_f32_*.c (one FMA chain per element, k ascending).
   - M == 1 (decode, memory-bound): a GEMV that reads the packed int8 bytes once and dequantizes in
     registers, in zoo_f32_gemv_ref's order (lane l = k mod 32 accumulates fmaf(x[k], w[k]) over
     k ascending, then the fixed halving tree). The 16-row cell holds, per 64-byte chunk c, positions
     4c .. 4c+3 of 16 rows, so lane l = 4c + t is chunk c, byte t: one vector per chunk is the lane
     set of a few rows, and no horizontal sum is needed until the end. 16 rows x 32 lanes do not fit
     in registers, so a group is walked in stretches of ZW_KB blocks (~9 KB, L1): the stretch comes
     from memory once, in the first pass, and the later passes over the other rows of the group
     read it from L1. */
#include "zk_internal.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define ZW_KB 16        /* blocks per stretch of the GEMV (16 x 544 B = 8.7 KB) */
#define ZW_BUF 65536    /* f32 values per dequantized block of rows for M >= 2 (256 KB) */

typedef struct {
    const char *name;
    /* y[row] for the rows of 16-row groups [g0, g1) (rows >= n skipped), zoo_f32_gemv_ref's order */
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

/* the halving tree of zoo_f32_gemv_ref on 32 lanes, then the bias */
static inline float tree32(float a[32], const float *bias, int64_t row) {
    for (int h = 16; h > 0; h /= 2)
        for (int l = 0; l < h; l++) a[l] = a[l] + a[l + h];
    return bias ? a[0] + bias[row] : a[0];
}

/* ---- plain C -------------------------------------------------------------------------------- */

static void gemv_scalar(const uint8_t *wp, int64_t n, int64_t nb, const float *x, const float *bias, float *y,
                        int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; g++)
        for (int r = 0; r < ZK_GROUP && g * ZK_GROUP + r < n; r++) {
            float a[32] = {0};
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *cell = cell_at(wp, nb, g, b);
                const float d = zk_f16_to_f32(scale_bits(cell, r));
                const float *xb = x + b * ZOO_QK8_0;
                for (int c = 0; c < 8; c++)
                    for (int t = 0; t < 4; t++) {
                        const float w = (float)(int8_t)(cell[32 + 64 * c + 4 * r + t] ^ 0x80u) * d;
                        a[4 * c + t] = fmaf(xb[4 * c + t], w, a[4 * c + t]);
                    }
            }
            y[g * ZK_GROUP + r] = tree32(a, bias, g * ZK_GROUP + r);
        }
}

static void dequant_scalar(const uint8_t *wp, int64_t nb, int64_t r0, int64_t r1, float *dst) {
    for (int64_t row = r0; row < r1; row++)
        zoo_q8_0_packed_dequantize_row(wp, r1, nb * ZOO_QK8_0, row, dst + (row - r0) * nb * ZOO_QK8_0);
}

static const zw_ops zw_scalar = {.name = "scalar", .gemv = gemv_scalar, .dequant = dequant_scalar};

#if ZK_X86
#include <immintrin.h>

/* ---- AVX2: 2 rows x 4 positions per ymm; 8 row pairs per group ----------------------------- */

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

ZK_AVX2 static void gemv_avx2(const uint8_t *wp, int64_t n, int64_t nb, const float *x, const float *bias,
                              float *y, int64_t g0, int64_t g1) {
    float part[8][8][8]; /* [pair][chunk][lane] partial sums between stretches */
    for (int64_t g = g0; g < g1; g++) {
        const int pairs = (int)((n - g * ZK_GROUP + 1) / 2 < 8 ? (n - g * ZK_GROUP + 1) / 2 : 8);
        for (int64_t b0 = 0; b0 < nb; b0 += ZW_KB) {
            const int64_t b1 = nb - b0 < ZW_KB ? nb : b0 + ZW_KB;
            for (int p = 0; p < pairs; p++) {
                __m256 acc[8];
                for (int c = 0; c < 8; c++) acc[c] = b0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(part[p][c]);
                for (int64_t b = b0; b < b1; b++) {
                    const uint8_t *cell = cell_at(wp, nb, g, b);
                    const __m256 d = pair_scales(cell, p);
                    const float *xb = x + b * ZOO_QK8_0;
                    for (int c = 0; c < 8; c++)
                        acc[c] = _mm256_fmadd_ps(_mm256_broadcast_ps((const __m128 *)(xb + 4 * c)),
                                                 pair_chunk(cell, p, c, d), acc[c]);
                }
                for (int c = 0; c < 8; c++) _mm256_storeu_ps(part[p][c], acc[c]);
            }
        }
        for (int p = 0; p < pairs; p++) {
            __m256 v[8];
            for (int c = 0; c < 8; c++) v[c] = _mm256_loadu_ps(part[p][c]);
            for (int c = 0; c < 4; c++) v[c] = _mm256_add_ps(v[c], v[c + 4]);
            for (int c = 0; c < 2; c++) v[c] = _mm256_add_ps(v[c], v[c + 2]);
            __m256 t = _mm256_add_ps(v[0], v[1]);
            t = _mm256_add_ps(t, _mm256_permute_ps(t, 0x0E));
            t = _mm256_add_ps(t, _mm256_permute_ps(t, 0x01));
            float out[8];
            _mm256_storeu_ps(out, t);
            for (int i = 0; i < 2 && g * ZK_GROUP + 2 * p + i < n; i++) {
                const int64_t row = g * ZK_GROUP + 2 * p + i;
                y[row] = bias ? out[4 * i] + bias[row] : out[4 * i];
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

/* zoo_f32_gemv_ref's tree on lane l = 4c + t of v[c] (lanes 4i + t of each vector: row i): the
   halvings 16, 8, 4 pair whole vectors, 2 and 1 pair lanes inside a row; lane 4i gets row i's sum */
ZW_AVX512 static inline __m512 tree_avx512(__m512 v[8]) {
    for (int c = 0; c < 4; c++) v[c] = _mm512_add_ps(v[c], v[c + 4]);
    for (int c = 0; c < 2; c++) v[c] = _mm512_add_ps(v[c], v[c + 2]);
    __m512 s = _mm512_add_ps(v[0], v[1]);
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0x0E)); /* lane t += lane t + 2 */
    return _mm512_add_ps(s, _mm512_permute_ps(s, 0x01)); /* lane 0 += lane 1 */
}

ZW_AVX512 static void gemv_avx512(const uint8_t *wp, int64_t n, int64_t nb, const float *x, const float *bias,
                                  float *y, int64_t g0, int64_t g1) {
    float part[4][8][16]; /* [quad][chunk][lane] */
    const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m128i flip = _mm_set1_epi8((char)0x80);
    for (int64_t g = g0; g < g1; g++) {
        const int64_t left = n - g * ZK_GROUP;
        const int quads = (int)((left + 3) / 4 < 4 ? (left + 3) / 4 : 4);
        for (int64_t b0 = 0; b0 < nb; b0 += ZW_KB) {
            const int64_t b1 = nb - b0 < ZW_KB ? nb : b0 + ZW_KB;
            for (int q = 0; q < quads; q++) {
                __m512 acc[8];
                for (int c = 0; c < 8; c++) acc[c] = b0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(part[q][c]);
                for (int64_t b = b0; b < b1; b++) {
                    const uint8_t *cell = cell_at(wp, nb, g, b);
                    if (q == 0 && b + 2 < nb) { /* the hardware prefetcher sees only a quarter of each line used */
                        _mm_prefetch((const char *)cell_at(wp, nb, g, b + 2), _MM_HINT_T0);
                        _mm_prefetch((const char *)cell_at(wp, nb, g, b + 2) + 256, _MM_HINT_T0);
                        _mm_prefetch((const char *)cell_at(wp, nb, g, b + 2) + 512, _MM_HINT_T0);
                    }
                    const __m512 d = _mm512_permutexvar_ps(
                        spread, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(cell + 8 * q)))));
                    const float *xb = x + b * ZOO_QK8_0;
                    for (int c = 0; c < 8; c++) {
                        const __m128i raw = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(cell + 32 + 64 * c + 16 * q)), flip);
                        const __m512 w = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(raw)), d);
                        acc[c] = _mm512_fmadd_ps(_mm512_broadcast_f32x4(_mm_loadu_ps(xb + 4 * c)), w, acc[c]);
                    }
                }
                for (int c = 0; c < 8; c++) _mm512_storeu_ps(part[q][c], acc[c]);
            }
        }
        for (int q = 0; q < quads; q++) {
            __m512 v[8];
            for (int c = 0; c < 8; c++) v[c] = _mm512_loadu_ps(part[q][c]);
            const __m512 r = tree_avx512(v);
            float out[16];
            _mm512_storeu_ps(out, r);
            for (int i = 0; i < 4 && 4 * q + i < left; i++) {
                const int64_t row = g * ZK_GROUP + 4 * q + i;
                y[row] = bias ? out[4 * i] + bias[row] : out[4 * i];
            }
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

/* ---- per-thread buffers: dequantized weight rows (every thread), packed x (the caller) -------- */

typedef struct {
    float *p;
    size_t cap; /* floats */
} zw_buf;
typedef struct {
    zw_buf rows, xp;
} zw_bufs;
static pthread_key_t bufs_key;
static pthread_once_t bufs_once = PTHREAD_ONCE_INIT;
static int bufs_key_ok;
static void free_bufs(void *v) {
    zw_bufs *b = (zw_bufs *)v;
    free(b->rows.p);
    free(b->xp.p);
    free(b);
}
static void make_bufs_key(void) { bufs_key_ok = pthread_key_create(&bufs_key, free_bufs) == 0; }

/* this thread's buffer `which` (0 rows, 1 xp) of at least `floats` floats, grown and kept; NULL if
   out of memory */
static float *thread_buffer(int which, size_t floats) {
    pthread_once(&bufs_once, make_bufs_key);
    if (!bufs_key_ok) return NULL;
    zw_bufs *b = (zw_bufs *)pthread_getspecific(bufs_key);
    if (!b) {
        b = (zw_bufs *)calloc(1, sizeof *b);
        if (!b || pthread_setspecific(bufs_key, b) != 0) {
            free(b);
            return NULL;
        }
    }
    zw_buf *g = which ? &b->xp : &b->rows;
    if (g->cap < floats) {
        float *p = (float *)aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        if (!p) return NULL;
        free(g->p);
        g->p = p;
        g->cap = floats;
    }
    return g->p;
}

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
    float *w = thread_buffer(0, (size_t)(rb * c->k));
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
        float *xp = thread_buffer(1, (size_t)(tiles * f32->x_tile * k));
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

int zoo_q8_0w_matmul_ref(const void *packed, int64_t n, int64_t k, const float *x, int64_t m, int64_t ldx,
                         const float *bias, float *y, int64_t ldy) {
    if (bad_args(n, k, m, ldx, ldy)) return ZOO_KERR_ARG;
    if (m == 0 || n == 0) return 0;
    float *w = (float *)malloc((size_t)(n * k > 0 ? n * k : 1) * sizeof(float));
    if (!w) return ZOO_KERR_NOMEM;
    for (int64_t row = 0; row < n; row++) zoo_q8_0_packed_dequantize_row(packed, n, k, row, w + row * k);
    const int rc = m == 1 ? zoo_f32_gemv_ref(w, n, k, x, bias, y) : zoo_f32_gemm_ref(w, n, k, x, m, ldx, bias, y, ldy);
    free(w);
    return rc;
}
