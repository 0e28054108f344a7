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

#endif /* TARGET_I386_SWITCH_H */
