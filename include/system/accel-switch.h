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
     * Saving side of a switch or a migration: complete @cpu's CPUState
     * with what @accel keeps to itself, before vmstate saves it.
     */
    void (*cpu_pre_save)(CPUState *cpu, SwitchableAccel accel);
    /*
     * Loading side: @cpu's state, saved while @from ran it, has been
     * loaded through vmstate (from the CPU's post_load) with @to active:
     * adapt it to @to.  The same rules serve a switch and a migration.
     * In a migration the devices after the vCPUs (an interrupt
     * controller) are not loaded yet: lines into them wait for enter_vm
     * or incoming_done.
     */
    bool (*enter)(CPUState *cpu, SwitchableAccel from, SwitchableAccel to,
                  Error **errp);
    /*
     * Switch only: all vCPUs entered @to: push them into @to, and set
     * VM-wide state (clocks), before they run.
     */
    bool (*enter_vm)(SwitchableAccel from, SwitchableAccel to, Error **errp);
    /*
     * Switch only, optional: the switch failed and the vCPUs' state, as
     * saved, was loaded back into @to: redo what loading it there undid.
     */
    void (*roll_back)(SwitchableAccel to);
    /* Migration: the guest-visible CPU, as words for check_incoming() */
    uint32_t (*describe_cpu)(uint64_t *words, uint32_t max);
    /*
     * Migration destination, before any guest state is loaded: refuse a
     * guest whose CPU (described by the source) @to cannot go on with.
     */
    bool (*check_incoming)(SwitchableAccel from, SwitchableAccel to,
                           const uint64_t *words, uint32_t n, Error **errp);
    /*
     * Migration destination: the state from @from is loaded and in @to;
     * the vCPUs run next.
     */
    void (*incoming_done)(SwitchableAccel from, SwitchableAccel to);
    /* Any VM (switchable or not), once the machine is built */
    void (*machine_done)(void);
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
void accel_switch_cpu_pre_save(CPUState *cpu);
bool accel_switch_cpu_post_load(CPUState *cpu, Error **errp);

#endif /* SYSTEM_ACCEL_SWITCH_H */
