/*
 * Accelerator switching: x86 hooks called from upstream code
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_I386_SWITCH_H
#define TARGET_I386_SWITCH_H

/*
 * What to add to the elapsed ticks to get this vCPU's TSC under TCG:
 * non-zero only after the vCPU came from KVM.
 */
int64_t x86_switch_tsc_adjust(CPUX86State *env);

/*
 * Under TCG, replace cpu_x86_cpuid()'s answer by the one KVM gives this
 * vCPU (switchable VMs only; otherwise nothing changes).
 */
void x86_switch_cpuid(CPUX86State *env, uint32_t index, uint32_t count,
                      uint32_t *eax, uint32_t *ebx, uint32_t *ecx,
                      uint32_t *edx);

#endif /* TARGET_I386_SWITCH_H */
