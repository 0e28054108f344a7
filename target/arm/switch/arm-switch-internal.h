/*
 * Accelerator switching: state shared by the files in target/arm/switch
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_SWITCH_INTERNAL_H
#define TARGET_ARM_SWITCH_INTERNAL_H

#include "cpu.h"
#include "system/accel-switch.h"

/* arm-switch-idregs.c */
bool arm_switch_check_id_regs(ARMCPU *cpu, Error **errp);

/* arm-switch-timer.c */
uint64_t *arm_switch_list_reg(ARMCPU *cpu, uint64_t regidx);
bool arm_switch_timer_realize(ARMCPU *cpu, Error **errp);
bool arm_switch_timer_leave_kvm(ARMCPU *cpu, Error **errp);
void arm_switch_timer_pre_save_tcg(ARMCPU *cpu);
void arm_switch_timer_enter_tcg(ARMCPU *cpu, bool restart);
uint32_t arm_switch_timer_enter_kvm(ARMCPU *cpu);
uint32_t arm_switch_timer_drive_lines(ARMCPU *cpu, SwitchableAccel accel);
bool arm_switch_timer_resume_kvm(bool from_tcg, Error **errp);

#endif /* TARGET_ARM_SWITCH_INTERNAL_H */
