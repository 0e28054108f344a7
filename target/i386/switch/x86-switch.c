/*
 * Accelerator switching: what x86 CPUs need to move between KVM and TCG
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/host-utils.h"
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
#include "trace.h"

#include <linux/kvm.h>

/*
 * Per-vCPU clock bookkeeping.  TCG derives the guest TSC from the host
 * ticks (cpu_get_tsc()), KVM from its own offset; tsc_adjust carries the
 * guest's TSC value across, so that it neither jumps nor stops.
 */
typedef struct X86SwitchCPU {
    int64_t tsc_adjust;         /* guest TSC under TCG - elapsed ticks */
    bool tsc_adjust_known;      /* tsc_adjust came from KVM's TSC offset */
    int64_t ticks_at_leave;     /* elapsed ticks when KVM's TSC was read */
    struct kvm_cpuid2 *kvm_cpuid;   /* the CPUID table KVM presents */
} X86SwitchCPU;

static X86SwitchCPU *switch_cpus;

int64_t x86_switch_tsc_adjust(CPUX86State *env)
{
    return switch_cpus ? switch_cpus[env_cpu(env)->cpu_index].tsc_adjust : 0;
}

/* The VM's elapsed ticks minus the host TSC: constant while the VM runs */
static int64_t ticks_minus_host_tsc(void)
{
    return cpus_get_elapsed_ticks() - cpu_get_host_ticks();
}

/*
 * KVM shows guest TSC = host TSC + a per-vCPU offset, TCG shows elapsed
 * ticks + tsc_adjust: moving the offset itself carries the TSC over
 * exactly.  Writing MSR_IA32_TSC instead is not exact: KVM snaps a value
 * written within a second of what it expects to its previous offset.
 * (KVM_VCPU_TSC_OFFSET appeared in Linux 5.16; older kernels get the MSR.)
 */
static int kvm_tsc_offset(CPUState *cs, bool set, int64_t *offset)
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

    if (x86ms) {
        /* TCG and KVM keep different SMRAM address spaces */
        if (x86ms->smm == ON_OFF_AUTO_ON) {
            error_setg(errp, "SMM is not supported yet");
            error_append_hint(errp, "Use -machine smm=off.\n");
            return false;
        }
        x86ms->smm = ON_OFF_AUTO_OFF;
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

/*
 * The interrupt shadow: after STI (or MOV SS) the CPU takes no interrupt
 * until the next instruction is done.  QEMU's KVM code neither reads nor
 * writes it, which is fine while KVM keeps it in the kernel, but across
 * a switch it must move with the vCPU: "sti; hlt" relies on it, and an
 * interrupt let in between the two is handled before HLT, which then
 * waits for a wake-up that has already come.  TCG keeps the shadow in
 * HF_INHIBIT_IRQ_MASK, which vmstate carries as part of hflags.
 */
static bool kvm_get_interrupt_shadow(CPUState *cs, bool *shadow)
{
    struct kvm_vcpu_events events;

    if (kvm_vcpu_ioctl(cs, KVM_GET_VCPU_EVENTS, &events) < 0) {
        return false;
    }
    *shadow = events.interrupt.shadow != 0;
    return true;
}

static bool kvm_set_interrupt_shadow(CPUState *cs, bool shadow)
{
    struct kvm_vcpu_events events;

    if (kvm_vcpu_ioctl(cs, KVM_GET_VCPU_EVENTS, &events) < 0) {
        return false;
    }
    events.interrupt.shadow = shadow ? KVM_X86_SHADOW_INT_STI : 0;
    events.flags |= KVM_VCPUEVENT_VALID_SHADOW;
    return kvm_vcpu_ioctl(cs, KVM_SET_VCPU_EVENTS, &events) == 0;
}

static bool x86_switch_leave(CPUState *cs, SwitchableAccel from, Error **errp)
{
    CPUX86State *env = cpu_env(cs);
    X86SwitchCPU *sc = &switch_cpus[cs->cpu_index];
    int64_t offset;
    bool shadow;

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
    if (!kvm_get_interrupt_shadow(cs, &shadow)) {
        error_setg(errp, "cannot read the interrupt shadow of CPU %d",
                   cs->cpu_index);
        return false;
    }
    env->hflags = (env->hflags & ~HF_INHIBIT_IRQ_MASK) |
                  (shadow ? HF_INHIBIT_IRQ_MASK : 0);
    sc->tsc_adjust_known = !kvm_tsc_offset(cs, false, &offset);
    if (sc->tsc_adjust_known) {
        sc->tsc_adjust = offset - ticks_minus_host_tsc();
    } else {
        sc->ticks_at_leave = cpus_get_elapsed_ticks();
    }
    return true;
}

/*
 * KVM's record of events it is delivering; TCG delivers its own events at
 * once.  Left set, they would be delivered a second time back on KVM (and
 * cpu_post_load() turns a stale exception_nr into an injected exception).
 */
static void clear_kvm_events(CPUX86State *env)
{
    env->interrupt_injected = -1;
    env->soft_interrupt = 0;
    env->exception_nr = -1;
    env->exception_injected = 0;
    env->exception_pending = 0;
    env->exception_has_payload = 0;
    env->exception_payload = 0;
    env->nmi_injected = 0;
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

static void enter_tcg(X86CPU *cpu)
{
    CPUState *cs = CPU(cpu);
    CPUX86State *env = &cpu->env;
    X86SwitchCPU *sc = &switch_cpus[cs->cpu_index];

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

    clear_kvm_events(env);

    if (!sc->tsc_adjust_known) {
        sc->tsc_adjust = env->tsc - sc->ticks_at_leave;
    }
}

static void put_full_state(CPUState *cs, run_on_cpu_data arg)
{
    Error **errp = arg.host_ptr;

    if (kvm_arch_put_registers(cs, KVM_PUT_FULL_STATE, errp) < 0) {
        return;
    }
    if (!kvm_set_interrupt_shadow(cs, cpu_env(cs)->hflags &
                                      HF_INHIBIT_IRQ_MASK)) {
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

static bool enter_kvm(X86CPU *cpu, Error **errp)
{
    CPUState *cs = CPU(cpu);
    CPUX86State *env = &cpu->env;
    Error *err = NULL;
    int64_t offset;

    cs->exception_index = -1;
    cs->interrupt_request &= ~CPU_INTERRUPT_EXITTB;
    fpregs_physical_to_stack(env);
    env->mp_state = KVM_MP_STATE_RUNNABLE;
    env->tsc = cpu_get_tsc(env);

    run_on_cpu(cs, put_full_state, RUN_ON_CPU_HOST_PTR(&err));
    if (err) {
        error_propagate_prepend(errp, err, "cannot load CPU %d into KVM: ",
                                cs->cpu_index);
        return false;
    }
    offset = x86_switch_tsc_adjust(env) + ticks_minus_host_tsc();
    kvm_tsc_offset(cs, true, &offset);
    return true;
}

static bool x86_switch_enter(CPUState *cs, SwitchableAccel from,
                             SwitchableAccel to, Error **errp)
{
    if (to == SWITCHABLE_ACCEL_TCG) {
        enter_tcg(X86_CPU(cs));
        return true;
    }
    return enter_kvm(X86_CPU(cs), errp);
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

    if (!switch_cpus || !tcg_enabled()) {
        return;
    }
    sc = &switch_cpus[cs->cpu_index];
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

/* struct pvclock_vcpu_time_info, as the guest's clock page holds it */
typedef struct QEMU_PACKED PVClockTimeInfo {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
} PVClockTimeInfo;

static uint64_t pvclock_scale(uint64_t delta, uint32_t mul)
{
    uint64_t lo, hi;

    mulu64(&lo, &hi, delta, mul);
    return (hi << 32) | (lo >> 32);
}

/*
 * The guest's kvmclock, read as the guest reads it: from the page KVM
 * last filled and the current TSC.  Under TCG nobody updates the page,
 * and the TSC alone moves the guest's time on.
 */
static bool guest_kvmclock_ns(X86CPU *cpu, uint64_t *ns)
{
    CPUX86State *env = &cpu->env;
    PVClockTimeInfo t;
    uint64_t delta;

    if (!(env->system_time_msr & 1)) {
        return false;
    }
    cpu_physical_memory_read(env->system_time_msr & ~1ULL, &t, sizeof(t));
    if (!le32_to_cpu(t.tsc_to_system_mul)) {
        return false;
    }
    delta = cpu_get_tsc(env) - le64_to_cpu(t.tsc_timestamp);
    if (t.tsc_shift < 0) {
        delta >>= -t.tsc_shift;
    } else {
        delta <<= t.tsc_shift;
    }
    *ns = le64_to_cpu(t.system_time) +
          pvclock_scale(delta, le32_to_cpu(t.tsc_to_system_mul));
    return true;
}

static bool x86_switch_enter_vm(SwitchableAccel from, SwitchableAccel to,
                                Error **errp)
{
    struct kvm_clock_data data = {};
    uint64_t now;
    int ret;

    if (to != SWITCHABLE_ACCEL_KVM ||
        !guest_kvmclock_ns(X86_CPU(first_cpu), &now)) {
        return true;
    }
    data.clock = now;
    /* Resume KVM's clock where the guest's clock is now, not earlier */
    ret = kvm_vm_ioctl(kvm_state, KVM_SET_CLOCK, &data);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "cannot set KVM's clock");
        return false;
    }
    trace_x86_switch_kvmclock(data.clock);
    return true;
}

static const AccelSwitchArchOps x86_switch_ops = {
    .check_config = x86_switch_check_config,
    .cpu_realize = x86_switch_cpu_realize,
    .leave = x86_switch_leave,
    .enter = x86_switch_enter,
    .enter_vm = x86_switch_enter_vm,
};

static void x86_switch_register(void)
{
    accel_switch_register_arch(&x86_switch_ops);
}

type_init(x86_switch_register);
