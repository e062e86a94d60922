/* Memory for weights: buffers backed by 2 MiB transparent huge pages where the OS allows.
 *
 * Why: a decode step streams every weight byte once (132 MB for GPT-2 124M in Q8_0). With 4 KiB
 * pages that is ~32,000 TLB misses per token, and the hardware prefetchers stop at each 4 KiB
 * boundary. On the 2-core development VM a two-thread read of a 132 MB buffer went from ~24 GB/s
 * to ~29.5 GB/s with MADV_HUGEPAGE (medians of 7; its transparent_hugepage mode is "madvise", so
 * nothing is huge unless asked). The advice is a hint: where the kernel says no (THP "never", not
 * Linux) buffers are simply small-paged, never an error.
 *
 * A model's matrices are mostly 0.5-3 MB, too small to own whole huge pages, so they are carved
 * from shared chunks (one chunk per buffer of 8 MiB or more). Chunks start at 4 MiB and double up
 * to 32 MiB, so a tiny model does not reserve 32 MiB. A chunk is released when its last buffer is;
 * until then its freed space is not reused (weights are loaded once and kept). */
#define _GNU_SOURCE
#include "zk_internal.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define ZK_HUGE_PAGE ((size_t)2 << 20)
#define ZK_CHUNK_MIN ((size_t)4 << 20)
#define ZK_CHUNK_MAX ((size_t)32 << 20)
#define ZK_OWN_CHUNK ((size_t)8 << 20) /* buffers this large get a chunk of their own */
#define ZK_HEADER ((size_t)64)         /* before each buffer: its chunk (keeps 64-byte alignment) */

typedef struct zk_chunk {
    size_t size, used;
    long live; /* buffers handed out and not yet freed */
} zk_chunk;

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static zk_chunk *current; /* the chunk new small buffers are carved from */
static size_t next_chunk = ZK_CHUNK_MIN;

/* madvise(MADV_HUGEPAGE) on the huge-page-aligned interior of [p, p + bytes), before the first
 * write, so the pages fault in huge. */
static void advise_huge(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t begin = ((uintptr_t)p + ZK_HUGE_PAGE - 1) & ~(uintptr_t)(ZK_HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)(ZK_HUGE_PAGE - 1);
    if (end > begin) (void)madvise((void *)begin, end - begin, MADV_HUGEPAGE);
#else
    (void)p; (void)bytes;
#endif
}

/* A 2 MiB-aligned chunk advised before its first write, so its pages fault in huge. */
static zk_chunk *new_chunk(size_t size) {
    void *p = NULL;
    if (posix_memalign(&p, ZK_HUGE_PAGE, size) != 0) return NULL;
    advise_huge(p, size);
    zk_chunk *c = (zk_chunk *)p;
    c->size = size;
    c->used = ZK_HEADER; /* the chunk record itself sits in the first 64 bytes */
    c->live = 0;
    return c;
}

static void *carve(zk_chunk *c, size_t bytes) {
    unsigned char *at = (unsigned char *)c + c->used;
    *(zk_chunk **)at = c;
    c->used += ZK_HEADER + bytes;
    c->live += 1;
    return at + ZK_HEADER;
}

void *zoo_weights_alloc(size_t bytes) {
    if (bytes == 0) bytes = 1;
    /* 1 TiB: past any machine's memory, so refused without asking malloc (sanitizers' allocators
       abort on such requests instead of returning NULL) */
    if (bytes > ((size_t)1 << 40)) return NULL;
    bytes = (bytes + 63) & ~(size_t)63;
    size_t need = ZK_HEADER + bytes;
    void *out = NULL;
    pthread_mutex_lock(&arena_lock);
    if (need + ZK_HEADER > ZK_OWN_CHUNK) {
        size_t size = (need + ZK_HEADER + ZK_HUGE_PAGE - 1) & ~(ZK_HUGE_PAGE - 1);
        zk_chunk *c = new_chunk(size);
        if (c) out = carve(c, bytes);
    } else {
        if (current == NULL || current->size - current->used < need) {
            const size_t fit = (need + ZK_HEADER + ZK_HUGE_PAGE - 1) & ~(ZK_HUGE_PAGE - 1);
            zk_chunk *c = new_chunk(fit > next_chunk ? fit : next_chunk);
            if (c) {
                if (next_chunk < ZK_CHUNK_MAX) next_chunk *= 2;
                if (current != NULL && current->live == 0) free(current);
                current = c;
            }
        }
        if (current != NULL && current->size - current->used >= need) out = carve(current, bytes);
    }
    pthread_mutex_unlock(&arena_lock);
    return out;
}

void zoo_weights_free(void *p) {
    if (p == NULL) return;
    zk_chunk *c = *(zk_chunk **)((unsigned char *)p - ZK_HEADER);
    pthread_mutex_lock(&arena_lock);
    c->live -= 1;
    if (c->live == 0) {
        if (c == current) c->used = ZK_HEADER; /* reuse from the start: nothing in it is live */
        else free(c);
    }
    pthread_mutex_unlock(&arena_lock);
}
