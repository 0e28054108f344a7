/*
 * Accelerator switching: x86 stubs for builds without both KVM and TCG
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "cpu.h"
#include "x86-switch.h"

int64_t x86_switch_tsc_adjust(CPUX86State *env)
{
    return 0;
}
