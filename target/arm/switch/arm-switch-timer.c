/*
 * Accelerator switching: the Arm generic timer across a switch
 *
 * The guest's virtual counter goes on from where it was, at the host's
 * rate, whichever accelerator runs.  KVM keeps it as an offset from the
 * host's counter, read and written as KVM_REG_ARM_TIMER_CNT.  TCG derives
 * it from QEMU_CLOCK_VIRTUAL minus CNTVOFF_EL2; a guest without EL2
 * cannot see that register, which leaves it free to carry the offset.
 *
 * KVM's register list names the virtual counter and the virtual timer's
 * compare value by each other's encodings (a slip in KVM's ABI, kept for
 * compatibility): looked up in TCG's table, KVM_REG_ARM_TIMER_CNT is
 * CNTV_CVAL_EL0 and KVM_REG_ARM_TIMER_CVAL is CNTVCT_EL0.  Syncing the
 * list through TCG's table would lose the compare value and put the
 * counter in its place, so these two move by hand here.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/core/cpu.h"
#include "hw/irq.h"
#include "system/kvm.h"
#include "system/runstate.h"
#include "cpu.h"
#include "internals.h"
#include "arm-switch-internal.h"
#include "trace.h"

#include <linux/kvm.h>

/*
 * The first vCPU's virtual counter as it left KVM in a switch to TCG;
 * a roll-back to KVM, should the switch fail after loading, needs it too.
 */
static struct {
    bool valid;
    uint64_t count;
    int64_t ns;                 /* QEMU_CLOCK_VIRTUAL at that moment */
} left_kvm;

/*
 * TCG's CNTVOFF_EL2, the same for every vCPU: offsets computed one by
 * one would differ by the time between them, and a guest comparing
 * counters across CPUs would see one go backwards.
 */
static uint64_t tcg_cntvoff;

/* KVM builds of an Arm target run on an arm64 host: EL0 may read this */
static uint64_t host_cntfrq(void)
{
    uint64_t hz;

    asm volatile("mrs %0, cntfrq_el0" : "=r"(hz));
    return hz;
}

static uint64_t *cpreg_slot(uint64_t *indexes, uint64_t *values, int len,
                            uint64_t regidx)
{
    int i;

    for (i = 0; i < len; i++) {
        if (indexes[i] == regidx) {
            return &values[i];
        }
    }
    return NULL;
}

/*
 * The value @regidx has in the vCPU's register list (KVM's list, in a
 * switchable VM), NULL if the list does not hold it
 */
uint64_t *arm_switch_list_reg(ARMCPU *cpu, uint64_t regidx)
{
    return cpreg_slot(cpu->cpreg_indexes, cpu->cpreg_values,
                      cpu->cpreg_array_len, regidx);
}

/* The value @regidx had in the state just loaded */
static uint64_t *loaded_reg(ARMCPU *cpu, uint64_t regidx)
{
    return cpreg_slot(cpu->cpreg_vmstate_indexes, cpu->cpreg_vmstate_values,
                      cpu->cpreg_vmstate_array_len, regidx);
}

static uint64_t tcg_virtual_count(ARMCPU *cpu)
{
    return gt_get_countervalue(&cpu->env) - cpu->env.cp15.cntvoff_el2;
}

bool arm_switch_timer_realize(ARMCPU *cpu, Error **errp)
{
    uint64_t hz = host_cntfrq();
    unsigned int period;
    int i;

    if (!hz) {
        error_setg(errp, "cannot read the host's counter frequency");
        return false;
    }
    /* The guest read CNTFRQ_EL0 from the host under KVM: TCG says the same */
    cpu->gt_cntfrq_hz = hz;
    period = gt_cntfrq_period_ns(cpu);
    if (NANOSECONDS_PER_SECOND % hz) {
        warn_report_once("switchable=on: the host's counter runs at %" PRIu64
                         " Hz; TCG's counter ticks every whole nanosecond "
                         "and runs at %" PRIu64 " Hz", hz,
                         (uint64_t)NANOSECONDS_PER_SECOND / period);
    }
    /* The timers exist already, created for the default frequency */
    for (i = 0; i < NUM_GTIMERS; i++) {
        if (cpu->gt_timer[i]) {
            cpu->gt_timer[i]->scale = period;
        }
    }
    trace_arm_switch_cntfrq(hz, period);
    return true;
}

bool arm_switch_timer_leave_kvm(ARMCPU *cpu, Error **errp)
{
    CPUState *cs = CPU(cpu);
    uint64_t count = cpu->kvm_vtime;
    int ret;

    if (cs != first_cpu) {
        return true;
    }
    /* A stopped VM's counter stands where it was read as the VM stopped */
    if (!cpu->kvm_vtime_dirty) {
        ret = kvm_get_one_reg(cs, KVM_REG_ARM_TIMER_CNT, &count);
        if (ret) {
            error_setg_errno(errp, -ret, "cannot read KVM's virtual counter");
            return false;
        }
    }
    left_kvm.count = count;
    left_kvm.ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    left_kvm.valid = true;
    trace_arm_switch_left_kvm(count, left_kvm.ns);
    return true;
}

void arm_switch_timer_pre_save_tcg(ARMCPU *cpu)
{
    uint64_t *cnt = arm_switch_list_reg(cpu, KVM_REG_ARM_TIMER_CNT);
    uint64_t *cval = arm_switch_list_reg(cpu, KVM_REG_ARM_TIMER_CVAL);

    if (cnt) {
        *cnt = tcg_virtual_count(cpu);
    }
    if (cval) {
        *cval = cpu->env.cp15.c14_timer[GTIMER_VIRT].cval;
    }
}

static void reload_tcg_cval(ARMCPU *cpu)
{
    uint64_t *cval = loaded_reg(cpu, KVM_REG_ARM_TIMER_CVAL);

    if (cval) {
        cpu->env.cp15.c14_timer[GTIMER_VIRT].cval = *cval;
    }
}

/*
 * @restart: the counter goes on from the loaded state; otherwise (a
 * switch away from TCG failed) TCG keeps the offset it ran with.
 */
void arm_switch_timer_enter_tcg(ARMCPU *cpu, bool restart)
{
    CPUARMState *env = &cpu->env;

    reload_tcg_cval(cpu);
    if (restart && CPU(cpu) == first_cpu) {
        uint64_t *loaded = loaded_reg(cpu, KVM_REG_ARM_TIMER_CNT);
        uint64_t now = gt_get_countervalue(env);
        uint64_t count = loaded ? *loaded : 0;

        /* In a switch, count from when KVM stopped: no time is lost */
        if (left_kvm.valid) {
            now = left_kvm.ns / gt_cntfrq_period_ns(cpu);
            count = left_kvm.count;
        }
        tcg_cntvoff = now - count;
        trace_arm_switch_tcg_counter(count, tcg_cntvoff);
    }
    env->cp15.cntvoff_el2 = tcg_cntvoff;
    /* arm_switch_timer_drive_lines() arms them, once the GIC is there */
}

static bool timer_asserted(const ARMGenericTimer *gt)
{
    /* ENABLE and ISTATUS set, IMASK clear */
    return (gt->ctl & 7) == 5;
}

/* The levels of TCG's timer lines, as KVM_ARM_DEV_EL1_* bits */
static uint32_t timer_levels(CPUARMState *env)
{
    uint32_t levels = 0;

    if (timer_asserted(&env->cp15.c14_timer[GTIMER_VIRT])) {
        levels |= KVM_ARM_DEV_EL1_VTIMER;
    }
    if (timer_asserted(&env->cp15.c14_timer[GTIMER_PHYS])) {
        levels |= KVM_ARM_DEV_EL1_PTIMER;
    }
    return levels;
}

uint32_t arm_switch_timer_enter_kvm(ARMCPU *cpu)
{
    int i;

    /* KVM runs the timers now and reports their levels at each exit */
    for (i = 0; i < NUM_GTIMERS; i++) {
        if (cpu->gt_timer[i]) {
            timer_del(cpu->gt_timer[i]);
        }
    }
    return timer_levels(&cpu->env);
}

/*
 * Make the timers' lines into the GIC what the timers say now (under
 * TCG, arming the timers too); under KVM, what QEMU told KVM it has seen
 * (cpu->device_irq_level): KVM reports a timer only when its level
 * differs from that.  A line the GIC holds at another level stays
 * there, and a CPU whose timer interrupt never arrives waits for it
 * forever.  Returns the levels, as KVM_ARM_DEV_EL1_* bits.
 */
uint32_t arm_switch_timer_drive_lines(ARMCPU *cpu, SwitchableAccel accel)
{
    uint32_t levels = cpu->device_irq_level;

    if (accel == SWITCHABLE_ACCEL_TCG) {
        arm_gt_ptimer_cb(cpu);
        arm_gt_vtimer_cb(cpu);
        return timer_levels(&cpu->env);
    }
    qemu_set_irq(cpu->gt_timer_outputs[GTIMER_VIRT],
                 !!(levels & KVM_ARM_DEV_EL1_VTIMER));
    qemu_set_irq(cpu->gt_timer_outputs[GTIMER_PHYS],
                 !!(levels & KVM_ARM_DEV_EL1_PTIMER));
    return levels;
}

/*
 * Set KVM's virtual counter to @count as of now.  It is one offset for
 * the whole VM; every vCPU gets the same value so that none keeps an
 * older one.  A stopped VM's counter is set when it starts, by
 * kvm_arm_vm_state_change().
 */
static bool kvm_set_counter(uint64_t count, Error **errp)
{
    bool running = runstate_is_running();
    CPUState *cs;
    int ret;

    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);

        cpu->kvm_vtime = count;
        cpu->kvm_vtime_dirty = !running;
        if (!running) {
            continue;
        }
        ret = kvm_set_one_reg(cs, KVM_REG_ARM_TIMER_CNT, &count);
        if (ret) {
            error_setg_errno(errp, -ret, "cannot set KVM's virtual counter");
            return false;
        }
    }
    trace_arm_switch_kvm_counter(count, running);
    return true;
}

bool arm_switch_timer_resume_kvm(bool from_tcg, Error **errp)
{
    ARMCPU *cpu = ARM_CPU(first_cpu);
    uint64_t count;

    if (from_tcg) {
        count = tcg_virtual_count(cpu);
    } else {
        /*
         * A switch to TCG failed: loading the saved state set KVM's
         * counter back to when it was saved; go on from when KVM left.
         */
        uint64_t period = gt_cntfrq_period_ns(cpu);

        assert(left_kvm.valid);
        count = left_kvm.count +
            qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) / period -
            left_kvm.ns / period;
    }
    left_kvm.valid = false;
    return kvm_set_counter(count, errp);
}
