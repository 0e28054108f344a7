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
} AccelSwitchState;

extern AccelSwitchState accel_switch;

/* switch-cpus.c */
void accel_switch_init_cpus_ops(void);
void accel_switch_activate(SwitchableAccel accel);

#endif /* ACCEL_SWITCH_INTERNAL_H */
