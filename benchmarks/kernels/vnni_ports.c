// Build and run (x86-64 with AVX-512 VNNI):
// clang -O2 benchmarks/kernels/vnni_ports.c -o /tmp/vnni_ports && /tmp/vnni_ports
/* Throughput probe behind the GEMM tile design in Sources/CKernels/zk_q8_avx512.c: how many
   VPDPBUSD a core issues per cycle, and which of the float step's instructions compete with them.
   Each loop body is 16 independent VPDPBUSD (plus 4 or 8 other instructions); cycles are counted
   against a chain of dependent integer adds (1 cycle each), so the TSC rate does not matter.
   On the AMD EPYC this project runs on (cpuid family 25 model 17: Zen 4): zmm VPDPBUSD 1.0 cycle (ymm 0.5: 512-bit ops take both halves),
   latency 4; 16 VPDPBUSD + 4 VMULPS take 20 cycles (the multiplies share the slot), while
   + 4 VADDPS / VCVTDQ2PS / VPADDD / 8 broadcast loads stay at 16. So the Q8_0 contract's two
   multiplies per (row, block) against 8 VPDPBUSD cap a GEMM at 8/10 of the int8 peak. */
#include <stdint.h>
#include <stdio.h>
#include <x86intrin.h>

#define REP 200000
static int32_t buf[64] __attribute__((aligned(64)));

#define OP(ins, n) ins " %%zmm29, %%zmm28, %%zmm" #n "\n"
#define V(n) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #n "\n"
#define V16 V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7) V(8) V(9) V(10) V(11) V(12) V(13) V(14) V(15)
#define T __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define Y(n) "vpdpbusd %%ymm30, %%ymm31, %%ymm" #n "\n"

T static void vnni(void) { for (int i = 0; i < REP; i++) __asm__ volatile(V16 ::: "memory"); }
T static void vnni_ymm(void) {
    for (int i = 0; i < REP; i++)
        __asm__ volatile(Y(0) Y(1) Y(2) Y(3) Y(4) Y(5) Y(6) Y(7) Y(8) Y(9) Y(10) Y(11) Y(12) Y(13) Y(14) Y(15) ::: "memory");
}
T static void vnni_lat(void) {
    for (int i = 0; i < REP; i++) __asm__ volatile(V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) V(0) ::: "memory");
}
T static void vnni_mul(void) {
    for (int i = 0; i < REP; i++) __asm__ volatile(V16 OP("vmulps", 16) OP("vmulps", 17) OP("vmulps", 18) OP("vmulps", 19) ::: "memory");
}
T static void vnni_add(void) {
    for (int i = 0; i < REP; i++) __asm__ volatile(V16 OP("vaddps", 16) OP("vaddps", 17) OP("vaddps", 18) OP("vaddps", 19) ::: "memory");
}
T static void vnni_padd(void) {
    for (int i = 0; i < REP; i++) __asm__ volatile(V16 OP("vpaddd", 16) OP("vpaddd", 17) OP("vpaddd", 18) OP("vpaddd", 19) ::: "memory");
}
#define CVT(n) "vcvtdq2ps %%zmm29, %%zmm" #n "\n"
T static void vnni_cvt(void) { for (int i = 0; i < REP; i++) __asm__ volatile(V16 CVT(16) CVT(17) CVT(18) CVT(19) ::: "memory"); }
#define BC(n) "vpbroadcastd 8(%0), %%zmm" #n "\n"
T static void vnni_bcast(void) {
    for (int i = 0; i < REP; i++)
        __asm__ volatile(V16 BC(16) BC(17) BC(18) BC(19) BC(20) BC(21) BC(22) BC(23) ::"r"(buf) : "memory");
}

static void add_chain(void) {
    long x = 0; /* one chain through every iteration */
    for (int i = 0; i < REP; i++) {
        __asm__ volatile("add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n"
                         "add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n add $1,%0\n"
                         : "+r"(x));
    }
}

static double ticks(void (*f)(void)) { /* TSC ticks per 16-instruction body, best of 30 */
    double best = 1e30;
    for (int r = 0; r < 30; r++) {
        const uint64_t t0 = __rdtsc();
        f();
        const double t = (double)(__rdtsc() - t0) / REP;
        if (t < best) best = t;
    }
    return best;
}

int main(void) {
    const double cyc = ticks(add_chain) / 16.0; /* TSC ticks per core cycle */
    printf("cycles per loop body (16 VPDPBUSD zmm + extra):\n");
    printf("  16 vpdpbusd              %5.1f\n", ticks(vnni) / cyc);
    printf("  16 vpdpbusd ymm instead  %5.1f\n", ticks(vnni_ymm) / cyc);
    printf("  16 dependent vpdpbusd    %5.1f  (latency x 16)\n", ticks(vnni_lat) / cyc);
    printf("  + 4 vmulps               %5.1f\n", ticks(vnni_mul) / cyc);
    printf("  + 4 vaddps               %5.1f\n", ticks(vnni_add) / cyc);
    printf("  + 4 vcvtdq2ps            %5.1f\n", ticks(vnni_cvt) / cyc);
    printf("  + 4 vpaddd               %5.1f\n", ticks(vnni_padd) / cyc);
    printf("  + 8 vpbroadcastd (load)  %5.1f\n", ticks(vnni_bcast) / cyc);
    return 0;
}
