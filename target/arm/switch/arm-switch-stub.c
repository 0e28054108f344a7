/*
 * Accelerator switching: Arm stubs for QEMUs built without KVM or TCG
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "arm-switch.h"

void arm_switch_set_irq(void *opaque, int irq, int level)
{
    /* Only CPUs of a switchable VM use it, and such a VM needs both */
    g_assert_not_reached();
}
