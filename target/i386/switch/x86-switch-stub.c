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

void x86_switch_cpuid(CPUX86State *env, uint32_t index, uint32_t count,
                      uint32_t *eax, uint32_t *ebx, uint32_t *ecx,
                      uint32_t *edx)
{
}
