/* f32 GEMM / GEMV for AVX2 + FMA (ymm registers). Same structure and the same bits as the AVX-512
   variant (zk_f32_avx512.c): the GEMM packs 32 weight rows x ZK_F32_KC columns into a k-major panel
   and runs a 6 x 16 micro-kernel on each half of it; the GEMV transposes 8 x 8 tiles in registers.
   One lane = one output element, fused multiply-adds over k ascending. */
#include "zk_internal.h"
#if ZK_X86
#include <immintrin.h>

#define F32_AVX2 __attribute__((target("avx2,fma")))
#define MR 6 /* 6 x 2 accumulators + 2 panel vectors + 1 broadcast of the 16 ymm registers */
#define NR ZK_F32_NR

/* lanes [0, count) set, for maskload / maskstore */
F32_AVX2 static inline __m256i mask_first(int64_t count) {
    const int c = count >= 8 ? 8 : (int)count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* r[i] = row i of an 8 x 8 tile -> r[j] = column j */
F32_AVX2 static inline void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int p = 0; p < 4; p++) {
        t[2 * p] = _mm256_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm256_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* u[4h+c] lane L (128-bit) = column 4L+c of rows 4h .. 4h+3 */
    for (int h = 0; h < 2; h++) {
        u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

/* the 8 x 8 tile w[i, j] (i < rows, j < cols; the rest reads as 0) */
F32_AVX2 static inline void load_tile(__m256 r[8], const float *w, int64_t ldw, int rows, int64_t cols) {
    const __m256i km = mask_first(cols);
    for (int i = 0; i < 8; i++)
        r[i] = i < rows ? (cols >= 8 ? _mm256_loadu_ps(w + (int64_t)i * ldw) : _mm256_maskload_ps(w + (int64_t)i * ldw, km))
                        : _mm256_setzero_ps();
}

/* panel[kk * NR + j] = w[j, kk] for j < rows (<= NR), kk < kc; rows past `rows` are zero */
F32_AVX2 static void pack_panel(const float *w, int64_t ldw, int rows, int64_t kc, float *panel) {
    for (int g = 0; g < NR / 8; g++) {
        const int gr = rows - 8 * g;
        const float *wg = w + (int64_t)8 * g * ldw;
        for (int64_t k0 = 0; k0 < kc; k0 += 8) {
            __m256 r[8];
            const int64_t cols = kc - k0 < 8 ? kc - k0 : 8;
            if (gr <= 0) {
                for (int i = 0; i < 8; i++) r[i] = _mm256_setzero_ps();
            } else {
                load_tile(r, wg + k0, ldw, gr, cols);
                transpose8(r);
            }
            for (int j = 0; j < cols; j++) _mm256_store_ps(panel + (k0 + j) * NR + 8 * g, r[j]);
        }
    }
}

/* C[0..R, 0..nr) (+)= A[0..R, 0..kc) . panel (16 columns at stride NR); first: from 0; bias: add it */
#define KERNEL(R)                                                                                      \
    F32_AVX2 static void kernel_##R(int64_t kc, const float *a, int64_t lda, const float *panel,      \
                                    float *c, int64_t ldc, int nr, int first, const float *bias) {    \
        const __m256i m0 = mask_first(nr), m1 = mask_first(nr > 8 ? nr - 8 : 0);                      \
        __m256 acc0[R], acc1[R];                                                                      \
        for (int i = 0; i < R; i++) {                                                                 \
            acc0[i] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(c + i * ldc, m0);              \
            acc1[i] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(c + i * ldc + 8, m1);          \
        }                                                                                             \
        for (int64_t k = 0; k < kc; k++) {                                                            \
            const __m256 b0 = _mm256_load_ps(panel + k * NR), b1 = _mm256_load_ps(panel + k * NR + 8); \
            for (int i = 0; i < R; i++) {                                                             \
                const __m256 av = _mm256_broadcast_ss(a + i * lda + k);                               \
                acc0[i] = _mm256_fmadd_ps(av, b0, acc0[i]);                                           \
                acc1[i] = _mm256_fmadd_ps(av, b1, acc1[i]);                                           \
            }                                                                                         \
        }                                                                                             \
        if (bias) {                                                                                   \
            const __m256 bv0 = _mm256_maskload_ps(bias, m0), bv1 = _mm256_maskload_ps(bias + 8, m1);  \
            for (int i = 0; i < R; i++) {                                                             \
                acc0[i] = _mm256_add_ps(acc0[i], bv0);                                                \
                acc1[i] = _mm256_add_ps(acc1[i], bv1);                                                \
            }                                                                                         \
        }                                                                                             \
        for (int i = 0; i < R; i++) {                                                                 \
            _mm256_maskstore_ps(c + i * ldc, m0, acc0[i]);                                            \
            _mm256_maskstore_ps(c + i * ldc + 8, m1, acc1[i]);                                        \
        }                                                                                             \
    }
KERNEL(1) KERNEL(2) KERNEL(3) KERNEL(4) KERNEL(5) KERNEL(6)

typedef void (*kernel_fn)(int64_t, const float *, int64_t, const float *, float *, int64_t, int, int, const float *);
static const kernel_fn kernels[MR + 1] = {NULL, kernel_1, kernel_2, kernel_3, kernel_4, kernel_5, kernel_6};

/* Columns [n0, n1) of Y[M, N] = X W^T + bias, all M rows, one thread. Blocking: ZK_F32_NC weight
   rows x ZK_F32_KC columns packed at a time (L2), then ZK_F32_MC rows of x (L2) against each 32-row
   panel of it (L1). K blocks run in order and carry the partial sums in y, so the chain per element
   is unchanged. */
F32_AVX2 static void gemm(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx, const float *xp,
                            const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {
    (void)xp; /* x is read in place: with 6-row tiles, packing it did not pay (measured) */
    float *packed = zk_f32_panel_buffer();
    if (!packed) { zk_f32_ops_scalar.gemm(w, k, x, m, ldx, NULL, bias, y, ldy, n0, n1); return; }
    for (int64_t jc = n0; jc < n1; jc += ZK_F32_NC) {
        const int64_t jc1 = n1 - jc < ZK_F32_NC ? n1 : jc + ZK_F32_NC;
        for (int64_t k0 = 0; k0 < k; k0 += ZK_F32_KC) {
            const int64_t kc = k - k0 < ZK_F32_KC ? k - k0 : ZK_F32_KC;
            const int first = k0 == 0, last = k0 + kc == k;
            for (int64_t j = jc; j < jc1; j += NR) {
                const int nr = jc1 - j < NR ? (int)(jc1 - j) : NR;
                pack_panel(w + j * k + k0, k, nr, kc, packed + (j - jc) * ZK_F32_KC);
            }
            for (int64_t i0 = 0; i0 < m; i0 += ZK_F32_MC) {
                const int64_t i1 = m - i0 < ZK_F32_MC ? m : i0 + ZK_F32_MC;
                for (int64_t j = jc; j < jc1; j += NR) {
                    const int nr = jc1 - j < NR ? (int)(jc1 - j) : NR;
                    const float *panel = packed + (j - jc) * ZK_F32_KC;
                    for (int h = 0; h < NR / 16 && 16 * h < nr; h++) {
                        const int nh = nr - 16 * h < 16 ? nr - 16 * h : 16;
                        for (int64_t i = i0; i < i1; i += MR) {
                            const int mr = i1 - i < MR ? (int)(i1 - i) : MR;
                            kernels[mr](kc, x + i * ldx + k0, ldx, panel + 16 * h, y + i * ldy + j + 16 * h, ldy,
                                        nh, first, last && bias ? bias + j + 16 * h : NULL);
                        }
                    }
                }
            }
        }
    }
}

#define GEMV(R)                                                                                        \
    F32_AVX2 static void gemv_##R(const float *w, int64_t k, const float *x, int64_t ldx,             \
                                  const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {  \
        for (int64_t j = n0; j < n1; j += 8) {                                                         \
            const int rows = n1 - j < 8 ? (int)(n1 - j) : 8;                                           \
            const float *wj = w + j * k;                                                               \
            __m256 acc[R];                                                                             \
            for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();                                  \
            for (int64_t k0 = 0; k0 < k; k0 += 8) {                                                    \
                const int64_t cols = k - k0 < 8 ? k - k0 : 8;                                          \
                __m256 t[8];                                                                           \
                load_tile(t, wj + k0, k, rows, cols);                                                  \
                transpose8(t);                                                                         \
                for (int jj = 0; jj < cols; jj++)                                                      \
                    for (int r = 0; r < R; r++)                                                        \
                        acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + r * ldx + k0 + jj), t[jj], acc[r]); \
            }                                                                                          \
            const __m256i nm = mask_first(rows);                                                       \
            const __m256 bv = bias ? _mm256_maskload_ps(bias + j, nm) : _mm256_setzero_ps();           \
            for (int r = 0; r < R; r++)                                                                \
                _mm256_maskstore_ps(y + r * ldy + j, nm, bias ? _mm256_add_ps(acc[r], bv) : acc[r]);   \
        }                                                                                              \
    }
GEMV(1) GEMV(2) GEMV(3) GEMV(4)

F32_AVX2 static void gemv(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx,
                          const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {
    switch (m) {
    case 1: gemv_1(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    case 2: gemv_2(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    case 3: gemv_3(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    default: gemv_4(w, k, x, ldx, bias, y, ldy, n0, n1); break;
    }
}

const zk_f32_ops zk_f32_ops_avx2 = {.name = "avx2", .gemm = gemm, .gemv = gemv};
#endif
