/*
 * Accelerator switching: reconciling x86 vCPU state between KVM and TCG
 *
 * KVM and TCG keep parts of the vCPU state differently: x87 register
 * order, the flags TCG computes lazily, events KVM is in the middle of
 * delivering, the interrupt shadow, the TSC.  The rules here run for an
 * in-process switch and for a migration between processes alike: on the
 * saving side from the CPU's pre_save, on the loading side from its
 * post_load when the state was saved by the other accelerator.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/cpus.h"
#include "system/cpu-timers.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "exec/cpu-common.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "hw/i386/apic.h"
#include "cpu.h"
#include "cpu-internal.h"
#include "kvm/kvm_i386.h"
#include "tcg/tcg-cpu.h"
#include "standard-headers/asm-x86/kvm_para.h"
#include "x86-switch-internal.h"
#include "trace.h"

#include <linux/kvm.h>

/*
 * The interrupt shadow: after STI (or MOV SS) the CPU takes no interrupt
 * until the next instruction is done.  QEMU's KVM code neither reads nor
 * writes it, which is fine while KVM keeps it in the kernel, but when the
 * vCPU leaves KVM it must move with it: "sti; hlt" relies on it, and an
 * interrupt let in between the two is handled before HLT, which then
 * waits for a wake-up that has already come.  TCG keeps the shadow in
 * HF_INHIBIT_IRQ_MASK, which vmstate carries as part of hflags.
 */
bool x86_kvm_get_interrupt_shadow(CPUState *cs, bool *shadow)
{
    struct kvm_vcpu_events events;

    if (kvm_vcpu_ioctl(cs, KVM_GET_VCPU_EVENTS, &events) < 0) {
        return false;
    }
    *shadow = events.interrupt.shadow != 0;
    return true;
}

/*
 * Entering KVM: the shadow moves into the kernel and leaves hflags.  A
 * copy left there would go stale, and cpu_has_work() reads it: a vCPU
 * halted under KVM with QEMU's APIC, an interrupt pending, would sleep
 * on.  pre_save fetches the shadow back from KVM.
 */
bool x86_kvm_take_interrupt_shadow(CPUState *cs)
{
    CPUX86State *env = cpu_env(cs);
    struct kvm_vcpu_events events;

    if (kvm_vcpu_ioctl(cs, KVM_GET_VCPU_EVENTS, &events) < 0) {
        return false;
    }
    events.interrupt.shadow = env->hflags & HF_INHIBIT_IRQ_MASK ?
                              KVM_X86_SHADOW_INT_STI : 0;
    events.flags |= KVM_VCPUEVENT_VALID_SHADOW;
    if (kvm_vcpu_ioctl(cs, KVM_SET_VCPU_EVENTS, &events) < 0) {
        return false;
    }
    env->hflags &= ~HF_INHIBIT_IRQ_MASK;
    return true;
}

/*
 * KVM shows guest TSC = host TSC + a per-vCPU offset, TCG shows elapsed
 * ticks + tsc_adjust: moving the offset itself carries the TSC over
 * exactly.  Writing MSR_IA32_TSC instead is not exact: KVM snaps a value
 * written within a second of what it expects to its previous offset.
 * (KVM_VCPU_TSC_OFFSET appeared in Linux 5.16; older kernels get the MSR.)
 */
int x86_kvm_tsc_offset(CPUState *cs, bool set, int64_t *offset)
{
    struct kvm_device_attr attr = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
        .addr = (uintptr_t)offset,
    };

    return kvm_vcpu_ioctl(cs, set ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR,
                          &attr);
}

/*
 * A migration destination writes the guest TSC into KVM when it loads
 * the state, and KVM's TSC runs from then on, also while the VM waits
 * to be started.  The guest's other clocks resume where the source
 * stopped them: the devices' timers (HPET, PIT, ACPI PM) with QEMU's
 * virtual clock as the VM starts, kvm-clock a moment later, when the
 * kvmclock device sets it (KVM_SET_CLOCK, before this runs).  The
 * guest's clocksource watchdog checks the TSC against kvm-clock if the
 * guest uses it, against a device timer otherwise: the TSC resumes from
 * the value taken, advanced by what that clock has run since it was
 * taken: at the load on a destination, whose clock stood still, at
 * TCG's save in a switch, whose clock ran on (enter_kvm()).  An
 * in-process switch to KVM writes the registers before it sets
 * kvm-clock too, and ends the same way.
 *
 * The clock is read together with the host TSC it goes with, so the
 * TSC offset computed from the pair is exact however long the ioctls
 * around it take.  Read one after the other, they were apart by ~20 us
 * on every switch in the nested test host, and by milliseconds when its
 * vCPU was preempted in between: the guest's watchdog saw the TSC fall
 * behind kvm-clock by that much and marked it unstable.  KVM returns
 * the pair from KVM_GET_CLOCK since Linux 5.16; before, the host TSC is
 * read right after the ioctl.
 */
static int64_t watchdog_clock_run_ns(CPUState *cs, X86SwitchCPU *sc,
                                     uint64_t *host_tsc)
{
    struct kvm_clock_data clock = {};
    uint64_t loaded_ns;
    int64_t now_ns;

    if (!x86_guest_kvmclock_ns_at(X86_CPU(cs), sc->loaded_tsc, &loaded_ns)) {
        now_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        *host_tsc = cpu_get_host_ticks();
        return now_ns - sc->loaded_clock_ns;
    }
    if (kvm_vm_ioctl(kvm_state, KVM_GET_CLOCK, &clock) < 0) {
        *host_tsc = cpu_get_host_ticks();
        return 0;
    }
    *host_tsc = clock.flags & KVM_CLOCK_HOST_TSC ? clock.host_tsc
                                                 : cpu_get_host_ticks();
    return clock.clock - loaded_ns;
}

/*
 * All vCPUs get the one offset computed on CPU 0.  KVM keeps its master
 * clock (one pvclock copy for all vCPUs, "TSC stable" for the guest)
 * only while every vCPU has the same TSC offset, and the guest expects
 * its TSCs in step.  (KVM's guest TSC is the host's plus the offset: a
 * switchable VM's TSC runs at the host's rate, unscaled.)
 */
void x86_reconcile_resume_tsc(void)
{
    CPUState *cs = first_cpu;
    X86SwitchCPU *sc = x86_switch_cpu(cs);
    uint64_t host_tsc, tsc = sc->loaded_tsc;
    int64_t run_ns = watchdog_clock_run_ns(cs, sc, &host_tsc);
    int64_t offset;

    /* A clock behind the load, or a minute ahead, is not to be followed */
    if (run_ns > 0 && run_ns < 60 * NANOSECONDS_PER_SECOND) {
        tsc += muldiv64(run_ns, cpu_env(cs)->tsc_khz, 1000000);
    }
    offset = tsc - host_tsc;
    CPU_FOREACH(cs) {
        if (x86_kvm_tsc_offset(cs, true, &offset) < 0) {
            break;
        }
    }
    trace_x86_reconcile_resume_tsc(run_ns, offset);
}

/*
 * Saving side: what vmstate does not fetch by itself.  Under TCG the
 * guest TSC is computed, never stored; under KVM the interrupt shadow
 * stays in the kernel.
 */
void x86_reconcile_cpu_pre_save(CPUState *cs, SwitchableAccel accel)
{
    CPUX86State *env = cpu_env(cs);
    bool shadow;

    if (accel == SWITCHABLE_ACCEL_TCG) {
        X86SwitchCPU *sc = x86_switch_cpu(cs);

        env->tsc = cpu_get_tsc(env);
        sc->tcg_saved = true;
        sc->tcg_saved_clock_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    } else if (x86_kvm_get_interrupt_shadow(cs, &shadow)) {
        env->hflags = (env->hflags & ~HF_INHIBIT_IRQ_MASK) |
                      (shadow ? HF_INHIBIT_IRQ_MASK : 0);
    }
}

/*
 * x87 registers: TCG keeps env->fpregs[] by physical register (ST(i) is
 * fpregs[(fpstt + i) & 7]), KVM in stack order, as FXSAVE stores them
 * (fpregs[i] is ST(i)).  The two agree only while TOP is 0.
 */
static void fpregs_stack_to_physical(CPUX86State *env)
{
    FPReg st[8];
    int i;

    memcpy(st, env->fpregs, sizeof(st));
    for (i = 0; i < 8; i++) {
        env->fpregs[(env->fpstt + i) & 7] = st[i];
    }
}

static void fpregs_physical_to_stack(CPUX86State *env)
{
    FPReg phys[8];
    int i;

    memcpy(phys, env->fpregs, sizeof(phys));
    for (i = 0; i < 8; i++) {
        env->fpregs[i] = phys[(env->fpstt + i) & 7];
    }
}

/*
 * KVM's record of an event it was delivering when it stopped, redone the
 * way TCG delivers events: through cs->exception_index, which cpu_exec()
 * handles before it runs any guest code.  (A switch moves pending
 * interrupts back to the APIC before it saves; a migration source with
 * the in-kernel APIC cannot.)  A software interrupt is not redone: KVM
 * does not report its instruction length.
 */
static void kvm_events_to_tcg(CPUState *cs, CPUX86State *env)
{
    int vector = -1;

    if (env->exception_injected || env->exception_pending) {
        vector = env->exception_nr;
        env->error_code = env->has_error_code ? env->error_code : 0;
        if (env->exception_pending && env->exception_has_payload) {
            if (vector == EXCP0E_PAGE) {
                env->cr[2] = env->exception_payload;
            } else if (vector == EXCP01_DB) {
                env->dr[6] |= env->exception_payload;
            }
        }
    } else if (env->nmi_injected) {
        vector = EXCP02_NMI;
        env->hflags2 |= HF2_NMI_MASK;
    } else if (env->interrupt_injected >= 0 && !env->soft_interrupt) {
        vector = env->interrupt_injected;
        env->error_code = 0;
    }
    if (vector >= 0) {
        cs->exception_index = vector;
        env->exception_is_int = 0;
        cs->halted = 0;
        trace_x86_reconcile_redeliver(cs->cpu_index, vector);
    }
    if (env->nmi_pending) {
        cs->interrupt_request |= CPU_INTERRUPT_NMI;
    }

    env->interrupt_injected = -1;
    env->soft_interrupt = 0;
    env->exception_nr = -1;
    env->exception_injected = 0;
    env->exception_pending = 0;
    env->exception_has_payload = 0;
    env->exception_payload = 0;
    env->nmi_injected = 0;
    env->nmi_pending = 0;
}

/*
 * Paravirtual pages KVM writes and TCG does not.  A PV EOI flag KVM set
 * when it injected an interrupt tells the guest to skip its EOI write:
 * TCG's APIC would then never see the EOI.  A "preempted" flag in the
 * steal-time page makes the guest leave TLB flushes and lock hand-offs
 * to a host that no longer does them.  Clear both, as KVM would.
 */
static void clear_kvm_pv_flags(CPUX86State *env)
{
    uint8_t zero = 0;

    if (env->pv_eoi_en_msr & 1) {
        cpu_physical_memory_write(env->pv_eoi_en_msr & ~3ULL, &zero, 1);
    }
    if (env->steal_time_msr & 1) {
        cpu_physical_memory_write((env->steal_time_msr & ~63ULL) +
                                  offsetof(struct kvm_steal_time, preempted),
                                  &zero, 1);
    }
}

static void enter_tcg(CPUState *cs, CPUX86State *env)
{
    X86SwitchCPU *sc = x86_switch_cpu(cs);

    fpregs_stack_to_physical(env);
    /* A VM started on KVM never initialized TCG's FPU status words */
    cpu_init_fp_statuses(env);
    update_fp_status(env);
    update_mxcsr_status(env);

    /*
     * KVM only keeps the hflags that x86_update_hflags() computes; the
     * ones TCG's translator also reads follow from CR4, XCR0 and EFER.
     */
    x86_update_hflags(env);
    cpu_x86_update_cr4(env, env->cr[4]);
    cpu_load_efer(env, env->efer);

    /* Outside cpu_exec() TCG keeps the arithmetic flags in CC_SRC */
    env->cc_src = env->eflags & (CC_O | CC_S | CC_Z | CC_A | CC_P | CC_C);
    env->cc_op = CC_OP_EFLAGS;
    env->df = env->eflags & DF_MASK ? -1 : 1;

    kvm_events_to_tcg(cs, env);

    /*
     * The TSC goes on from the value KVM last showed.  A switch that
     * could read KVM's TSC offset has the exact adjustment already; a
     * migration loads the value at the source's stop, and the elapsed
     * ticks, migrated too, are frozen at that same moment until the VM
     * runs.
     */
    if (!sc->tsc_adjust_known) {
        sc->tsc_adjust = env->tsc - (sc->left ? sc->ticks_at_leave :
                                     cpus_get_elapsed_ticks());
    }
    sc->tsc_adjust_known = false;
    sc->left = false;
}

static void enter_kvm(CPUState *cs, CPUX86State *env)
{
    X86SwitchCPU *sc = x86_switch_cpu(cs);

    /*
     * Loading a wall clock address makes KVM rewrite that guest page at
     * once, before the VM runs: a destination's RAM would differ from
     * what the source left (with shared RAM, the source's own, while it
     * may still resume).  The guest writes the MSR itself each time
     * before it reads the wall clock, so KVM does not need it.
     */
    env->wall_clock_msr = 0;
    /*
     * A migration loads the TSC after the virtual clock ("timer" is one
     * of the first sections): both are where the source stopped.  A
     * switch in this process does not stop the virtual clock, which the
     * guest's device timers follow: the TSC stood where TCG saved it.
     */
    sc->loaded_tsc = env->tsc;
    sc->loaded_clock_ns = sc->tcg_saved ? sc->tcg_saved_clock_ns :
                          qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    sc->tcg_saved = false;
    cs->exception_index = -1;
    cs->interrupt_request &= ~CPU_INTERRUPT_EXITTB;
    fpregs_physical_to_stack(env);
    /*
     * TCG keeps no MP state: with the in-kernel APIC a halted vCPU stays
     * halted in KVM; with QEMU's APIC, QEMU itself waits on cs->halted.
     */
    if (cs->halted && kvm_irqchip_in_kernel()) {
        env->mp_state = KVM_MP_STATE_HALTED;
        cs->halted = 0;
    } else {
        env->mp_state = KVM_MP_STATE_RUNNABLE;
    }
}

bool x86_reconcile_enter(CPUState *cs, SwitchableAccel from,
                         SwitchableAccel to, Error **errp)
{
    if (to == SWITCHABLE_ACCEL_TCG) {
        enter_tcg(cs, cpu_env(cs));
    } else {
        enter_kvm(cs, cpu_env(cs));
    }
    return true;
}

/*
 * The guest-visible CPU, as the destination of a migration checks it:
 * CPUID feature words of the first vCPU.
 */
uint32_t x86_reconcile_describe_cpu(uint64_t *words, uint32_t max)
{
    CPUX86State *env = cpu_env(first_cpu);
    uint32_t n = MIN(max, FEATURE_WORDS);

    memcpy(words, env->features, n * sizeof(*words));
    return n;
}

/* KVM paravirtual features the guest drives by hypercall: TCG has none */
#define KVM_PV_HYPERCALL_FEATURES                                        \
    ((1ULL << KVM_FEATURE_PV_UNHALT) | (1ULL << KVM_FEATURE_PV_SEND_IPI) | \
     (1ULL << KVM_FEATURE_PV_SCHED_YIELD))

static void append_names(GString *s, FeatureWord w, uint64_t bits)
{
    int bit;

    for (bit = 0; bit < 64; bit++) {
        if (bits & BIT_ULL(bit)) {
            const char *name = feature_word_info[w].feat_names[bit];

            g_string_append_printf(s, " %s", name ? name : "(unnamed)");
        }
    }
}

/* Words that are CPUID bits the guest reads, other than paravirt ones */
static bool guest_cpuid_word(FeatureWord w)
{
    return feature_word_info[w].type == CPUID_FEATURE_WORD &&
           w != FEAT_KVM && w != FEAT_KVM_HINTS &&
           w != FEAT_XSAVE_XCR0_LO && w != FEAT_XSAVE_XCR0_HI &&
           w != FEAT_XSAVE_XSS_LO && w != FEAT_XSAVE_XSS_HI;
}

/*
 * Destination side, before any guest state arrives: can a guest that
 * saw the source's CPU go on with this one, under the other accelerator?
 */
bool x86_reconcile_check_incoming(SwitchableAccel from, SwitchableAccel to,
                                  const uint64_t *words, uint32_t n,
                                  Error **errp)
{
    CPUX86State *env = cpu_env(first_cpu);
    g_autoptr(GString) missing = g_string_new(NULL);
    FeatureWord w;

    for (w = 0; w < MIN(n, FEATURE_WORDS); w++) {
        if (guest_cpuid_word(w)) {
            append_names(missing, w, words[w] & ~env->features[w]);
        }
    }
    if (missing->len) {
        error_setg(errp, "the guest's CPU has features this %s CPU "
                   "lacks:%s", SwitchableAccel_str(to), missing->str);
        error_append_hint(errp, "Give both sides the same -cpu model, one "
                          "that both accelerators can present.\n");
        return false;
    }
    if (n > FEAT_8000_0001_ECX &&
        ((words[FEAT_1_ECX] & CPUID_EXT_VMX) ||
         (words[FEAT_8000_0001_ECX] & CPUID_EXT3_SVM))) {
        error_setg(errp, "the guest's CPU has vmx or svm: nested "
                   "virtualization state cannot move between accelerators");
        error_append_hint(errp, "Start the source with -cpu ...,vmx=off,"
                          "svm=off.\n");
        return false;
    }
    if (to == SWITCHABLE_ACCEL_TCG && n > FEAT_KVM &&
        (words[FEAT_KVM] & KVM_PV_HYPERCALL_FEATURES)) {
        append_names(missing, FEAT_KVM,
                     words[FEAT_KVM] & KVM_PV_HYPERCALL_FEATURES);
        error_setg(errp, "the guest was offered KVM paravirtual features "
                   "that TCG cannot serve:%s", missing->str);
        error_append_hint(errp, "Turn them off on the source's -cpu.\n");
        return false;
    }
    return true;
}

/*
 * Just before the vCPUs run under TCG after KVM: guest memory is written
 * only now, so that a migration's destination holds exactly the source's
 * RAM until it runs.
 */
void x86_reconcile_run_tcg(void)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        clear_kvm_pv_flags(cpu_env(cs));
    }
}

/*
 * Destination side, after the whole state was loaded and pushed into the
 * accelerator, before the vCPUs run.  TCG's vCPUs learn of interrupts
 * pending in the APIC; KVM gets the interrupt shadow, which its register
 * upload leaves alone, and the TSC the source stopped at.
 */
void x86_reconcile_incoming_done(SwitchableAccel from, SwitchableAccel to)
{
    CPUState *cs;

    if (to == SWITCHABLE_ACCEL_TCG) {
        /*
         * An interrupt the in-kernel APIC held pending arrived in the
         * APIC's IRR, but only the APIC's own updates raise the vCPU's
         * interrupt line: without one, a halted vCPU sleeps on.
         */
        CPU_FOREACH(cs) {
            apic_poll_irq(X86_CPU(cs)->apic_state);
        }
        x86_reconcile_run_tcg();
        return;
    }
    CPU_FOREACH(cs) {
        if (!x86_kvm_take_interrupt_shadow(cs)) {
            warn_report("cannot set the interrupt shadow of CPU %d",
                        cs->cpu_index);
        }
    }
    x86_reconcile_resume_tsc();
}
