/*
 * Live switching of a running VM between the KVM and TCG accelerators
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef SYSTEM_ACCEL_SWITCH_H
#define SYSTEM_ACCEL_SWITCH_H

#include "qemu/accel.h"
#include "qapi/qapi-types-accel-switch.h"

/*
 * A switchable VM has one KVM accelerator object (ms->accelerator, since
 * KVM code casts current_accel() at run time) and a TCG object initialized
 * beside it.  kvm_enabled() stays true for the VM's whole life (the KVM
 * memory listeners and ioeventfds keep tracking the memory map), while
 * tcg_enabled() says whether TCG is the active accelerator.
 */

/* True when the VM was started with switchable=on. */
bool accel_switch_enabled(void);

/* True when TCG's per-vCPU state must exist although TCG may be idle. */
bool accel_switch_tcg_standby(void);

/* The accelerator the vCPUs run on now (only meaningful if enabled). */
SwitchableAccel accel_switch_active(void);

/*
 * What a target provides to make its CPUs switchable.  All callbacks run
 * in the main loop with the BQL held; per-vCPU ones while the vCPUs are
 * stopped.
 */
typedef struct AccelSwitchArchOps {
    /*
     * Refuse machine options a switch cannot handle, pick the defaults
     * that switching needs.  Runs after KVM is initialized, before the
     * board is built.
     */
    bool (*check_config)(MachineState *ms, Error **errp);
    /* Make @cpu look the same under both accelerators (at realize). */
    bool (*cpu_realize)(CPUState *cpu, Error **errp);
    /*
     * @cpu's state has been pulled out of @from into its CPUState.  Fail
     * (with @errp) if it cannot be moved yet, e.g. because an event is
     * in flight that only @from can deliver.
     */
    bool (*leave)(CPUState *cpu, SwitchableAccel from, Error **errp);
    /*
     * @cpu's state has been reloaded through vmstate with @to active:
     * apply what @to needs beyond what vmstate's post_load did.
     */
    bool (*enter)(CPUState *cpu, SwitchableAccel from, SwitchableAccel to,
                  Error **errp);
    /* All vCPUs entered @to: VM-wide state (clocks) before they run. */
    bool (*enter_vm)(SwitchableAccel from, SwitchableAccel to, Error **errp);
} AccelSwitchArchOps;

void accel_switch_register_arch(const AccelSwitchArchOps *ops);

/* The accelerator the VM started on. */
SwitchableAccel accel_switch_initial(void);

/* Hooks called from upstream code (see patches/). */
void accel_switch_class_init(ObjectClass *oc);
AccelState *accel_switch_primary(AccelState *accel, MachineState *ms);
void accel_switch_init_standby(MachineState *ms);
void accel_switch_init_interfaces(AccelClass *ac);
bool accel_switch_cpu_realize(CPUState *cpu, Error **errp);
bool accel_switch_cpu_post_load(CPUState *cpu, Error **errp);

#endif /* SYSTEM_ACCEL_SWITCH_H */
