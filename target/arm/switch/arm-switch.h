/*
 * Accelerator switching: the Arm hooks called from target/arm
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_SWITCH_H
#define TARGET_ARM_SWITCH_H

/*
 * The GPIO input handler of a switchable VM's CPU: an interrupt line from
 * the GIC goes to whichever accelerator runs the vCPU.
 */
void arm_switch_set_irq(void *opaque, int irq, int level);

#endif /* TARGET_ARM_SWITCH_H */
