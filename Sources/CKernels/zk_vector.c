/* f32 vector kernels for the parts of a transformer around the matrix products: GELU, layer
   norm, softmax, residual adds and attention. The bodies (zk_vector_body.h, zk_attention_body.h)
   are plain C compiled here once per instruction set; the variant follows the Q8 kernels' choice
   (zk_current, so ZOO_KERNEL forces both). The threaded entry points split work over the pool
   in tasks whose results do not depend on the split. */
#include "zk_internal.h"
#include <math.h>

/* How the attention bodies read an f16 KV cache element (see zk_attention_kv.h). The plain build
   decodes the bits with zk_f16_to_f32 (baseline x86-64 has no conversion instruction, and a
   _Float16 cast would call a runtime helper); the AVX2/AVX-512 builds read _Float16, which clang
   widens with VCVTPH2PS (F16C) inside the vectorized loops. Both are exact and give the same
   value for every input (signalling NaNs quieted alike). may_alias: the cache is written as
   uint16_t. */
#define ZKA_HALF_PLAIN uint16_t
#define ZKA_HALF_PLAIN_LOAD(x) zk_f16_to_f32(x)
#if ZK_X86
typedef _Float16 __attribute__((may_alias)) zk_half;
#define ZKA_HALF_F16C zk_half
#define ZKA_HALF_F16C_LOAD(x) ((float)(x))
#endif

typedef struct {
    void (*gelu_tanh)(float *x, int64_t n);
    void (*gelu_erf)(float *x, int64_t n);
    void (*add)(float *y, const float *x, int64_t n);
    void (*layer_norm_row)(const float *x, int64_t c, const float *w, const float *b, float eps, float *y);
    void (*softmax)(float *x, int64_t n);
    void (*head_rows)(const float *q, int64_t ldq, const float *kt, int64_t ldkt, const float *v, int64_t ldv,
                      int64_t t, int64_t s, int64_t d, int causal, float scale, int64_t i0, int64_t i1,
                      float *scores, float *out, int64_t ldo);
    void (*head_rows_f16)(const float *q, int64_t ldq, const uint16_t *kt, int64_t ldkt, const uint16_t *v, int64_t ldv,
                          int64_t t, int64_t s, int64_t d, int causal, float scale, int64_t i0, int64_t i1,
                          float *scores, float *out, int64_t ldo);
    void (*dot_rows)(const float *w, int64_t k, const float *x, const float *bias, float *y, int64_t r0, int64_t r1);
} zk_vec_ops;

#define ZKV_OPS(suffix)                                                                                     \
    static const zk_vec_ops zk_vec_ops_##suffix = {                                                        \
        .gelu_tanh = zkv_gelu_tanh_##suffix, .gelu_erf = zkv_gelu_erf_##suffix, .add = zkv_add_##suffix,    \
        .layer_norm_row = zkv_layer_norm_row_##suffix, .softmax = zkv_softmax_##suffix,                     \
        .head_rows = zka_head_rows_##suffix, .head_rows_f16 = zka_head_rows_f16_##suffix,                 \
        .dot_rows = zkv_dot_rows_##suffix}

/* plain C: baseline instruction set, unfused multiply-add */
#define ZKV_NAME(f) f##_generic
#define ZKV_ATTR
#define ZKV_FMA(a, b, c) ((a) * (b) + (c))
#define ZKV_BLOCK 32
#define ZKA_HALF ZKA_HALF_PLAIN
#define ZKA_HALF_LOAD ZKA_HALF_PLAIN_LOAD
#include "zk_vector_body.h"
#include "zk_attention_kv.h"
ZKV_OPS(generic);
#undef ZKA_HALF
#undef ZKA_HALF_LOAD
#undef ZKV_NAME
#undef ZKV_ATTR
#undef ZKV_FMA
#undef ZKV_BLOCK

#if ZK_X86
#define ZKV_NAME(f) f##_avx2
#define ZKV_ATTR ZK_AVX2
#define ZKV_FMA(a, b, c) fmaf(a, b, c)
#define ZKV_BLOCK 32 /* 2 rows x 32 lanes = 8 of the 16 ymm registers */
#define ZKA_HALF ZKA_HALF_F16C
#define ZKA_HALF_LOAD ZKA_HALF_F16C_LOAD
#include "zk_vector_body.h"
#include "zk_attention_kv.h"
ZKV_OPS(avx2);
#undef ZKV_NAME
#undef ZKV_ATTR
#undef ZKV_BLOCK
#define ZKV_BLOCK 64 /* 2 rows x 64 lanes = 8 of the 32 zmm registers */

#define ZKV_NAME(f) f##_avx512
#define ZKV_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"), min_vector_width(512)))
#include "zk_vector_body.h"
#include "zk_attention_kv.h"
ZKV_OPS(avx512);
#undef ZKV_NAME
#undef ZKV_ATTR
#undef ZKV_FMA
#undef ZKV_BLOCK
#undef ZKA_HALF
#undef ZKA_HALF_LOAD
#endif

static const zk_vec_ops *vec_ops(void) {
#if ZK_X86
    const zk_ops *o = zk_current();
    if (o == &zk_ops_avx512) return &zk_vec_ops_avx512;
    if (o == &zk_ops_avx2 || o == &zk_ops_avxvnni) return &zk_vec_ops_avx2;
#endif
    return &zk_vec_ops_generic;
}

/* The f32 matrix-vector product of a decode step (zk_f32_gemm.c routes M == 1 here), rows [r0, r1). */
void zk_f32_dot_rows(const float *w, int64_t k, const float *x, const float *bias, float *y, int64_t r0, int64_t r1) {
    vec_ops()->dot_rows(w, k, x, bias, y, r0, r1);
}

/* The same order as plain loops with fmaf: the reference every variant's fused build matches. */
int zoo_f32_gemv_ref(const float *w, int64_t n, int64_t k, const float *x, const float *bias, float *y) {
    if (n < 0 || k < 0) return ZOO_KERR_ARG;
    for (int64_t r = 0; r < n; r++) {
        float acc[32] = {0};
        for (int64_t p = 0; p < k; p++) acc[p % 32] = fmaf(x[p], w[r * k + p], acc[p % 32]);
        for (int h = 16; h > 0; h /= 2)
            for (int l = 0; l < h; l++) acc[l] = acc[l] + acc[l + h];
        y[r] = bias ? acc[0] + bias[r] : acc[0];
    }
    return 0;
}

/* ---- element-wise, split in 64-element-aligned chunks ---------------------------------------- */

typedef struct {
    const zk_vec_ops *ops;
    int which; /* 0 gelu_tanh, 1 gelu_erf, 2 add */
    float *y;
    const float *x;
    int64_t n;
} ew_ctx;

static void ew_task(void *p, int task, int n_tasks) {
    const ew_ctx *c = (const ew_ctx *)p;
    int64_t i0, i1;
    zoo_split_range(c->n, 64, task, n_tasks, &i0, &i1);
    if (i0 >= i1) return;
    switch (c->which) {
    case 0: c->ops->gelu_tanh(c->y + i0, i1 - i0); break;
    case 1: c->ops->gelu_erf(c->y + i0, i1 - i0); break;
    default: c->ops->add(c->y + i0, c->x + i0, i1 - i0); break;
    }
}

static void ew_run(zoo_pool *pool, int which, float *y, const float *x, int64_t n, int64_t grain) {
    if (n <= 0) return;
    ew_ctx c = {.ops = vec_ops(), .which = which, .y = y, .x = x, .n = n};
    int64_t tasks = zoo_pool_size(pool);
    if (tasks > n / grain) tasks = n / grain;
    if (tasks <= 1) ew_task(&c, 0, 1);
    else zoo_pool_run(pool, ew_task, &c, (int)tasks);
}

void zoo_f32_gelu_tanh(zoo_pool *pool, float *x, int64_t n) { ew_run(pool, 0, x, NULL, n, 4096); }
void zoo_f32_gelu_erf(zoo_pool *pool, float *x, int64_t n) { ew_run(pool, 1, x, NULL, n, 4096); }
void zoo_f32_add(zoo_pool *pool, float *y, const float *x, int64_t n) { ew_run(pool, 2, y, x, n, 32768); }

/* ---- layer norm, split by rows ------------------------------------------------------------------ */

typedef struct {
    const zk_vec_ops *ops;
    const float *x, *w, *b;
    float *y;
    int64_t rows, cols, ldx, ldy;
    float eps;
} ln_ctx;

static void ln_task(void *p, int task, int n_tasks) {
    const ln_ctx *c = (const ln_ctx *)p;
    int64_t r0, r1;
    zoo_split_range(c->rows, 1, task, n_tasks, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) c->ops->layer_norm_row(c->x + r * c->ldx, c->cols, c->w, c->b, c->eps, c->y + r * c->ldy);
}

int zoo_f32_layer_norm(zoo_pool *pool, const float *x, int64_t rows, int64_t cols, int64_t ldx,
                       const float *w, const float *b, float eps, float *y, int64_t ldy) {
    if (rows < 0 || cols <= 0 || (rows > 1 && (ldx < cols || ldy < cols))) return ZOO_KERR_ARG;
    if (rows == 0) return 0;
    ln_ctx c = {.ops = vec_ops(), .x = x, .w = w, .b = b, .y = y, .rows = rows, .cols = cols, .ldx = ldx, .ldy = ldy, .eps = eps};
    int64_t tasks = zoo_pool_size(pool);
    if (tasks > rows) tasks = rows;
    if (rows * cols < 8192) tasks = 1; /* one decode row: quicker than a hand-off */
    if (tasks <= 1) ln_task(&c, 0, 1);
    else zoo_pool_run(pool, ln_task, &c, (int)tasks);
    return 0;
}

void zoo_f32_softmax(float *x, int64_t n) { vec_ops()->softmax(x, n); }

/* ---- attention: work items are (head, block of 16 query rows), in at most ZKA_TASKS tasks ------ */

#define ZKA_ROWS 16  /* query rows per work item */
#define ZKA_TASKS 64 /* tasks per call: plenty to balance a few threads, and it bounds the scratch */

typedef struct {
    const zk_vec_ops *ops;
    const float *q;
    const void *kt, *v; /* float, or uint16_t (f16) when f16 */
    float *out, *scratch;
    int64_t ldq, ldkt, ldv, ldo, t, s, heads, d, blocks, items;
    int causal, f16;
    float scale;
} attn_ctx;

/* Task i takes the contiguous work items [items*i/n, items*(i+1)/n) and score rows slot i. */
static void attn_task(void *p, int task, int n_tasks) {
    const attn_ctx *c = (const attn_ctx *)p;
    int64_t w0, w1;
    zoo_split_range(c->items, 1, task, n_tasks, &w0, &w1);
    float *scores = c->scratch + (int64_t)task * 2 * c->s;
    for (int64_t w = w0; w < w1; w++) {
        const int64_t h = w / c->blocks, blk = w % c->blocks;
        const int64_t i0 = blk * ZKA_ROWS, i1 = i0 + ZKA_ROWS < c->t ? i0 + ZKA_ROWS : c->t;
        const int64_t col = h * c->d;
        if (c->f16)
            c->ops->head_rows_f16(c->q + col, c->ldq, (const uint16_t *)c->kt + col * c->ldkt, c->ldkt,
                                  (const uint16_t *)c->v + col, c->ldv, c->t, c->s, c->d, c->causal, c->scale, i0, i1,
                                  scores, c->out + col, c->ldo);
        else
            c->ops->head_rows(c->q + col, c->ldq, (const float *)c->kt + col * c->ldkt, c->ldkt, (const float *)c->v + col,
                              c->ldv, c->t, c->s, c->d, c->causal, c->scale, i0, i1, scores, c->out + col, c->ldo);
    }
}

static int64_t attn_tasks(int64_t t, int64_t heads) {
    const int64_t items = heads * ((t + ZKA_ROWS - 1) / ZKA_ROWS);
    return items < ZKA_TASKS ? items : ZKA_TASKS;
}

size_t zoo_f32_attention_scratch(int64_t t, int64_t s, int64_t heads) {
    if (t <= 0 || s <= 0 || heads <= 0 || heads > INT32_MAX || t > INT32_MAX || s > INT64_MAX / 2 / ZKA_TASKS) return 0;
    return (size_t)attn_tasks(t, heads) * 2 * (size_t)s;
}

static int attention(zoo_pool *pool, const float *q, int64_t ldq, const void *kt, int64_t ldkt, const void *v,
                     int64_t ldv, int64_t t, int64_t s, int64_t heads, int64_t d, int causal, float *out, int64_t ldo,
                     float *scratch, int f16) {
    /* causal: the T queries are the last T of the S positions, so S >= T; otherwise any S >= 1 */
    if (t < 0 || s < 1 || (causal && s < t) || heads <= 0 || d <= 0 || heads > INT32_MAX || t > INT32_MAX ||
        heads > INT64_MAX / d || ldq < heads * d || ldkt < s || ldv < heads * d || ldo < heads * d)
        return ZOO_KERR_ARG;
    if (t == 0) return 0;
    attn_ctx c = {.ops = vec_ops(), .q = q, .kt = kt, .v = v, .out = out, .scratch = scratch, .ldq = ldq,
                  .ldkt = ldkt, .ldv = ldv, .ldo = ldo, .t = t, .s = s, .heads = heads, .d = d,
                  .blocks = (t + ZKA_ROWS - 1) / ZKA_ROWS, .causal = causal, .f16 = f16, .scale = 1.0f / sqrtf((float)d)};
    c.items = heads * c.blocks;
    zoo_pool_run(pool, attn_task, &c, (int)attn_tasks(t, heads));
    return 0;
}

int zoo_f32_attention(zoo_pool *pool, const float *q, int64_t ldq, const float *kt, int64_t ldkt,
                      const float *v, int64_t ldv, int64_t t, int64_t s, int64_t heads, int64_t d,
                      int causal, float *out, int64_t ldo, float *scratch) {
    return attention(pool, q, ldq, kt, ldkt, v, ldv, t, s, heads, d, causal, out, ldo, scratch, 0);
}

int zoo_f16kv_attention(zoo_pool *pool, const float *q, int64_t ldq, const uint16_t *kt, int64_t ldkt,
                        const uint16_t *v, int64_t ldv, int64_t t, int64_t s, int64_t heads, int64_t d,
                        int causal, float *out, int64_t ldo, float *scratch) {
    return attention(pool, q, ldq, kt, ldkt, v, ldv, t, s, heads, d, causal, out, ldo, scratch, 1);
}

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols, in 32 x 32 tiles (both sides stay
   in cache lines). */
void zoo_f32_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd) {
    for (int64_t i0 = 0; i0 < rows; i0 += 32)
        for (int64_t j0 = 0; j0 < cols; j0 += 32) {
            const int64_t i1 = i0 + 32 < rows ? i0 + 32 : rows, j1 = j0 + 32 < cols ? j0 + 32 : cols;
            for (int64_t j = j0; j < j1; j++)
                for (int64_t i = i0; i < i1; i++) dst[j * ldd + i] = src[i * lds + j];
        }
}

/* The same walk, rounding each element to f16 (nearest even, zoo_f32_to_f16_row's bits): a tile's
   source rows are converted with the selected row converter into a 32 x 32 buffer, then written
   transposed. Keys into an f16 cache. */
void zoo_f32_to_f16_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, uint16_t *dst, int64_t ldd) {
    uint16_t tile[32][32];
    for (int64_t i0 = 0; i0 < rows; i0 += 32)
        for (int64_t j0 = 0; j0 < cols; j0 += 32) {
            const int64_t i1 = i0 + 32 < rows ? i0 + 32 : rows, j1 = j0 + 32 < cols ? j0 + 32 : cols;
            for (int64_t i = i0; i < i1; i++) zoo_f32_to_f16_row(src + i * lds + j0, tile[i - i0], j1 - j0);
            for (int64_t j = j0; j < j1; j++)
                for (int64_t i = i0; i < i1; i++) dst[j * ldd + i] = tile[i - i0][j - j0];
        }
}
