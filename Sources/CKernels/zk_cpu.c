/* Run-time choice of the kernel variant: cpuid for the instruction sets, xgetbv for whether the OS
   saves the AVX / AVX-512 register state, ZOO_KERNEL or zoo_kernel_force() to override. */
#define _GNU_SOURCE
#include "zk_internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#if ZK_X86
#include <cpuid.h>
#endif

enum { HAS_AVX2 = 1, HAS_AVX512VNNI = 2, HAS_AVXVNNI = 4, HAS_DOTPROD = 8 };

#if ZK_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static unsigned detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d) || a < 7) return 0;
    __cpuid_count(1, 0, a, b, c, d);
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return 0;
    const uint64_t xcr0 = xgetbv0();
    const int os_avx = (xcr0 & 0x6) == 0x6;             /* XMM and YMM state */
    const int os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM state */
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    const int vnni = (c >> 11) & 1;
    __cpuid_count(7, 1, a, b, c, d);
    const int avxvnni = (a >> 4) & 1;
    unsigned f = 0;
    if (os_avx && avx2 && fma && f16c) f |= HAS_AVX2;
    if ((f & HAS_AVX2) && os_avx512 && avx512f && avx512bw && avx512vl && vnni) f |= HAS_AVX512VNNI;
    if ((f & HAS_AVX2) && avxvnni) f |= HAS_AVXVNNI;
#ifdef ZK_AVXVNNI_VIA_AVX512VL
    if (f & HAS_AVX512VNNI) f |= HAS_AVXVNNI; /* harness build: the variant runs on AVX-512 VL */
#endif
    return f;
}
#elif ZK_NEON && defined(__linux__)
#include <sys/auxv.h>
static unsigned detect(void) {
    return (getauxval(AT_HWCAP) & (1ul << 20)) ? HAS_DOTPROD : 0; /* HWCAP_ASIMDDP */
}
#elif ZK_NEON && defined(__APPLE__)
#include <sys/sysctl.h>
static unsigned detect(void) {
    int v = 0;
    size_t len = sizeof v;
    if (sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &len, NULL, 0) != 0) return 0;
    return v ? HAS_DOTPROD : 0;
}
#else
static unsigned detect(void) { return 0; }
#endif

typedef struct {
    const char *name;
    const zk_ops *ops;
    unsigned needs;
} variant;

static const variant variants[] = {
#if ZK_X86
    {"avx512vnni", &zk_ops_avx512, HAS_AVX512VNNI},
    {"avxvnni", &zk_ops_avxvnni, HAS_AVXVNNI},
    {"avx2", &zk_ops_avx2, HAS_AVX2},
#endif
#if ZK_NEON
    {"neon", &zk_ops_neon, HAS_DOTPROD},
#endif
    {"scalar", &zk_ops_scalar, 0},
};
enum { N_VARIANTS = sizeof(variants) / sizeof(variants[0]) };

static _Atomic(const zk_ops *) current = NULL;
static _Atomic unsigned hidden = 0; /* variants (bit i = variants[i]) treated as unsupported, for tests */
static char note[200];

static unsigned features(void) {
    static _Atomic int cached = -1;
    int f = atomic_load(&cached);
    if (f < 0) {
        f = (int)detect();
        atomic_store(&cached, f);
    }
    return (unsigned)f;
}

static const variant *find(const char *name) {
    for (int i = 0; i < N_VARIANTS; i++)
        if (strcmp(variants[i].name, name) == 0) return &variants[i];
    return NULL;
}

static int usable(const variant *v) {
    if (atomic_load(&hidden) & (1u << (v - variants))) return 0;
    return (v->needs & features()) == v->needs;
}

static const zk_ops *best(void) {
    for (int i = 0; i < N_VARIANTS; i++)
        if (usable(&variants[i])) return variants[i].ops;
    return &zk_ops_scalar;
}

/* the variant ZOO_KERNEL asks for, or the best one with a note saying why not */
static const zk_ops *from_env(void) {
    const zk_ops *ops = best();
    note[0] = 0;
    const char *env = getenv("ZOO_KERNEL");
    if (env && *env && strcmp(env, "auto") != 0) {
        const variant *v = find(env);
        if (!v)
            snprintf(note, sizeof note, "ZOO_KERNEL=%.40s is not a kernel variant (%s); using %s", env,
                     zoo_kernel_variants(), ops->name);
        else if (!usable(v))
            snprintf(note, sizeof note, "ZOO_KERNEL=%s is not supported by this CPU; using %s", env, ops->name);
        else
            ops = v->ops;
        if (note[0]) fprintf(stderr, "zoo: %s\n", note);
    }
    return ops;
}

/* The first choice is made under a lock: threads that arrive together (e.g. conversion workers
   making their first kernel call) would otherwise all write `note` at once, a data race
   (ThreadSanitizer found it), and each print the note. */
static pthread_mutex_t choose_lock = PTHREAD_MUTEX_INITIALIZER;

const zk_ops *zk_current(void) {
    const zk_ops *ops = atomic_load_explicit(&current, memory_order_acquire);
    if (ops) return ops;
    pthread_mutex_lock(&choose_lock);
    ops = atomic_load_explicit(&current, memory_order_acquire);
    if (!ops) {
        ops = from_env();
        atomic_store_explicit(&current, ops, memory_order_release);
    }
    pthread_mutex_unlock(&choose_lock);
    return ops;
}

void zoo_kernel_reset(void) {
    atomic_store(&current, NULL);
    zk_current();
}

int zoo_kernel_hide(const char *names) {
    unsigned mask = 0;
    if (names && *names) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", names);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            const variant *v = find(tok);
            if (!v) return ZOO_KERR_UNKNOWN;
            if (v->needs == 0) return ZOO_KERR_ARG; /* scalar always stays */
            mask |= 1u << (v - variants);
        }
    }
    atomic_store(&hidden, mask);
    return 0;
}

const char *zoo_kernel_name(void) { return zk_current()->name; }
const char *zoo_kernel_note(void) { zk_current(); return note; }

int zoo_kernel_supported(const char *name) {
    const variant *v = name ? find(name) : NULL;
    return v && usable(v);
}

int zoo_kernel_force(const char *name) {
    if (!name || strcmp(name, "auto") == 0) {
        atomic_store(&current, best());
        return 0;
    }
    const variant *v = find(name);
    if (!v) return ZOO_KERR_UNKNOWN;
    if (!usable(v)) return ZOO_KERR_UNSUPPORTED;
    atomic_store(&current, v->ops);
    return 0;
}

const char *zoo_kernel_variants(void) {
#if ZK_X86
    return "avx512vnni,avxvnni,avx2,scalar";
#elif ZK_NEON
    return "neon,scalar";
#else
    return "scalar";
#endif
}
