/* f32 GEMM / GEMV for AVX-512 (F + VL, FMA on zmm registers). Weights stay row-major [N, K], as the
   checkpoint stores them: the GEMM packs 32 rows x ZK_F32_KC columns at a time into a k-major panel
   on the stack (GotoBLAS style), the GEMV transposes 16 x 16 tiles in registers. Either way one vector
   lane holds one output element and adds x[m,k] * w[n,k] with a fused multiply-add for k = 0, 1, ...
   in order, which is the contract of ckernels.h: same bits as zoo_f32_matmul_ref for any M, split or
   thread count. */
#include "zk_internal.h"
#if ZK_X86
#include <immintrin.h>

#define F32_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define MR 12  /* rows of x per micro-kernel: 12 x 2 accumulators + 2 panel vectors + 1 broadcast */
#define NR ZK_F32_NR
_Static_assert(ZK_F32_MC % MR == 0, "x tiles must not straddle ZK_F32_MC blocks");

F32_AVX512 static inline __mmask16 mask_first(int64_t count) {
    return count >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << count) - 1u);
}

/* r[i] = row i of a 16 x 16 tile -> r[j] = column j (see the derivation in the comments). */
F32_AVX512 static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    /* t[2p] per 128-bit lane L: r2p[4L], r2p+1[4L], r2p[4L+1], r2p+1[4L+1]; t[2p+1] the +2, +3 pair */
    for (int p = 0; p < 8; p++) {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* u[4q+c] lane L = column 4L+c of rows 4q .. 4q+3 */
    __m512 u[16];
    for (int q = 0; q < 4; q++) {
        const __m512d a = _mm512_castps_pd(t[4 * q]), b = _mm512_castps_pd(t[4 * q + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * q + 2]), d = _mm512_castps_pd(t[4 * q + 3]);
        u[4 * q + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* column 4L+c = lane L of u[c], u[4+c], u[8+c], u[12+c] */
    for (int c = 0; c < 4; c++) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        const __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44), w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
}

/* Load the 16 x 16 tile w[row0 + i, k0 + j] (i < rows, j < cols; the rest reads as 0). */
F32_AVX512 static inline void load_tile(__m512 r[16], const float *w, int64_t ldw, int rows, int64_t cols) {
    if (rows == 16 && cols == 16) { /* the common case, without a test per row */
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(w + (int64_t)i * ldw);
        return;
    }
    const __mmask16 km = mask_first(cols);
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(km, w + (int64_t)i * ldw) : _mm512_setzero_ps();
}

/* panel[kk * NR + j] = w[j, kk] for j < rows (<= NR), kk < kc; rows past `rows` are zero. */
F32_AVX512 static void pack_panel(const float *w, int64_t ldw, int rows, int64_t kc, float *panel) {
    for (int g = 0; g < NR / 16; g++) {
        const int gr = rows - 16 * g;
        const float *wg = w + (int64_t)16 * g * ldw;
        for (int64_t k0 = 0; k0 < kc; k0 += 16) {
            __m512 r[16];
            const int64_t cols = kc - k0 < 16 ? kc - k0 : 16;
            if (gr <= 0) {
                for (int i = 0; i < 16; i++) r[i] = _mm512_setzero_ps();
            } else {
                load_tile(r, wg + k0, ldw, gr, cols);
                transpose16(r);
            }
            for (int j = 0; j < cols; j++) _mm512_store_ps(panel + (k0 + j) * NR + 16 * g, r[j]);
        }
    }
}

/* C[0..R, 0..nr) (+)= A . panel, A packed as a[k * MR + i] (row i < R, column k < kc); first: start from
   0, else from C; bias: add it (last K block). */
#define KERNEL(R)                                                                                     \
    F32_AVX512 static void kernel_##R(int64_t kc, const float *a, const float *panel,                \
                                      float *c, int64_t ldc, int nr, int first, const float *bias) { \
        const __mmask16 m0 = mask_first(nr), m1 = mask_first(nr > 16 ? nr - 16 : 0);                 \
        __m512 acc0[R], acc1[R];                                                                     \
        for (int i = 0; i < R; i++) {                                                                \
            acc0[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, c + i * ldc);          \
            acc1[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, c + i * ldc + 16);     \
        }                                                                                            \
        for (int64_t k = 0; k < kc; k++) {                                                           \
            const __m512 b0 = _mm512_load_ps(panel + k * NR), b1 = _mm512_load_ps(panel + k * NR + 16); \
            for (int i = 0; i < R; i++) {                                                            \
                const __m512 av = _mm512_set1_ps(a[k * MR + i]);                                     \
                acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);                                          \
                acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);                                          \
            }                                                                                        \
        }                                                                                            \
        __m512 bv0 = _mm512_setzero_ps(), bv1 = _mm512_setzero_ps();                                 \
        if (bias) { bv0 = _mm512_maskz_loadu_ps(m0, bias); bv1 = _mm512_maskz_loadu_ps(m1, bias + 16); } \
        for (int i = 0; i < R; i++) {                                                                \
            if (bias) { acc0[i] = _mm512_add_ps(acc0[i], bv0); acc1[i] = _mm512_add_ps(acc1[i], bv1); } \
            _mm512_mask_storeu_ps(c + i * ldc, m0, acc0[i]);                                         \
            _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc1[i]);                                    \
        }                                                                                            \
    }
KERNEL(1) KERNEL(2) KERNEL(3) KERNEL(4) KERNEL(5) KERNEL(6)
KERNEL(7) KERNEL(8) KERNEL(9) KERNEL(10) KERNEL(11) KERNEL(12)

typedef void (*kernel_fn)(int64_t, const float *, const float *, float *, int64_t, int, int, const float *);

/* x rows into MR-row tiles, k-major (layout in zk_internal.h), so that the micro-kernel reads one
   contiguous stream: 16 columns of a tile at a time, transposed, 12 lanes stored per column. Done
   once per product, before the weight panels are split between threads. */
F32_AVX512 static void pack_x(const float *x, int64_t ldx, int64_t m, int64_t k, float *xp, int64_t t0, int64_t t1) {
    const __mmask16 mr_mask = (__mmask16)((1u << MR) - 1u);
    const int64_t tiles = (m + MR - 1) / MR;
    for (int64_t k0 = 0; k0 < k; k0 += ZK_F32_KC) {
        const int64_t kc = k - k0 < ZK_F32_KC ? k - k0 : ZK_F32_KC;
        for (int64_t t = t0; t < t1; t++) {
            const int mr = m - t * MR < MR ? (int)(m - t * MR) : MR;
            float *dst = xp + k0 * tiles * MR + t * MR * kc;
            for (int64_t c0 = 0; c0 < kc; c0 += 16) {
                const int64_t cols = kc - c0 < 16 ? kc - c0 : 16;
                __m512 r[16];
                load_tile(r, x + t * MR * ldx + k0 + c0, ldx, mr, cols);
                transpose16(r);
                for (int j = 0; j < cols; j++) _mm512_mask_storeu_ps(dst + (c0 + j) * MR, mr_mask, r[j]);
            }
        }
    }
}

static const kernel_fn kernels[MR + 1] = {NULL, kernel_1, kernel_2, kernel_3, kernel_4, kernel_5, kernel_6,
                                          kernel_7, kernel_8, kernel_9, kernel_10, kernel_11, kernel_12};

/* Prefetches the next block of weights into L2 a little at a time while the current block computes:
   the packing reads short row segments (KC floats from each of NC rows) that the hardware prefetcher
   does not see coming, so without this every block would start with a wait on memory. */
typedef struct {
    const float *w;
    int64_t ldw, row, row_end, k0, lines, line, per_step;
} prefetcher;

static inline void prefetch_block(prefetcher *p, const float *w, int64_t ldw, int64_t r0, int64_t r1, int64_t k0,
                                  int64_t kc, int64_t steps) {
    p->w = w, p->ldw = ldw, p->row = r0, p->row_end = r1, p->k0 = k0, p->line = 0;
    p->lines = (kc + 15) / 16;
    const int64_t total = (r1 - r0) * p->lines;
    p->per_step = steps > 0 ? (total + steps - 1) / steps : total;
}

static inline void prefetch_step(prefetcher *p) {
    for (int64_t i = 0; i < p->per_step && p->row < p->row_end; i++) {
        _mm_prefetch((const char *)(p->w + p->row * p->ldw + p->k0 + 16 * p->line), _MM_HINT_T1);
        if (++p->line == p->lines) p->line = 0, p->row++;
    }
}

/* Columns [n0, n1) of Y[M, N] = X W^T + bias, all M rows, one thread. Blocking: ZK_F32_NC weight
   rows x ZK_F32_KC columns packed at a time (L2), then ZK_F32_MC rows of x (L2) against each 32-row
   panel of it (L1). K blocks run in order and carry the partial sums in y, so the chain per element
   is unchanged. */
F32_AVX512 static void gemm(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx, const float *xp,
                            const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {
    float *packed = zk_f32_panel_buffer();
    if (!packed) { zk_f32_ops_scalar.gemm(w, k, x, m, ldx, NULL, bias, y, ldy, n0, n1); return; }
    const int64_t tiles = (m + MR - 1) / MR;
    for (int64_t jc = n0; jc < n1; jc += ZK_F32_NC) {
        const int64_t jc1 = n1 - jc < ZK_F32_NC ? n1 : jc + ZK_F32_NC;
        for (int64_t k0 = 0; k0 < k; k0 += ZK_F32_KC) {
            const int64_t kc = k - k0 < ZK_F32_KC ? k - k0 : ZK_F32_KC;
            const int first = k0 == 0, last = k0 + kc == k;
            for (int64_t j = jc; j < jc1; j += NR) {
                const int nr = jc1 - j < NR ? (int)(jc1 - j) : NR;
                pack_panel(w + j * k + k0, k, nr, kc, packed + (j - jc) * ZK_F32_KC);
            }
            /* the block after this one: next K block of these rows, or the first of the next rows */
            const int64_t steps = (m + MR - 1) / MR * ((jc1 - jc + NR - 1) / NR);
            prefetcher pf;
            if (!last) prefetch_block(&pf, w, k, jc, jc1, k0 + kc, k - k0 - kc < ZK_F32_KC ? k - k0 - kc : ZK_F32_KC, steps);
            else prefetch_block(&pf, w, k, jc1, n1 - jc1 < ZK_F32_NC ? n1 : jc1 + ZK_F32_NC, 0, k < ZK_F32_KC ? k : ZK_F32_KC, steps);
            for (int64_t i0 = 0; i0 < m; i0 += ZK_F32_MC) {
                const int64_t i1 = m - i0 < ZK_F32_MC ? m : i0 + ZK_F32_MC;
                for (int64_t j = jc; j < jc1; j += NR) {
                    const int nr = jc1 - j < NR ? (int)(jc1 - j) : NR;
                    const float *panel = packed + (j - jc) * ZK_F32_KC;
                    for (int64_t i = i0; i < i1; i += MR) {
                        const int mr = i1 - i < MR ? (int)(i1 - i) : MR;
                        prefetch_step(&pf);
                        kernels[mr](kc, xp + k0 * tiles * MR + i * kc, panel, y + i * ldy + j, ldy, nr, first,
                                    last && bias ? bias + j : NULL);
                    }
                }
            }
        }
    }
}

/* Rows of x [R <= ZK_F32_GEMV_MAX_M, k] times w rows [n0, n1): 16 weight rows per step, their 16 x 16
   tiles transposed in registers so that lane i of an accumulator is output column n0 + i. */
#define GEMV(R)                                                                                       \
    F32_AVX512 static void gemv_##R(const float *w, int64_t k, const float *x, int64_t ldx,           \
                                    const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) { \
        for (int64_t j = n0; j < n1; j += 16) {                                                       \
            const int rows = n1 - j < 16 ? (int)(n1 - j) : 16;                                        \
            const float *wj = w + j * k;                                                              \
            __m512 acc[R];                                                                            \
            for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();                                 \
            for (int64_t k0 = 0; k0 < k; k0 += 16) {                                                  \
                const int64_t cols = k - k0 < 16 ? k - k0 : 16;                                       \
                __m512 t[16];                                                                         \
                load_tile(t, wj + k0, k, rows, cols);                                                 \
                transpose16(t);                                                                       \
                if (cols == 16) {                                                                     \
                    for (int jj = 0; jj < 16; jj++)                                                   \
                        for (int r = 0; r < R; r++)                                                   \
                            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r * ldx + k0 + jj]), t[jj], acc[r]); \
                } else {                                                                              \
                    for (int jj = 0; jj < cols; jj++)                                                 \
                        for (int r = 0; r < R; r++)                                                   \
                            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r * ldx + k0 + jj]), t[jj], acc[r]); \
                }                                                                                     \
            }                                                                                         \
            const __mmask16 nm = mask_first(rows);                                                    \
            const __m512 bv = bias ? _mm512_maskz_loadu_ps(nm, bias + j) : _mm512_setzero_ps();       \
            for (int r = 0; r < R; r++)                                                               \
                _mm512_mask_storeu_ps(y + r * ldy + j, nm, bias ? _mm512_add_ps(acc[r], bv) : acc[r]);  \
        }                                                                                             \
    }
GEMV(1) GEMV(2) GEMV(3) GEMV(4)

F32_AVX512 static void gemv(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx,
                            const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {
    switch (m) {
    case 1: gemv_1(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    case 2: gemv_2(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    case 3: gemv_3(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    default: gemv_4(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    }
}

const zk_f32_ops zk_f32_ops_avx512 = {.name = "avx512", .x_tile = MR, .pack_x = pack_x, .gemm = gemm, .gemv = gemv};
#endif
