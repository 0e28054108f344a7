/*
 * Accelerator switching: state shared by the x86 files
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_I386_SWITCH_INTERNAL_H
#define TARGET_I386_SWITCH_INTERNAL_H

#include "system/accel-switch.h"

/*
 * Per-vCPU clock bookkeeping.  TCG derives the guest TSC from the
 * elapsed ticks (cpu_get_tsc()), KVM from its own offset; tsc_adjust
 * carries the guest's TSC value across, so that it neither jumps nor
 * stops.
 */
typedef struct X86SwitchCPU {
    int64_t tsc_adjust;         /* guest TSC under TCG - elapsed ticks */
    bool tsc_adjust_known;      /* tsc_adjust came from KVM's TSC offset */
    bool left;                  /* this process's KVM ran it until now */
    int64_t ticks_at_leave;     /* elapsed ticks when KVM's TSC was read */
    bool tcg_saved;             /* this process's TCG saved the TSC */
    int64_t tcg_saved_clock_ns; /* QEMU_CLOCK_VIRTUAL when it did */
    uint64_t loaded_tsc;        /* guest TSC of the state loaded into KVM */
    int64_t loaded_clock_ns;    /* QEMU_CLOCK_VIRTUAL the TSC stood at */
    struct kvm_cpuid2 *kvm_cpuid;   /* the CPUID table KVM presents */
} X86SwitchCPU;

/* @cs's bookkeeping, created on first use */
X86SwitchCPU *x86_switch_cpu(CPUState *cs);

/* x86-reconcile.c: what both a switch and a migration need */
bool x86_kvm_get_interrupt_shadow(CPUState *cs, bool *shadow);
bool x86_kvm_take_interrupt_shadow(CPUState *cs);
int x86_kvm_tsc_offset(CPUState *cs, bool set, int64_t *offset);
void x86_reconcile_cpu_pre_save(CPUState *cs, SwitchableAccel accel);
bool x86_reconcile_enter(CPUState *cs, SwitchableAccel from,
                         SwitchableAccel to, Error **errp);
uint32_t x86_reconcile_describe_cpu(uint64_t *words, uint32_t max);
bool x86_reconcile_check_incoming(SwitchableAccel from, SwitchableAccel to,
                                  const uint64_t *words, uint32_t n,
                                  Error **errp);
void x86_reconcile_run_tcg(void);
void x86_reconcile_incoming_done(SwitchableAccel from, SwitchableAccel to);
void x86_reconcile_resume_tsc(void);

/* x86-kvmclock.c: the guest's kvmclock when KVM does not keep it */
bool x86_guest_kvmclock_ns(X86CPU *cpu, uint64_t *ns);
bool x86_guest_kvmclock_ns_at(X86CPU *cpu, uint64_t tsc, uint64_t *ns);
void x86_kvmclock_standby_register(void);

#endif /* TARGET_I386_SWITCH_INTERNAL_H */
