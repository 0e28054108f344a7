/*
 * Accelerator switching: the x86 side of a switch in one process
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/object.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "hw/i386/apic.h"
#include "hw/i386/apic_internal.h"
#include "system/cpus.h"
#include "system/cpu-timers.h"
#include "system/hw_accel.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "system/accel-switch.h"
#include "cpu.h"
#include "cpu-internal.h"
#include "kvm/kvm_i386.h"
#include "tcg/tcg-cpu.h"
#include "x86-switch.h"
#include "x86-switch-internal.h"
#include "trace.h"

#include <linux/kvm.h>

static X86SwitchCPU *switch_cpus;

/*
 * Switchable VMs get the table at start-up, before vCPU threads exist;
 * other VMs when a migration from the other accelerator is loaded.
 */
X86SwitchCPU *x86_switch_cpu(CPUState *cs)
{
    if (!switch_cpus) {
        switch_cpus = g_new0(X86SwitchCPU, current_machine->smp.max_cpus);
    }
    return &switch_cpus[cs->cpu_index];
}

int64_t x86_switch_tsc_adjust(CPUX86State *env)
{
    return switch_cpus ? switch_cpus[env_cpu(env)->cpu_index].tsc_adjust : 0;
}

/*
 * The VM's elapsed ticks minus the host TSC: constant while the VM runs.
 * A paused VM's ticks stand still, so a switch reads it once for all its
 * vCPUs (tick_base), or their TSCs would end up apart by the time between
 * the reads.
 */
static int64_t ticks_minus_host_tsc(void)
{
    return cpus_get_elapsed_ticks() - cpu_get_host_ticks();
}

static int64_t tick_base;

/*
 * Paravirtual features TCG does not implement, or that KVM only offers
 * with its in-kernel local APIC: the guest would lose them on a switch.
 */
#define KVM_PV_FEATURES_NOT_SWITCHABLE                                  \
    ((1ULL << KVM_FEATURE_ASYNC_PF) | (1ULL << KVM_FEATURE_STEAL_TIME) | \
     (1ULL << KVM_FEATURE_PV_EOI) | (1ULL << KVM_FEATURE_PV_UNHALT) |   \
     (1ULL << KVM_FEATURE_PV_TLB_FLUSH) |                               \
     (1ULL << KVM_FEATURE_ASYNC_PF_VMEXIT) |                            \
     (1ULL << KVM_FEATURE_PV_SEND_IPI) |                                \
     (1ULL << KVM_FEATURE_POLL_CONTROL) |                               \
     (1ULL << KVM_FEATURE_PV_SCHED_YIELD) |                             \
     (1ULL << KVM_FEATURE_ASYNC_PF_INT))

/*
 * TCG keeps no kvmclock of its own: a guest that registers its clock
 * page while TCG runs would read a page nobody fills.
 */
#define KVM_PV_CLOCK_FEATURES                                           \
    ((1ULL << KVM_FEATURE_CLOCKSOURCE) | (1ULL << KVM_FEATURE_CLOCKSOURCE2) | \
     (1ULL << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

static bool x86_switch_check_config(MachineState *ms, Error **errp)
{
    X86MachineState *x86ms =
        X86_MACHINE(object_dynamic_cast(OBJECT(ms), TYPE_X86_MACHINE));

    /*
     * KVM's SMRAM address space (one per vCPU, built when the machine is
     * done) holds what TCG's would: system memory with /machine/smram
     * over it.  TCG runs SMM in it too, so SMM is there for both
     * accelerators exactly when KVM can run it.
     */
    if (x86ms && x86ms->smm != ON_OFF_AUTO_OFF) {
        if (kvm_has_smm()) {
            x86ms->smm = ON_OFF_AUTO_ON;
        } else if (x86ms->smm == ON_OFF_AUTO_ON) {
            error_setg(errp, "SMM needs KVM's SMM support "
                       "(KVM_CAP_X86_SMM), which this host's KVM lacks");
            error_append_hint(errp, "Use -machine smm=off.\n");
            return false;
        } else {
            x86ms->smm = ON_OFF_AUTO_OFF;
        }
    }
    /*
     * kvmvapic patches the guest's code differently for each
     * accelerator, so it cannot follow a switch.
     */
    object_register_sugar_prop("apic-common", "vapic", "off", false);
    switch_cpus = g_new0(X86SwitchCPU, ms->smp.max_cpus);
    return true;
}

/* Where TCG's XSAVE helpers put each component (standard format) */
static const struct {
    int bit;
    uint32_t offset;
} tcg_xsave_layout[] = {
    { XSTATE_YMM_BIT, offsetof(X86XSaveArea, avx_state) },
    { XSTATE_BNDREGS_BIT, offsetof(X86XSaveArea, bndreg_state) },
    { XSTATE_BNDCSR_BIT, offsetof(X86XSaveArea, bndcsr_state) },
    { XSTATE_OPMASK_BIT, offsetof(X86XSaveArea, opmask_state) },
    { XSTATE_ZMM_Hi256_BIT, offsetof(X86XSaveArea, zmm_hi256_state) },
    { XSTATE_Hi16_ZMM_BIT, offsetof(X86XSaveArea, hi16_zmm_state) },
    { XSTATE_PKRU_BIT, offsetof(X86XSaveArea, pkru_state) },
};

static bool check_xsave_layout(CPUX86State *env, Error **errp)
{
    uint64_t xcr0 = env->features[FEAT_XSAVE_XCR0_LO] |
                    (env->features[FEAT_XSAVE_XCR0_HI] << 32);
    int i;

    for (i = 0; i < ARRAY_SIZE(tcg_xsave_layout); i++) {
        int bit = tcg_xsave_layout[i].bit;

        if ((xcr0 & BIT_ULL(bit)) &&
            x86_ext_save_areas[bit].offset != tcg_xsave_layout[i].offset) {
            error_setg(errp, "XSAVE component %d is at offset %u on this "
                       "host but TCG puts it at %u", bit,
                       x86_ext_save_areas[bit].offset,
                       tcg_xsave_layout[i].offset);
            return false;
        }
    }
    return true;
}

/* Drop XSAVE components whose feature the CPU no longer has */
static void trim_xsave_components(CPUX86State *env)
{
    int i;

    for (i = 2; i < XSAVE_STATE_AREA_COUNT; i++) {
        const ExtSaveArea *esa = &x86_ext_save_areas[i];

        if (esa->size && !(env->features[esa->feature] & esa->bits)) {
            if (i < 32) {
                env->features[FEAT_XSAVE_XCR0_LO] &= ~BIT_ULL(i);
            } else {
                env->features[FEAT_XSAVE_XCR0_HI] &= ~BIT_ULL(i - 32);
            }
        }
    }
}

/*
 * The guest must see one CPU: keep only features both accelerators
 * present.  "max" and "host" shrink to that set; a named model that
 * needs more is refused, naming what TCG lacks.
 */
static bool x86_switch_cpu_realize(CPUState *cs, Error **errp)
{
    X86CPU *cpu = X86_CPU(cs);
    CPUX86State *env = &cpu->env;
    g_autoptr(GString) missing = g_string_new(NULL);
    FeatureWord w;

    env->features[FEAT_KVM] &= ~KVM_PV_FEATURES_NOT_SWITCHABLE;
    if (accel_switch_initial() == SWITCHABLE_ACCEL_TCG) {
        env->features[FEAT_KVM] &= ~KVM_PV_CLOCK_FEATURES;
    }
    for (w = 0; w < FEATURE_WORDS; w++) {
        uint64_t extra;
        int bit;

        if (w == FEAT_KVM || w == FEAT_KVM_HINTS ||
            w == FEAT_XSAVE_XCR0_LO || w == FEAT_XSAVE_XCR0_HI) {
            continue;
        }
        extra = env->features[w] & ~feature_word_info[w].tcg_features;
        if (!extra) {
            continue;
        }
        if (cpu->max_features) {
            env->features[w] &= ~extra;
            continue;
        }
        for (bit = 0; bit < 64; bit++) {
            const char *name = feature_word_info[w].feat_names[bit];

            if (extra & BIT_ULL(bit)) {
                g_string_append_printf(missing, " %s",
                                       name ? name : "(unnamed)");
            }
        }
    }
    if (missing->len) {
        error_setg(errp, "CPU model has features TCG cannot emulate:%s",
                   missing->str);
        error_append_hint(errp, "Use -cpu max, or a model without them.\n");
        return false;
    }
    trim_xsave_components(env);
    if (env->user_tsc_khz) {
        error_setg(errp, "tsc-frequency is not supported: TCG's TSC runs at "
                   "the host's rate");
        return false;
    }
    return check_xsave_layout(env, errp);
}

/*
 * With the userspace APIC, KVM gets an interrupt to inject only after the
 * APIC moved it from IRR to ISR.  If KVM has not delivered it yet, move it
 * back (it is the highest in service); the APIC then offers it again to
 * whichever accelerator runs next.  False if @vector is not the APIC's
 * (it came from the PIC).
 */
static bool apic_unaccept(CPUX86State *env, int vector)
{
    APICCommonState *s = APIC_COMMON(X86_CPU(env_cpu(env))->apic_state);
    int i;

    for (i = 255; i > vector; i--) {
        if (s->isr[i / 32] & BIT(i % 32)) {
            return false;
        }
    }
    if (!(s->isr[vector / 32] & BIT(vector % 32))) {
        return false;
    }
    s->isr[vector / 32] &= ~BIT(vector % 32);
    s->irr[vector / 32] |= BIT(vector % 32);
    env->interrupt_injected = -1;
    apic_poll_irq(X86_CPU(env_cpu(env))->apic_state);
    trace_x86_switch_unaccept(env_cpu(env)->cpu_index, vector);
    return true;
}

static bool x86_switch_leave(CPUState *cs, SwitchableAccel from, Error **errp)
{
    CPUX86State *env = cpu_env(cs);
    X86SwitchCPU *sc = x86_switch_cpu(cs);
    int64_t offset;

    if (env->hflags & HF_GUEST_MASK) {
        error_setg(errp, "CPU %d runs a nested guest: its nested "
                   "virtualization state cannot move yet", cs->cpu_index);
        return false;
    }
    if (from == SWITCHABLE_ACCEL_TCG) {
        /*
         * Not in a nested guest: KVM's own nested state (as KVM last had
         * it, or as it was created) is the one to carry, not the buffer
         * KVM allocated and never filled.
         */
        if (env->nested_state) {
            env->nested_state->size = kvm_max_nested_state_length();
            if (kvm_vcpu_ioctl(cs, KVM_GET_NESTED_STATE,
                               env->nested_state) < 0) {
                error_setg(errp, "cannot read KVM's nested state of CPU %d",
                           cs->cpu_index);
                return false;
            }
        }
        if (cs->exception_index >= 0 && cs->exception_index < EXCP_INTERRUPT) {
            error_setg(errp, "CPU %d has an exception in flight",
                       cs->cpu_index);
            return false;
        }
        return true;
    }
    /*
     * An exception, NMI or software interrupt KVM is still delivering must
     * be finished by KVM first; an interrupt it took from our APIC goes
     * back to the APIC, which delivers it again on either accelerator.
     */
    if (env->exception_injected || env->exception_pending ||
        env->nmi_injected ||
        (env->interrupt_injected >= 0 &&
         (env->soft_interrupt ||
          !apic_unaccept(cpu_env(cs), env->interrupt_injected)))) {
        error_setg(errp, "CPU %d has an event in flight", cs->cpu_index);
        return false;
    }
    /* The interrupt shadow is read when the state is saved */
    sc->left = true;
    if (cs == first_cpu) {
        tick_base = ticks_minus_host_tsc();
    }
    sc->tsc_adjust_known = !x86_kvm_tsc_offset(cs, false, &offset);
    if (sc->tsc_adjust_known) {
        sc->tsc_adjust = offset - tick_base;
    } else {
        sc->ticks_at_leave = cpus_get_elapsed_ticks();
    }
    return true;
}

static void put_full_state(CPUState *cs, run_on_cpu_data arg)
{
    Error **errp = arg.host_ptr;

    if (kvm_arch_put_registers(cs, KVM_PUT_FULL_STATE, errp) < 0) {
        return;
    }
    if (!x86_kvm_take_interrupt_shadow(cs)) {
        error_setg(errp, "cannot set the interrupt shadow");
        return;
    }
    /*
     * kvm_run still describes KVM's last exit, from before TCG ran: do not
     * let it say the guest can take an interrupt now.  The first entry
     * then asks KVM for an interrupt window instead of injecting blind.
     */
    cs->kvm_run->ready_for_interrupt_injection = 0;
    cs->vcpu_dirty = false;
}

/* Load the reconciled state into KVM, with the TSC where TCG left it */
static bool load_into_kvm(CPUState *cs, Error **errp)
{
    Error *err = NULL;
    int64_t offset;

    run_on_cpu(cs, put_full_state, RUN_ON_CPU_HOST_PTR(&err));
    if (err) {
        error_propagate_prepend(errp, err, "cannot load CPU %d into KVM: ",
                                cs->cpu_index);
        return false;
    }
    offset = x86_switch_tsc_adjust(cpu_env(cs)) + tick_base;
    x86_kvm_tsc_offset(cs, true, &offset);
    return true;
}

static struct kvm_cpuid2 *read_kvm_cpuid(CPUState *cs)
{
    struct kvm_cpuid2 *cpuid;
    int n = 128, ret;

    do {
        n *= 2;
        cpuid = g_malloc0(sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
        cpuid->nent = n;
        ret = kvm_vcpu_ioctl(cs, KVM_GET_CPUID2, cpuid);
        if (ret < 0) {
            g_free(cpuid);
            cpuid = NULL;
        }
    } while (ret == -E2BIG && n < 4096);
    return cpuid;
}

/*
 * What KVM answers for CPUID leaf @index, subleaf @count, from its table.
 * Returns false if the table has no such leaf at all.
 */
static bool kvm_cpuid_lookup(const struct kvm_cpuid2 *cpuid, uint32_t index,
                             uint32_t count, uint32_t *eax, uint32_t *ebx,
                             uint32_t *ecx, uint32_t *edx)
{
    const struct kvm_cpuid_entry2 *e, *sub1 = NULL;
    bool known = false;
    int i;

    for (i = 0; i < cpuid->nent; i++) {
        e = &cpuid->entries[i];
        if (e->function != index) {
            continue;
        }
        known = true;
        if (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
            e->index == count) {
            *eax = e->eax;
            *ebx = e->ebx;
            *ecx = e->ecx;
            *edx = e->edx;
            return true;
        }
        if (e->index == 1) {
            sub1 = e;
        }
    }
    if (!known) {
        return false;
    }
    /* A missing subleaf reads as zeros, but topology leaves keep CL, EDX */
    *eax = *ebx = *ecx = *edx = 0;
    if ((index == 0xb || index == 0x1f) && sub1) {
        *ecx = count & 0xff;
        *edx = sub1->edx;
    }
    return true;
}

/*
 * The guest must see one CPU, so under TCG it gets the CPUID table KVM
 * presents (KVM builds it with its own adjustments: signature, paravirt
 * leaves, vendor quirks).  Only the bits that follow the guest's state
 * come from TCG's own answer, which derives them the same way KVM does:
 * OSXSAVE and OSPKE from CR4, and the XSAVE area sizes from XCR0/XSS.
 */
void x86_switch_cpuid(CPUX86State *env, uint32_t index, uint32_t count,
                      uint32_t *eax, uint32_t *ebx, uint32_t *ecx,
                      uint32_t *edx)
{
    CPUState *cs = env_cpu(env);
    X86SwitchCPU *sc;
    uint32_t tcg_ebx = *ebx, tcg_ecx = *ecx;

    if (!accel_switch_enabled() || !tcg_enabled()) {
        return;
    }
    sc = x86_switch_cpu(cs);
    if (!sc->kvm_cpuid) {
        sc->kvm_cpuid = read_kvm_cpuid(cs);
        if (!sc->kvm_cpuid) {
            return;
        }
    }
    if (!kvm_cpuid_lookup(sc->kvm_cpuid, index, count, eax, ebx, ecx, edx)) {
        /*
         * Beyond the last leaf, Intel CPUs (and KVM for Intel guests)
         * answer with the last basic leaf, AMD ones with zeros.
         */
        uint32_t max_basic = 0, unused;

        kvm_cpuid_lookup(sc->kvm_cpuid, 0, 0, &max_basic, &unused, &unused,
                         &unused);
        *eax = *ebx = *ecx = *edx = 0;
        if (!IS_AMD_CPU(env)) {
            kvm_cpuid_lookup(sc->kvm_cpuid, max_basic, count, eax, ebx, ecx,
                             edx);
        }
    }
    if (index == 1) {
        *ecx = (*ecx & ~CPUID_EXT_OSXSAVE) | (tcg_ecx & CPUID_EXT_OSXSAVE);
    } else if (index == 7 && count == 0) {
        *ecx = (*ecx & ~CPUID_7_0_ECX_OSPKE) | (tcg_ecx & CPUID_7_0_ECX_OSPKE);
    } else if (index == 0xd && count <= 1) {
        *ebx = tcg_ebx;
    }
}

static bool x86_switch_enter_vm(SwitchableAccel from, SwitchableAccel to,
                                Error **errp)
{
    struct kvm_clock_data data = {};
    CPUState *cs;
    uint64_t now;
    int ret;

    if (to != SWITCHABLE_ACCEL_KVM) {
        x86_reconcile_run_tcg();
        return true;
    }
    tick_base = ticks_minus_host_tsc();
    CPU_FOREACH(cs) {
        if (!load_into_kvm(cs, errp)) {
            return false;
        }
    }
    if (x86_guest_kvmclock_ns(X86_CPU(first_cpu), &now)) {
        data.clock = now;
        /* Resume KVM's clock where the guest's clock is now, not earlier */
        ret = kvm_vm_ioctl(kvm_state, KVM_SET_CLOCK, &data);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "cannot set KVM's clock");
            return false;
        }
        trace_x86_switch_kvmclock(data.clock);
    }
    /*
     * KVM's TSC has run since the registers went in, its clock only since
     * now: bring the TSC back in step with the clock the guest checks it
     * against, or the guest's watchdog sees the TSC jump ahead by the
     * time between the two (half a millisecond once, in the test host).
     */
    x86_reconcile_resume_tsc();
    return true;
}

static const AccelSwitchArchOps x86_switch_ops = {
    .check_config = x86_switch_check_config,
    .cpu_realize = x86_switch_cpu_realize,
    .leave = x86_switch_leave,
    .cpu_pre_save = x86_reconcile_cpu_pre_save,
    .enter = x86_reconcile_enter,
    .enter_vm = x86_switch_enter_vm,
    .describe_cpu = x86_reconcile_describe_cpu,
    .check_incoming = x86_reconcile_check_incoming,
    .incoming_done = x86_reconcile_incoming_done,
    .machine_done = x86_kvmclock_standby_register,
};

static void x86_switch_register(void)
{
    accel_switch_register_arch(&x86_switch_ops);
}

type_init(x86_switch_register);
