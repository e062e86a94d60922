/* A persistent pthread pool for short parallel sections (a decode step's GEMVs take tens of
   microseconds, less than creating a thread or a sleep/wake round trip).

   One 64-bit atomic word holds the run: generation (24 bits) | task count (20) | next task (20).
   The caller publishes fn/ctx, resets `done`, then stores a new word; every thread, the caller
   included, claims tasks with a compare-and-swap that also checks the generation, and only then
   reads fn/ctx (a claimed, unfinished task keeps the run alive, so they cannot have changed).
   The caller returns when `done` reaches the task count: it never waits for a worker that has not
   claimed anything (one descheduled by a busy OS, say), only for tasks in flight.
   Idle workers poll the word with PAUSE for spin_us (ZOO_POOL_SPIN_US, default 300) after their
   last task, then sleep on a condition variable; the caller signals only if someone sleeps. */
#define _GNU_SOURCE
#include "zk_internal.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TASK_BITS 20
#define TASK_MAX ((1u << TASK_BITS) - 1u)
#define GEN_OF(w) ((uint32_t)((w) >> (2 * TASK_BITS)))
#define N_OF(w) ((uint32_t)((w) >> TASK_BITS) & TASK_MAX)
#define NEXT_OF(w) ((uint32_t)(w) & TASK_MAX)

struct zoo_pool {
    int n;                       /* threads including the caller */
    pthread_t *threads;          /* n - 1 workers */
    _Alignas(64) _Atomic uint64_t word; /* gen | n_tasks | next; own cache line: every claim hits it */
    _Alignas(64) _Atomic uint32_t done; /* tasks finished in this run */
    zoo_task_fn fn;              /* valid while a task of the current run is claimed */
    void *ctx;
    int base, total;             /* task index offset and the caller's n_tasks (runs > TASK_MAX) */
    _Alignas(64) _Atomic int sleepers;
    _Atomic int stop;
    _Atomic int64_t spin_ns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Claim and run tasks of generation gen until none is left. */
static void run_tasks(zoo_pool *p, uint32_t gen) {
    uint64_t w = atomic_load_explicit(&p->word, memory_order_acquire);
    for (;;) {
        if (GEN_OF(w) != (gen & 0xffffffu) || NEXT_OF(w) >= N_OF(w)) return;
        if (!atomic_compare_exchange_weak_explicit(&p->word, &w, w + 1, memory_order_acq_rel, memory_order_acquire))
            continue; /* w was reloaded */
        p->fn(p->ctx, p->base + (int)NEXT_OF(w), p->total);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        w = atomic_load_explicit(&p->word, memory_order_acquire);
    }
}

static uint32_t wait_new_gen(zoo_pool *p, uint32_t seen) {
    uint32_t g;
    const int64_t start = now_ns();
    for (unsigned i = 1;; i++) {
        g = GEN_OF(atomic_load_explicit(&p->word, memory_order_acquire));
        if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) return g;
        cpu_relax();
        if ((i & 255) == 0) {
            if (now_ns() - start > atomic_load_explicit(&p->spin_ns, memory_order_relaxed)) break;
            if ((i & 4095) == 0) sched_yield(); /* be polite when the machine is oversubscribed */
        }
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1); /* seq_cst: pairs with the caller's store-then-check */
    while ((g = GEN_OF(atomic_load(&p->word))) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker(void *arg) {
    zoo_pool *p = (zoo_pool *)arg;
    uint32_t seen = 0;
    for (;;) {
        seen = wait_new_gen(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) return NULL;
        run_tasks(p, seen);
    }
}

zoo_pool *zoo_pool_create(int n_threads) {
    if (n_threads <= 0) {
        const long c = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = c > 0 ? (int)c : 1;
    }
    const size_t bytes = (sizeof(zoo_pool) + 63) / 64 * 64; /* the struct is 64-byte aligned */
    zoo_pool *p = (zoo_pool *)aligned_alloc(64, bytes);
    if (!p) return NULL;
    memset(p, 0, bytes);
    p->n = n_threads;
    const char *env = getenv("ZOO_POOL_SPIN_US");
    const long spin_us = env ? strtol(env, NULL, 10) : 300;
    atomic_store(&p->spin_ns, (int64_t)(spin_us > 0 ? spin_us : 0) * 1000);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (n_threads > 1) {
        p->threads = (pthread_t *)calloc((size_t)n_threads - 1, sizeof(pthread_t));
        if (!p->threads) {
            pthread_mutex_destroy(&p->mu);
            pthread_cond_destroy(&p->cv);
            free(p);
            return NULL;
        }
        for (int i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
                p->n = i + 1; /* keep the workers that started */
                break;
            }
        }
    }
    return p;
}

int zoo_pool_size(const zoo_pool *pool) { return pool ? pool->n : 1; }

void zoo_pool_set_spin_us(zoo_pool *pool, int spin_us) {
    if (pool) atomic_store(&pool->spin_ns, (int64_t)(spin_us > 0 ? spin_us : 0) * 1000);
}

void zoo_pool_run(zoo_pool *p, zoo_task_fn fn, void *ctx, int n_tasks) {
    if (n_tasks <= 0) return;
    if (!p || p->n == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, n_tasks);
        return;
    }
    for (int base = 0; base < n_tasks; base += (int)TASK_MAX) {
        const uint32_t count = (uint32_t)(n_tasks - base) < TASK_MAX ? (uint32_t)(n_tasks - base) : TASK_MAX;
        p->fn = fn;
        p->ctx = ctx;
        p->base = base;
        p->total = n_tasks;
        atomic_store_explicit(&p->done, 0, memory_order_relaxed);
        const uint32_t gen = (GEN_OF(atomic_load_explicit(&p->word, memory_order_relaxed)) + 1) & 0xffffffu;
        atomic_store(&p->word, ((uint64_t)gen << (2 * TASK_BITS)) | ((uint64_t)count << TASK_BITS)); /* seq_cst */
        if (atomic_load(&p->sleepers) > 0) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
        run_tasks(p, gen);
        for (unsigned i = 1; atomic_load_explicit(&p->done, memory_order_acquire) != count; i++) {
            cpu_relax();
            if ((i & 1023) == 0) sched_yield(); /* a worker inside a task may have been descheduled */
        }
    }
}

void zoo_pool_destroy(zoo_pool *p) {
    if (!p) return;
    if (p->n > 1) {
        atomic_store(&p->stop, 1);
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n - 1; i++) pthread_join(p->threads[i], NULL);
    }
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
