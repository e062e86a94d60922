/* f32 matrix products Y = X W^T + bias on row-major weights: argument checks, the split over the
   thread pool, the plain reference and the portable scalar variant. The SIMD variants are in
   zk_f32_avx2.c and zk_f32_avx512.c. Every output element is computed by one task, as one chain of
   fused multiply-adds over k ascending (see ckernels.h), so the bits depend on nothing but x, w, bias. */
#include "zk_internal.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

/* One packing buffer per thread (the pool's workers and the caller), freed when the thread ends. */
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
static int buffer_key_ok;
static void make_buffer_key(void) { buffer_key_ok = pthread_key_create(&buffer_key, free) == 0; }

float *zk_f32_panel_buffer(void) {
    pthread_once(&buffer_once, make_buffer_key);
    if (!buffer_key_ok) return NULL;
    float *buf = (float *)pthread_getspecific(buffer_key);
    if (!buf) {
        buf = (float *)aligned_alloc(64, sizeof(float) * ZK_F32_NC * ZK_F32_KC);
        if (buf && pthread_setspecific(buffer_key, buf) != 0) {
            free(buf);
            buf = NULL;
        }
    }
    return buf;
}

/* Per-thread growing f32 scratch (zk_internal.h: ZK_SCRATCH_*): kept for the next call, freed with
   the thread. E.g. a product packs x once into the caller's buffer and every task reads it. */
typedef struct {
    float *p;
    size_t cap; /* floats */
} grow_buf;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;
static void free_scratch(void *v) {
    grow_buf *g = (grow_buf *)v;
    for (int i = 0; i < ZK_SCRATCH_SLOTS; i++) free(g[i].p);
    free(g);
}
static void make_scratch_key(void) { scratch_key_ok = pthread_key_create(&scratch_key, free_scratch) == 0; }

float *zk_thread_scratch(int slot, size_t floats) {
    if (slot < 0 || slot >= ZK_SCRATCH_SLOTS) return NULL;
    pthread_once(&scratch_once, make_scratch_key);
    if (!scratch_key_ok) return NULL;
    grow_buf *all = (grow_buf *)pthread_getspecific(scratch_key);
    if (!all) {
        all = (grow_buf *)calloc(ZK_SCRATCH_SLOTS, sizeof *all);
        if (!all || pthread_setspecific(scratch_key, all) != 0) {
            free(all);
            return NULL;
        }
    }
    grow_buf *g = &all[slot];
    if (g->cap < floats) {
        const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        float *p = (float *)aligned_alloc(64, bytes);
        if (!p) return NULL;
        free(g->p);
        g->p = p;
        g->cap = floats;
    }
    return g->p;
}

const zk_f32_ops *zk_f32_current(void) {
    const zk_ops *ops = zk_current();
#if ZK_X86
    /* the avx512vnni variant implies AVX-512 F/VL and FMA; avx2 and avxvnni imply AVX2 and FMA */
    if (ops == &zk_ops_avx512) return &zk_f32_ops_avx512;
    if (ops == &zk_ops_avx2 || ops == &zk_ops_avxvnni) return &zk_f32_ops_avx2;
#endif
    (void)ops;
    return &zk_f32_ops_scalar;
}

const char *zoo_f32_kernel_name(void) { return zk_f32_current()->name; }

/* The contract, written out: one fmaf chain per element. The scalar variant is this loop too, four
   columns at a time so that four independent chains are in flight. */
static void scalar_gemm(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx, const float *bias,
                        float *y, int64_t ldy, int64_t n0, int64_t n1) {
    for (int64_t i = 0; i < m; i++) {
        const float *xi = x + i * ldx;
        int64_t j = n0;
        for (; j + 4 <= n1; j += 4) {
            const float *w0 = w + j * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                s0 = fmaf(xi[p], w0[p], s0);
                s1 = fmaf(xi[p], w1[p], s1);
                s2 = fmaf(xi[p], w2[p], s2);
                s3 = fmaf(xi[p], w3[p], s3);
            }
            if (bias) { s0 = s0 + bias[j]; s1 = s1 + bias[j + 1]; s2 = s2 + bias[j + 2]; s3 = s3 + bias[j + 3]; }
            y[i * ldy + j] = s0;
            y[i * ldy + j + 1] = s1;
            y[i * ldy + j + 2] = s2;
            y[i * ldy + j + 3] = s3;
        }
        for (; j < n1; j++) {
            const float *wj = w + j * k;
            float s = 0.0f;
            for (int64_t p = 0; p < k; p++) s = fmaf(xi[p], wj[p], s);
            y[i * ldy + j] = bias ? s + bias[j] : s;
        }
    }
}

static void scalar_gemm_xp(const float *w, int64_t k, const float *x, int64_t m, int64_t ldx, const float *xp,
                           const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {
    (void)xp;
    scalar_gemm(w, k, x, m, ldx, bias, y, ldy, n0, n1);
}

const zk_f32_ops zk_f32_ops_scalar = {.name = "scalar", .gemm = scalar_gemm_xp, .gemv = scalar_gemm};

static int bad_args(int64_t n, int64_t k, int64_t m, int64_t ldx, int64_t ldy) {
    return n < 0 || k < 0 || m < 0 || (m > 1 && (ldx < k || ldy < n));
}

/* k == 0: every sum is empty, y = +0 (+ bias) */
static void empty_sum(int64_t m, const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = n0; j < n1; j++) y[i * ldy + j] = bias ? 0.0f + bias[j] : 0.0f;
}

int zoo_f32_gemm_ref(const float *w, int64_t n, int64_t k, const float *x, int64_t m, int64_t ldx,
                     const float *bias, float *y, int64_t ldy) {
    if (bad_args(n, k, m, ldx, ldy)) return ZOO_KERR_ARG;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (int64_t p = 0; p < k; p++) s = fmaf(x[i * ldx + p], w[j * k + p], s);
            y[i * ldy + j] = bias ? s + bias[j] : s;
        }
    return 0;
}

static void run(const zk_f32_ops *ops, const float *w, int64_t k, const float *x, int64_t m, int64_t ldx,
                const float *xp, const float *bias, float *y, int64_t ldy, int64_t n0, int64_t n1) {
    if (n0 >= n1 || m == 0) return;
    if (k == 0) empty_sum(m, bias, y, ldy, n0, n1);
    else if (m == 1) zk_f32_dot_rows(w, k, x, bias, y, n0, n1);
    else if (m <= ZK_F32_GEMV_MAX_M) ops->gemv(w, k, x, m, ldx, bias, y, ldy, n0, n1);
    else ops->gemm(w, k, x, m, ldx, xp, bias, y, ldy, n0, n1);
}

/* Does this product go to a GEMM that wants x packed? Then: how many tiles. */
static int64_t x_tiles(const zk_f32_ops *ops, int64_t m, int64_t k) {
    return m > ZK_F32_GEMV_MAX_M && k > 0 && ops->x_tile > 0 ? (m + ops->x_tile - 1) / ops->x_tile : 0;
}

/* a variant that packs x, when the buffer cannot be had: the portable loops instead */
static const zk_f32_ops *without_buffer(const zk_f32_ops *ops) { return ops->x_tile > 0 ? &zk_f32_ops_scalar : ops; }

int zoo_f32_gemm(const float *w, int64_t n, int64_t k, const float *x, int64_t m, int64_t ldx,
                 const float *bias, float *y, int64_t ldy, int64_t col_begin, int64_t col_end) {
    if (bad_args(n, k, m, ldx, ldy) || col_begin < 0 || col_end > n) return ZOO_KERR_ARG;
    const zk_f32_ops *ops = zk_f32_current();
    const int64_t tiles = x_tiles(ops, m, k);
    float *xp = tiles ? zk_thread_scratch(ZK_SCRATCH_F32_X, (size_t)(tiles * ops->x_tile * k)) : NULL;
    if (tiles && !xp) ops = without_buffer(ops);
    else if (tiles) ops->pack_x(x, ldx, m, k, xp, 0, tiles);
    run(ops, w, k, x, m, ldx, xp, bias, y, ldy, col_begin, col_end);
    return 0;
}

typedef struct {
    const zk_f32_ops *ops;
    const float *w, *x, *bias;
    float *xp, *y;
    int64_t n, k, m, ldx, ldy, unit, tiles;
} f32_ctx;

static void f32_task(void *p, int task, int n_tasks) {
    const f32_ctx *c = (const f32_ctx *)p;
    int64_t n0, n1;
    zoo_split_range(c->n, c->unit, task, n_tasks, &n0, &n1);
    run(c->ops, c->w, c->k, c->x, c->m, c->ldx, c->xp, c->bias, c->y, c->ldy, n0, n1);
}

static void pack_task(void *p, int task, int n_tasks) {
    const f32_ctx *c = (const f32_ctx *)p;
    int64_t t0, t1;
    zoo_split_range(c->tiles, 1, task, n_tasks, &t0, &t1);
    if (t0 < t1) c->ops->pack_x(c->x, c->ldx, c->m, c->k, c->xp, t0, t1);
}

int zoo_f32_matmul(zoo_pool *pool, const float *w, int64_t n, int64_t k, const float *x, int64_t m,
                   int64_t ldx, const float *bias, float *y, int64_t ldy) {
    if (bad_args(n, k, m, ldx, ldy)) return ZOO_KERR_ARG;
    if (m == 0 || n == 0) return 0;
    const int64_t unit = m <= ZK_F32_GEMV_MAX_M ? ZK_F32_GEMV_ROWS : ZK_F32_NR;
    f32_ctx c = {.ops = zk_f32_current(), .w = w, .x = x, .bias = bias, .y = y,
                 .n = n, .k = k, .m = m, .ldx = ldx, .ldy = ldy, .unit = unit};
    const int threads = zoo_pool_size(pool);
    c.tiles = x_tiles(c.ops, m, k);
    if (c.tiles) {
        c.xp = zk_thread_scratch(ZK_SCRATCH_F32_X, (size_t)(c.tiles * c.ops->x_tile * k));
        if (!c.xp) c.ops = without_buffer(c.ops), c.tiles = 0;
        else if (threads == 1 || c.tiles == 1) pack_task(&c, 0, 1);
        else zoo_pool_run(pool, pack_task, &c, c.tiles < threads ? (int)c.tiles : threads);
    }
    const int64_t units = (n + unit - 1) / unit;
    /* A few tasks per thread, and none with much more than 1 MB of weights (the 154 MB GPT-2 head
       becomes ~150 tasks): tasks are claimed one at a time, so a worker the OS preempts on a busy
       machine holds up only the task it is in, not a whole share. Small products stay on the caller,
       where handing out work would cost more than it saves. */
    int64_t tasks = 1;
    if (threads > 1 && m * n * (k + 1) >= (1 << 16)) {
        tasks = 4 * (int64_t)threads;
        const int64_t by_size = n * k / (1 << 18); /* 2^18 floats = 1 MB */
        if (by_size > tasks) tasks = by_size < 4096 ? by_size : 4096;
    }
    if (tasks > units) tasks = units;
    zoo_pool_run(pool, f32_task, &c, (int)tasks);
    return 0;
}
