/*
 * Accelerator switching: state shared by the files in accel/switch
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef ACCEL_SWITCH_INTERNAL_H
#define ACCEL_SWITCH_INTERNAL_H

#include "system/accel-switch.h"

typedef struct AccelSwitchState {
    Object *requested;          /* the accel object with switchable=on */
    bool enabled;
    SwitchableAccel active;
    SwitchableAccel initial;
    AccelState *kvm;
    AccelState *tcg;
    const AccelSwitchArchOps *arch;
    bool busy;                  /* a switch is in progress */
    int64_t switches;
    AccelSwitchInfo *last;
    /*
     * The accelerator that saved the vCPU state being loaded (a switch's
     * or a migration's), or -1: the CPUs' post_load adapts it.
     */
    int state_from;
    /* An incoming migration from this accelerator is not running yet */
    int incoming_from;
} AccelSwitchState;

extern AccelSwitchState accel_switch;

/* switch-cpus.c */
void accel_switch_init_cpus_ops(void);
void accel_switch_activate(SwitchableAccel accel);

/* cross-accel.c */
void accel_switch_cross_accel_init(void);

#endif /* ACCEL_SWITCH_INTERNAL_H */
