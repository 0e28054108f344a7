/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU-VAS guest workload.  Runs as the only program of the test guests
 * while the VM is switched between accelerators or migrated, and reports
 * on stdout (the serial console) what it saw, one KEY=VALUE line per
 * event, so that tests judge a switch by what the guest itself observed:
 *
 *   VAS-BOOT arch=A cpus=N mem_mib=N interval_ms=N duration_s=N avx=0|1
 *   VAS-HB seq=N mono_ns=N real_ns=N cycles=N csum=HEX mem=ok|bad vec=ok|bad
 *          vec_rounds=N cpuid=HEX [smis=N]                 (one line)
 *   VAS-ERR what=mem|vec|mono|cycles|alloc|smi seq=N DETAILS...
 *   VAS-VERDICT OK heartbeats=N elapsed_mono_ns=N
 *   VAS-VERDICT FAIL heartbeats=N errors=N first=WHAT
 *
 * (arm guests print neon=0|1 instead of avx=.)  Each period it verifies and
 * rewrites a memory buffer (catches lost or stale guest RAM), and holds
 * known values in all vector registers while it spins (catches FPU/SIMD
 * state lost in a switch that lands while the registers are live).
 * CLOCK_MONOTONIC and the cycle counter must never go backwards.  On x86,
 * cpuid= is a digest of the CPUID leaves (without the per-CPU APIC IDs),
 * on AArch64 of the identification and cache registers a program can
 * read: the CPU a guest sees must not change under it.  With --smi (x86 on the
 * pc machine), each period also raises an SMI and checks, in SMRAM, that
 * the CPU entered SMM right there (see smi_probe); smis= counts the SMIs
 * verified so far.  The exit status is 0 for OK, 1 for FAIL, 2 for bad
 * options.
 *
 * Options, also read from the kernel command line as vas.duration=,
 * vas.interval_ms=, vas.mem_mib=, vas.vec_marker=, vas.selftest_fail=,
 * vas.smi= (options win):
 *   --duration S       stop after S seconds (0: until "stop" on stdin)
 *   --interval-ms N    heartbeat period
 *   --mem-mib N        size of the checked buffer
 *   --vec-marker 1     vector values whose lanes start with the bytes of
 *                      a vmstate subsection marker (see vec_marker)
 *   --selftest-fail mem|vec|smi  corrupt the check once (smi: raise no
 *                      SMI the first time), to show it can fail
 *   --smi 1            raise and verify an SMI each period (x86 only)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>

#include "report.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/io.h>
#define ARCH_NAME "x86_64"
#define VEC_FEATURE "avx"
#elif defined(__aarch64__)
#define ARCH_NAME "aarch64"
#define VEC_FEATURE "neon"
#elif defined(__arm__)
#define ARCH_NAME "arm"
#define VEC_FEATURE "neon"
#ifndef __ARM_NEON
#error "build with -mfpu=neon -mfloat-abi=hard"
#endif
#else
#error "unsupported architecture"
#endif

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL
#define VEC_BYTES 512           /* 16 ymm, 32 q or 32 d registers */
#define SPIN_TARGET_NS (2 * NS_PER_MS)

static unsigned long duration_s;
static unsigned long interval_ms = 1000;
static unsigned long mem_mib = 64;
static char selftest[16];
/*
 * vec_marker: the top two bytes of every 64-bit lane read 05 ff, which
 * a big-endian vmstate stream shows as a subsection marker with a
 * 255-byte name: a loader that peeks for subsections peeks far ahead.
 */
static unsigned long vec_marker;
#define VMSTATE_LOOKALIKE 0x05ff000000000000ULL
static unsigned long smi;       /* --smi: probe SMM each period */
static unsigned long smis;      /* SMIs verified so far */

static unsigned long seq;       /* heartbeats printed so far */
static unsigned long errors;
static const char *first_error;
static volatile sig_atomic_t stop_requested;

static uint64_t last_mono, last_cycles;
static bool mem_bad, vec_bad;   /* in the current period */
static unsigned vec_feature;    /* AVX on x86, NEON on arm */

/* A failed check: counted for the verdict and reported immediately. */
static void __attribute__((format(printf, 2, 3)))
check_failed(const char *what, const char *fmt, ...)
{
    char detail[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    errors++;
    if (!first_error) {
        first_error = what;
    }
    report("VAS-ERR what=%s seq=%lu %s", what, seq + 1, detail);
}

static uint64_t clock_ns(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Every CLOCK_MONOTONIC read goes through here, so every pair is checked. */
static uint64_t mono_ns(void)
{
    uint64_t now = clock_ns(CLOCK_MONOTONIC);

    if (now < last_mono) {
        check_failed("mono", "prev_ns=%" PRIu64 " now_ns=%" PRIu64,
                     last_mono, now);
    }
    last_mono = now;
    return now;
}

static uint64_t read_cycles(void)
{
    uint64_t c;

#if defined(__x86_64__)
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    c = (uint64_t)hi << 32 | lo;
#elif defined(__aarch64__)
    asm volatile("isb; mrs %0, cntvct_el0" : "=r"(c) :: "memory");
#else
    asm volatile("isb; mrrc p15, 1, %Q0, %R0, c14" : "=r"(c) :: "memory");
#endif
    if (c < last_cycles) {
        check_failed("cycles", "prev=%" PRIu64 " now=%" PRIu64, last_cycles, c);
    }
    last_cycles = c;
    return c;
}

/*
 * A digest of what CPUID tells this program, minus the fields that name
 * the CPU it happens to run on (APIC IDs), so that it is the same on every
 * vCPU of a VM.  0 where there is no CPUID.
 */
static uint32_t cpuid_digest(void)
{
    uint32_t h = 2166136261u;
#if defined(__x86_64__)
    static const uint32_t bases[] = { 0, 0x40000000, 0x80000000 };
    static const uint32_t indexed[] = {
        4, 7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1d, 0x1e, 0x1f,
        0x20, 0x23, 0x24, 0x8000001d, 0x80000020, 0x80000026,
    };
    uint32_t a, b, c, d, max, leaf, sub, subs, i, j, v[4];

    for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        __cpuid_count(bases[i], 0, max, b, c, d);
        if (max < bases[i] || max > bases[i] + 0xff) {
            continue;       /* no such range (no hypervisor leaves) */
        }
        for (leaf = bases[i]; leaf <= max; leaf++) {
            subs = 1;
            for (j = 0; j < sizeof(indexed) / sizeof(indexed[0]); j++) {
                subs = indexed[j] == leaf ? 4 : subs;
            }
            for (sub = 0; sub < subs; sub++) {
                __cpuid_count(leaf, sub, a, b, c, d);
                if (leaf == 1) {
                    b &= 0x00ffffff;                /* initial APIC ID */
                } else if (leaf == 0xb || leaf == 0x1f) {
                    d = 0;                          /* x2APIC ID */
                } else if (leaf == 0x8000001e || leaf == 0x1a) {
                    a = b = c = d = 0;              /* per-core IDs */
                }
                v[0] = a, v[1] = b, v[2] = c, v[3] = d;
                for (j = 0; j < 16; j++) {
                    h = (h ^ ((uint8_t *)v)[j]) * 16777619u;
                }
            }
        }
    }
#elif defined(__aarch64__)
    /*
     * What describes the CPU and its caches as a program reads it:
     * DCZID_EL0 (the DC ZVA block size memset relies on) and CTR_EL0
     * directly, MIDR_EL1 and REVIDR_EL1 through the kernel, which reads
     * the live registers for them (HWCAP_CPUID).
     */
    uint64_t v[4] = { 0 };
    unsigned j;

    asm volatile("mrs %0, dczid_el0" : "=r"(v[0]));
    asm volatile("mrs %0, ctr_el0" : "=r"(v[1]));
    if (getauxval(AT_HWCAP) & HWCAP_CPUID) {
        asm volatile("mrs %0, midr_el1" : "=r"(v[2]));
        asm volatile("mrs %0, revidr_el1" : "=r"(v[3]));
    }
    for (j = 0; j < sizeof(v); j++) {
        h = (h ^ ((uint8_t *)v)[j]) * 16777619u;
    }
#else
    h = 0;
#endif
    return h;
}

/*
 * Memory check.  Word i of generation g holds i * K ^ g * G: every word
 * differs from its neighbours (a misplaced page shows) and from the same
 * word of the previous generation (a lost write shows).  The product i * K
 * is kept as a running sum so that a pass is cheap even on arm32.
 */
#define PAT_K 0x9e3779b97f4a7c15ULL
#define PAT_G 0xc2b2ae3d27d4eb4fULL

static uint64_t *mem;
static size_t mem_words;
static uint64_t mem_gen = 1;

static void mem_fill(void)
{
    uint64_t a = 0, g = mem_gen * PAT_G;

    for (size_t i = 0; i < mem_words; i++, a += PAT_K) {
        mem[i] = a ^ g;
    }
}

/* Verify generation mem_gen, write mem_gen + 1, return its checksum. */
static uint64_t mem_pass(void)
{
    uint64_t a = 0, old = mem_gen * PAT_G, new = (mem_gen + 1) * PAT_G;
    uint64_t csum = 0, bad = 0;
    size_t first = 0;
    uint64_t want = 0, got = 0;

    for (size_t i = 0; i < mem_words; i++, a += PAT_K) {
        uint64_t v = mem[i];

        if (v != (a ^ old)) {
            if (!bad++) {
                first = i;
                want = a ^ old;
                got = v;
            }
        }
        v = a ^ new;
        mem[i] = v;
        csum = (csum << 1 | csum >> 63) + v;
    }
    mem_gen++;
    if (bad) {
        mem_bad = true;
        check_failed("mem", "gen=%" PRIu64 " index=%zu expected=0x%016"
                     PRIx64 " got=0x%016" PRIx64 " bad_words=%" PRIu64,
                     mem_gen - 1, first, want, got, bad);
    }
    return csum;
}

/*
 * Vector register round trip.  One asm statement loads all registers from
 * @in, spins @n iterations of an integer loop that leaves them alone, and
 * stores them to @out, so a switch during the spin that loses or mixes up
 * register state shows as a difference.  Everything the compiler must not
 * assume survives is in the clobber list.
 */
struct vec_state {
    uint8_t v[VEC_BYTES] __attribute__((aligned(64)));
#if defined(__x86_64__)
    uint8_t x87[16];            /* 80-bit extended value */
    uint32_t mxcsr;
#endif
};

#if defined(__x86_64__)
#define REGS16 ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
/* Between load and store: x87 and MXCSR too, then the spin itself. */
#define X86_SPIN "fldt %[x87in]\n\t" \
    "ldmxcsr %[mxin]\n\t" \
    "1: dec %[n]\n\t" \
    "jnz 1b\n\t" \
    "stmxcsr %[mxout]\n\t" \
    "fstpt %[x87out]\n\t"
#define XMM_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", \
    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", \
    "xmm14", "xmm15"

static unsigned vec_regs = 16, vec_size;   /* set by vec_detect() */
static const char *vec_name;

static void vec_roundtrip(const struct vec_state *in, struct vec_state *out,
                          unsigned long n)
{
    uint32_t saved_mxcsr;

    asm volatile("stmxcsr %0" : "=m"(saved_mxcsr));
    if (vec_feature) {
        asm volatile(REGS16 "vmovdqu \\r*32(%[in]), %%ymm\\r\n\t.endr\n\t"
                     X86_SPIN
                     REGS16 "vmovdqu %%ymm\\r, \\r*32(%[out])\n\t.endr\n\t"
                     "vzeroupper"
                     : [n] "+r"(n), [x87out] "=m"(out->x87),
                       [mxout] "=m"(out->mxcsr)
                     : [in] "r"(in->v), [out] "r"(out->v),
                       [x87in] "m"(in->x87), [mxin] "m"(in->mxcsr)
                     : XMM_CLOBBERS, "memory", "cc");
    } else {
        asm volatile(REGS16 "movdqu \\r*16(%[in]), %%xmm\\r\n\t.endr\n\t"
                     X86_SPIN
                     REGS16 "movdqu %%xmm\\r, \\r*16(%[out])\n\t.endr"
                     : [n] "+r"(n), [x87out] "=m"(out->x87),
                       [mxout] "=m"(out->mxcsr)
                     : [in] "r"(in->v), [out] "r"(out->v),
                       [x87in] "m"(in->x87), [mxin] "m"(in->mxcsr)
                     : XMM_CLOBBERS, "memory", "cc");
    }
    asm volatile("ldmxcsr %0" :: "m"(saved_mxcsr));
}

#elif defined(__aarch64__)
static unsigned vec_regs = 32, vec_size = 16;
static const char *vec_name = "v";

static void vec_roundtrip(const struct vec_state *in, struct vec_state *out,
                          unsigned long n)
{
    asm volatile(".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,"
                 "20,21,22,23,24,25,26,27,28,29,30,31\n\t"
                 "ldr q\\r, [%[in], #\\r*16]\n\t.endr\n\t"
                 "1: subs %[n], %[n], #1\n\t"
                 "b.ne 1b\n\t"
                 ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,"
                 "20,21,22,23,24,25,26,27,28,29,30,31\n\t"
                 "str q\\r, [%[out], #\\r*16]\n\t.endr"
                 : [n] "+r"(n)
                 : [in] "r"(in->v), [out] "r"(out->v)
                 : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8",
                   "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16",
                   "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",
                   "v25", "v26", "v27", "v28", "v29", "v30", "v31",
                   "memory", "cc");
}

#else
/* NEON (required by the build) comes with 32 double registers. */
static unsigned vec_regs = 32, vec_size = 8;
static const char *vec_name = "d";

static void vec_roundtrip(const struct vec_state *in, struct vec_state *out,
                          unsigned long n)
{
    asm volatile("vldmia %[in], {d0-d15}\n\t"
                 "vldmia %[in2], {d16-d31}\n\t"
                 "1: subs %[n], %[n], #1\n\t"
                 "bne 1b\n\t"
                 "vstmia %[out], {d0-d15}\n\t"
                 "vstmia %[out2], {d16-d31}"
                 : [n] "+r"(n)
                 : [in] "r"(in->v), [in2] "r"(in->v + 128),
                   [out] "r"(out->v), [out2] "r"(out->v + 128)
                 : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8",
                   "d9", "d10", "d11", "d12", "d13", "d14", "d15", "d16",
                   "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24",
                   "d25", "d26", "d27", "d28", "d29", "d30", "d31",
                   "memory", "cc");
}
#endif

static void vec_detect(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    uint32_t xcr0_lo, xcr0_hi;

    /* AVX is usable only if the OS enabled the YMM state in XCR0. */
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) &&
        (c & bit_AVX)) {
        asm volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
        vec_feature = (xcr0_lo & 6) == 6;
    }
    vec_size = vec_feature ? 32 : 16;
    vec_name = vec_feature ? "ymm" : "xmm";
#elif defined(__aarch64__)
    vec_feature = 1;    /* Advanced SIMD is part of the Linux arm64 ABI */
#else
    vec_feature = (getauxval(AT_HWCAP) & (1 << 12)) != 0;  /* HWCAP_NEON */
#endif
}

/* Distinct bytes for each register, lane and round. */
static void vec_pattern(struct vec_state *s, uint64_t round)
{
    uint64_t x = round * PAT_G + 1;
#if defined(__x86_64__)
    long double ld = 1.0L + (double)round / 3.0;

    memcpy(s->x87, &ld, 10);
    s->mxcsr = 0x1f80 | (round & 3) << 13;     /* vary the rounding mode */
#endif

    for (unsigned i = 0; i < VEC_BYTES; i += 8) {
        uint64_t v;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = vec_marker ? (x & 0x0000ffffffffffffULL) | VMSTATE_LOOKALIKE : x;
        memcpy(s->v + i, &v, 8);
    }
}

static void vec_check(uint64_t round, unsigned long spins)
{
    static struct vec_state in, out;
    unsigned n = vec_regs * vec_size;

    vec_pattern(&in, round);
    memset(&out, 0, sizeof(out));
    vec_roundtrip(&in, &out, spins);
    if (!strcmp(selftest, "vec") && seq + 1 == 2) {
        out.v[n - 1] ^= 0x10;
        selftest[0] = 0;
    }
    for (unsigned i = 0; i < n; i += 8) {
        uint64_t want, got;

        memcpy(&want, in.v + i, 8);
        memcpy(&got, out.v + i, 8);
        if (want != got) {
            vec_bad = true;
            check_failed("vec", "reg=%s%u lane=%u expected=0x%016" PRIx64
                         " got=0x%016" PRIx64, vec_name, i / vec_size,
                         i % vec_size / 8, want, got);
            return;
        }
    }
#if defined(__x86_64__)
    if (memcmp(in.x87, out.x87, 10)) {
        vec_bad = true;
        check_failed("vec", "reg=st0");
    } else if (in.mxcsr != out.mxcsr) {
        vec_bad = true;
        check_failed("vec", "reg=mxcsr expected=0x%x got=0x%x",
                     in.mxcsr, out.mxcsr);
    }
#endif
}

#if defined(__x86_64__)
/*
 * SMI probe.  SeaBIOS leaves the pc machine with SMRAM closed at
 * 0xa0000, every CPU's SMBASE there, and an SMI raised on CPU 0 by each
 * write to the APM control port.  So, on CPU 0: load known values into
 * r12-r15, write the port, and spin; the CPU takes the SMI within the
 * spin, saves its registers in SMRAM, runs the firmware's handler there
 * and returns with RSM.  Then open SMRAM (the i440FX's D_OPEN bit) and
 * read the save area: it must hold our values (proof that this SMI, here,
 * went through SMM), and the registers after RSM must still hold them.
 * Without SMM the port write does nothing and the save area never holds
 * them: the probe fails, which the tests use to show it can.
 */
#define APM_CNT_PORT 0xb2
#define POST_PORT 0x80          /* a write that raises nothing */
#define SMI_COMMAND 0x5a        /* not ACPI enable (0xf1) or disable (0xf0) */
#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc
#define I440FX_SMRAM 0x72       /* host bridge 00:00.0, one byte */
#define SMRAM_D_OPEN 0x40
#define SMBASE 0xa0000
/* AMD64 save state map: r15 at 0xff80 from SMBASE, then r14, r13, r12 */
#define SMM_SAVE_R15 (SMBASE + 0xff80)

static uint8_t i440fx_smram_rw(int val)
{
    outl(0x80000000 | (I440FX_SMRAM & ~3), PCI_CONF_ADDR);
    if (val >= 0) {
        outb(val, PCI_CONF_DATA + (I440FX_SMRAM & 3));
    }
    return inb(PCI_CONF_DATA + (I440FX_SMRAM & 3));
}

static bool smi_setup(void)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (sched_setaffinity(0, sizeof(set), &set) ||
        ioperm(APM_CNT_PORT, 1, 1) || ioperm(POST_PORT, 1, 1) ||
        ioperm(PCI_CONF_ADDR, 8, 1)) {
        check_failed("smi", "setup errno=%d", errno);
        return false;
    }
    return true;
}

static void smi_probe(void)
{
    uint64_t magic = 0x5a11000000000000ULL | (seq + 1) << 8;
    uint64_t after[4], saved[4];
    unsigned long n = 4096;
    uint16_t port = APM_CNT_PORT;
    uint8_t smram;
    int fd, i;

    /* The self-test raises no SMI: the save area cannot hold our values */
    if (!strcmp(selftest, "smi")) {
        port = POST_PORT;
        selftest[0] = 0;
    }

    asm volatile("mov %[m], %%r12\n\t"
                 "lea 1(%[m]), %%r13\n\t"
                 "lea 2(%[m]), %%r14\n\t"
                 "lea 3(%[m]), %%r15\n\t"
                 "outb %%al, %%dx\n\t"
                 "1: dec %[n]\n\t"
                 "jnz 1b\n\t"
                 "mov %%r12, 0(%[o])\n\t"
                 "mov %%r13, 8(%[o])\n\t"
                 "mov %%r14, 16(%[o])\n\t"
                 "mov %%r15, 24(%[o])"
                 : [n] "+r"(n)
                 : [m] "r"(magic), [o] "r"(after), "a"(SMI_COMMAND),
                   "d"(port)
                 : "r12", "r13", "r14", "r15", "memory", "cc");

    smram = i440fx_smram_rw(-1);
    i440fx_smram_rw(smram | SMRAM_D_OPEN);
    fd = open("/dev/mem", O_RDONLY);
    if (fd < 0 || pread(fd, saved, sizeof(saved), SMM_SAVE_R15) !=
        sizeof(saved)) {
        check_failed("smi", "dev_mem errno=%d", errno);
        saved[0] = saved[1] = saved[2] = saved[3] = 0;
    }
    if (fd >= 0) {
        close(fd);
    }
    i440fx_smram_rw(smram);

    for (i = 0; i < 4; i++) {
        if (after[i] != magic + i) {
            check_failed("smi", "reg=r%d expected=0x%016" PRIx64
                         " got=0x%016" PRIx64, 12 + i, magic + i, after[i]);
            return;
        }
        /* saved[] runs r15, r14, r13, r12 */
        if (saved[3 - i] != magic + i) {
            check_failed("smi", "saved_r%d expected=0x%016" PRIx64
                         " got=0x%016" PRIx64 " smram=0x%02x", 12 + i,
                         magic + i, saved[3 - i], smram);
            return;
        }
    }
    smis++;
}
#else
static bool smi_setup(void)
{
    return false;               /* no SMM outside x86 */
}

static void smi_probe(void)
{
}
#endif

static bool set_option(const char *key, const char *val)
{
    unsigned long v = 0;
    const char *p;

    if (!strcmp(key, "selftest_fail") || !strcmp(key, "selftest-fail")) {
        snprintf(selftest, sizeof(selftest), "%s", val);
        return true;
    }
    for (p = val; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
    }
    if (p == val || *p) {
        return false;
    }
    if (!strcmp(key, "duration")) {
        duration_s = v;
    } else if (!strcmp(key, "interval_ms") || !strcmp(key, "interval-ms")) {
        interval_ms = v ? v : 1;
    } else if (!strcmp(key, "mem_mib") || !strcmp(key, "mem-mib")) {
        mem_mib = v;
    } else if (!strcmp(key, "vec_marker") || !strcmp(key, "vec-marker")) {
        vec_marker = v;
    } else if (!strcmp(key, "smi")) {
        smi = v;
    } else {
        return false;
    }
    return true;
}

/* vas.KEY=VALUE words of the kernel command line, when we are the guest. */
static void read_kernel_cmdline(void)
{
    char buf[4096], *save, *tok, *eq;
    FILE *f = fopen("/proc/cmdline", "r");
    size_t len;

    if (!f) {
        return;
    }
    len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = 0;
    for (tok = strtok_r(buf, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save)) {
        eq = strchr(tok, '=');
        if (!strncmp(tok, "vas.", 4) && eq) {
            *eq = 0;
            set_option(tok + 4, eq + 1);
        }
    }
}

/*
 * Sleep until @deadline (CLOCK_MONOTONIC ns) in poll() on stdin, so that a
 * "stop" line ends the run promptly.  Returns true if asked to stop.
 * stdin is looked at at least once, also when the period ran late (on a
 * slow host every period may), or "stop" would never be read.
 */
static bool wait_until(uint64_t deadline)
{
    static bool stdin_open = true;
    static char line[64];
    static size_t len;
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    uint64_t now = mono_ns();
    ssize_t r;

    do {
        int ms = now < deadline ? (deadline - now + NS_PER_MS - 1) / NS_PER_MS
                                : 0;

        pfd.revents = 0;
        if (poll(&pfd, stdin_open, ms) <= 0 || !(pfd.revents & POLLIN)) {
            if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
                stdin_open = false;
            }
            continue;
        }
        r = read(0, line + len, sizeof(line) - 1 - len);
        if (r <= 0) {
            stdin_open = false;     /* EOF: nobody can tell us to stop */
            continue;
        }
        len += r;
        line[len] = 0;
        if (strstr(line, "stop")) {
            return true;
        }
        if (memchr(line, '\n', len) || len == sizeof(line) - 1) {
            len = 0;                /* some other line: ignore it */
        }
    } while (!stop_requested && (now = mono_ns()) < deadline);
    return stop_requested;
}

static void on_signal(int sig)
{
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    uint64_t interval_ns, start, period, now, real, cycles;
    uint64_t round = 0, csum = 0;
    unsigned long spins = 1000, rounds;
    char smi_field[32];
    struct sigaction sa = { .sa_handler = on_signal };

    setvbuf(stdout, NULL, _IOLBF, 0);
    read_kernel_cmdline();
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) || i + 1 == argc ||
            !set_option(argv[i] + 2, argv[i + 1])) {
            fprintf(stderr, "usage: %s [--duration S] [--interval-ms N] "
                    "[--mem-mib N] [--vec-marker 0|1] "
                    "[--selftest-fail mem|vec|smi] [--smi 0|1]\n", argv[0]);
            return 2;
        }
        i++;
    }
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    vec_detect();
    if (smi && !smi_setup()) {
        smi = 0;
    }
    interval_ns = interval_ms * NS_PER_MS;

    mem_words = mem_mib * 1024 * 1024 / sizeof(uint64_t);
    mem = mem_words ? malloc(mem_words * sizeof(uint64_t)) : NULL;
    if (!mem) {
        if (mem_words) {
            check_failed("alloc", "mem_mib=%lu", mem_mib);
        }
        mem_words = 0;
    }
    mem_fill();

    report("VAS-BOOT arch=" ARCH_NAME " cpus=%ld mem_mib=%lu interval_ms=%lu "
           "duration_s=%lu " VEC_FEATURE "=%u", sysconf(_SC_NPROCESSORS_ONLN),
           mem_mib, interval_ms, duration_s, vec_feature);
    start = period = mono_ns();
    read_cycles();

    for (;;) {
        mem_bad = vec_bad = false;
        csum = mem_pass();
        if (!strcmp(selftest, "mem") && seq + 1 == 2 && mem_words) {
            mem[mem_words / 2] ^= 1ULL << 17;   /* found by the next pass */
            selftest[0] = 0;
        }

        /*
         * Keep the vector registers live for about half the period, in
         * spins of SPIN_TARGET_NS; the spin count follows the CPU speed,
         * which changes by orders of magnitude between KVM and TCG.
         */
        rounds = 0;
        do {
            uint64_t t0 = mono_ns(), dt;

            vec_check(++round, spins);
            rounds++;
            read_cycles();
            dt = mono_ns() - t0;
            if (dt < SPIN_TARGET_NS / 2 && spins < (1UL << 30)) {
                spins *= 2;
            } else if (dt > SPIN_TARGET_NS * 2 && spins > 1) {
                spins /= 2;
            }
        } while (mono_ns() - period < interval_ns / 2 && !stop_requested);

        if (smi) {
            smi_probe();
        }
        seq++;
        now = mono_ns();
        real = clock_ns(CLOCK_REALTIME);
        cycles = read_cycles();
        snprintf(smi_field, sizeof(smi_field), smi ? " smis=%lu" : "", smis);
        report("VAS-HB seq=%lu mono_ns=%" PRIu64 " real_ns=%" PRIu64
               " cycles=%" PRIu64 " csum=%016" PRIx64 " mem=%s vec=%s"
               " vec_rounds=%lu cpuid=%08x%s", seq, now, real, cycles, csum,
               mem_bad ? "bad" : "ok", vec_bad ? "bad" : "ok", rounds,
               cpuid_digest(), smi_field);
        if (duration_s && now - start >= duration_s * NS_PER_SEC) {
            break;
        }
        period += interval_ns;
        if (now > period) {
            period = now;   /* late (slow CPU or a pause): do not catch up */
        }
        if (wait_until(period)) {
            break;
        }
    }

    if (errors) {
        report("VAS-VERDICT FAIL heartbeats=%lu errors=%lu first=%s",
               seq, errors, first_error);
        return 1;
    }
    report("VAS-VERDICT OK heartbeats=%lu elapsed_mono_ns=%" PRIu64,
           seq, mono_ns() - start);
    return 0;
}
