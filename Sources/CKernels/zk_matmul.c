/* Threaded entry points: quantize activation rows, and split the product over the pool in whole
   16-row groups. Each output element is computed by one task with the fixed block order, so the
   bits do not depend on the number of threads or on which thread ran which task. */
#include "zk_internal.h"

typedef struct {
    const zk_ops *ops;
    const uint8_t *packed;
    int64_t n, nb, m, ldx, ldy;
    const float *x, *bias;
    float *y;
    zoo_block_q8_act *xq;
} matmul_ctx;

static void quant_task(void *p, int task, int n_tasks) {
    const matmul_ctx *c = (const matmul_ctx *)p;
    int64_t i0, i1;
    zoo_split_range(c->m, 1, task, n_tasks, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) c->ops->quant_act(c->x + i * c->ldx, c->xq + i * c->nb, c->nb);
}

static void gemm_task(void *p, int task, int n_tasks) {
    const matmul_ctx *c = (const matmul_ctx *)p;
    int64_t r0, r1;
    zoo_split_range(c->n, ZK_GROUP, task, n_tasks, &r0, &r1);
    if (r0 < r1) c->ops->gemm(c->packed, c->n, c->nb, c->xq, c->m, c->bias, c->y, c->ldy, r0, r1);
}

int zoo_q8_act_quantize_rows(zoo_pool *pool, const float *x, int64_t m, int64_t k, int64_t ldx,
                             zoo_block_q8_act *xq) {
    if (m < 0 || k < 0 || k % ZOO_QK8_0 != 0 || (m > 1 && ldx < k)) return ZOO_KERR_ARG;
    if (m == 0 || k == 0) return 0;
    matmul_ctx c = {.ops = zk_current(), .nb = k / ZOO_QK8_0, .m = m, .ldx = ldx, .x = x, .xq = xq};
    const int threads = zoo_pool_size(pool);
    /* a row or two is quicker to quantize on the caller than to hand out */
    if (m <= 2 || threads == 1) quant_task(&c, 0, 1);
    else zoo_pool_run(pool, quant_task, &c, threads < m ? threads : (int)m);
    return 0;
}

int zoo_q8_0_matmul_q(zoo_pool *pool, const void *packed, int64_t n, int64_t k, const zoo_block_q8_act *xq,
                      int64_t m, const float *bias, float *y, int64_t ldy) {
    if (n < 0 || k < 0 || k % ZOO_QK8_0 != 0 || m < 0 || (m > 1 && ldy < n)) return ZOO_KERR_ARG;
    if (m == 0 || n == 0) return 0;
    matmul_ctx c = {.ops = zk_current(), .packed = (const uint8_t *)packed, .n = n, .nb = k / ZOO_QK8_0,
                    .m = m, .ldy = ldy, .bias = bias, .y = y, .xq = (zoo_block_q8_act *)xq};
    const int threads = zoo_pool_size(pool);
    const int64_t groups = (n + ZK_GROUP - 1) / ZK_GROUP;
    /* a few tasks per thread so that a thread that starts late costs little */
    int64_t tasks = threads == 1 ? 1 : 4 * (int64_t)threads;
    if (tasks > groups) tasks = groups;
    zoo_pool_run(pool, gemm_task, &c, (int)tasks);
    return 0;
}

int zoo_q8_0_matmul(zoo_pool *pool, const void *packed, int64_t n, int64_t k, const float *x,
                    int64_t m, int64_t ldx, const float *bias, float *y, int64_t ldy, void *work) {
    if (n < 0 || k < 0 || k % ZOO_QK8_0 != 0 || m < 0 || (m > 1 && (ldx < k || ldy < n)))
        return ZOO_KERR_ARG;
    if (m == 0 || n == 0) return 0;
    zoo_block_q8_act *xq = (zoo_block_q8_act *)work;
    const int rc = zoo_q8_act_quantize_rows(pool, x, m, k, ldx, xq);
    return rc != 0 ? rc : zoo_q8_0_matmul_q(pool, packed, n, k, xq, m, bias, y, ldy);
}
