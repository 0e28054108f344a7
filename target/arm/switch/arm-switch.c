/*
 * Accelerator switching: the Arm side of a switch in one process
 *
 * A switchable Arm VM is a KVM VM whose interrupt controller stays in
 * QEMU (a GICv2, through KVM_CAP_ARM_USER_IRQ): both accelerators drive
 * the same GIC, so no interrupt-controller state moves in a switch, only
 * the lines from the GIC to each CPU and from each CPU's timers back.
 *
 * The vCPU's system registers move through the cpreg list.  In a
 * switchable VM it is KVM's list, built when KVM created the vCPU; TCG
 * loads from it the registers its own table knows and keeps the others
 * it emulates in CPUARMState, where KVM cannot change them.  The guest
 * sees one CPU: "host" takes its ID registers from KVM, and TCG's
 * table is built from those same values.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "exec/cputlb.h"
#include "system/kvm.h"
#include "system/accel-switch.h"
#include "cpu.h"
#include "internals.h"
#include "cpregs.h"
#include "kvm_arm.h"
#include "arm-switch.h"
#include "arm-switch-internal.h"
#include "trace.h"

#include <linux/kvm.h>

#define KVM_MIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 0)
#define KVM_CTR_EL0  ARM64_SYS_REG(3, 3, 0, 0, 1)

/* The lines from the GIC that KVM takes by KVM_IRQ_LINE */
#define GIC_LINES (CPU_INTERRUPT_HARD | CPU_INTERRUPT_FIQ)

void arm_switch_set_irq(void *opaque, int irq, int level)
{
    if (accel_switch_active() == SWITCHABLE_ACCEL_KVM &&
        (irq == ARM_CPU_IRQ || irq == ARM_CPU_FIQ)) {
        arm_cpu_kvm_set_irq(opaque, irq, level);
    } else {
        arm_cpu_set_irq(opaque, irq, level);
    }
}

static bool arm_switch_check_config(MachineState *ms, Error **errp)
{
    g_autofree char *gic = NULL;

    /* Only a GICv2 can be left to QEMU by KVM, and shared with TCG */
    if (object_property_find(OBJECT(ms), "gic-version")) {
        gic = object_property_get_str(OBJECT(ms), "gic-version", NULL);
    }
    if (gic && (!strcmp(gic, "3") || !strcmp(gic, "4"))) {
        error_setg(errp, "gic-version=%s is not supported: KVM and TCG can "
                   "only share a GIC that QEMU emulates, a GICv2", gic);
        error_append_hint(errp, "Use gic-version=2, or leave gic-version "
                          "unset.\n");
        return false;
    }
    if (!kvm_arm_supports_user_irq()) {
        error_setg(errp, "this host's KVM cannot leave the interrupt "
                   "controller to QEMU (no KVM_CAP_ARM_USER_IRQ)");
        return false;
    }
    return true;
}

/* KVM builds of an Arm target run on an arm64 host: EL0 may read this */
static uint64_t host_dczid(void)
{
    uint64_t dczid;

    asm volatile("mrs %0, dczid_el0" : "=r"(dczid));
    return dczid;
}

static bool arm_switch_cpu_realize(CPUState *cs, Error **errp)
{
    ARMCPU *cpu = ARM_CPU(cs);

    if (cpu->kvm_steal_time == ON_OFF_AUTO_ON) {
        error_setg(errp, "kvm-steal-time=on is not supported: TCG cannot "
                   "keep the guest's stolen-time record");
        return false;
    }
    cpu->kvm_steal_time = ON_OFF_AUTO_OFF;
    /*
     * The PMU counts host perf events under KVM and emulated events under
     * TCG; neither can take over the other's counters.
     */
    cpu->has_pmu = false;
    /*
     * KVM lets the guest read DCZID_EL0 from the host; a guest that
     * zeroes memory by DC ZVA blocks of the size it read there must get
     * blocks of that size from TCG too.
     */
    cpu->dcz_blocksize = extract64(host_dczid(), 0, 4);
    return arm_switch_timer_realize(cpu, errp);
}

/*
 * TCG's AArch32 view of an identification register KVM lists by its
 * AArch64 name (KVM lists an AArch32 vCPU's registers that way too):
 * coprocessor 15, same encoding, but CTR at op1 0 where CTR_EL0 has 3.
 * The view is a separate entry in TCG's table, with its own copy of a
 * constant's value.
 */
static ARMCPRegInfo *aa32_id_view(ARMCPU *cpu, uint64_t kvm_id, int opc2)
{
    int crn = (kvm_id & KVM_REG_ARM64_SYSREG_CRN_MASK) >>
              KVM_REG_ARM64_SYSREG_CRN_SHIFT;
    int crm = (kvm_id & KVM_REG_ARM64_SYSREG_CRM_MASK) >>
              KVM_REG_ARM64_SYSREG_CRM_SHIFT;
    int opc1 = (kvm_id & KVM_REG_ARM64_SYSREG_OP1_MASK) >>
               KVM_REG_ARM64_SYSREG_OP1_SHIFT;
    const ARMCPRegInfo *ri;
    int ns;

    if (kvm_id == KVM_CTR_EL0) {
        opc1 = 0;
    }
    for (ns = 1; ns >= 0; ns--) {
        ri = get_arm_cp_reginfo(cpu->cp_regs,
                                ENCODE_CP_REG(15, 0, ns, crn, crm, opc1, opc2));
        if (ri) {
            return ri->type & ARM_CP_CONST ? (ARMCPRegInfo *)ri : NULL;
        }
    }
    return NULL;
}

static void adopt_aa32_id_views(ARMCPU *cpu, uint64_t kvm_id, uint64_t value)
{
    /* AArch32 has two more names for MIDR, at op2 4 and 7 */
    int names[] = { kvm_id & KVM_REG_ARM64_SYSREG_OP2_MASK, 4, 7 };
    int i, n = kvm_id == KVM_MIDR_EL1 ? ARRAY_SIZE(names) : 1;

    /* The identification registers are those with op0 3, CRn 0 */
    if ((kvm_id & KVM_REG_ARM_COPROC_MASK) != KVM_REG_ARM64_SYSREG ||
        (kvm_id & KVM_REG_ARM64_SYSREG_OP0_MASK) >>
        KVM_REG_ARM64_SYSREG_OP0_SHIFT != 3 ||
        (kvm_id & KVM_REG_ARM64_SYSREG_CRN_MASK)) {
        return;
    }
    for (i = 0; i < n; i++) {
        ARMCPRegInfo *ri = aa32_id_view(cpu, kvm_id, names[i]);

        if (ri) {
            ri->resetvalue = value;
        }
    }
}

/*
 * "host" takes the feature ID registers from KVM, but not the registers
 * that identify the CPU (MIDR, REVIDR, AIDR) or its caches (CTR, CLIDR):
 * TCG would present its own constants there.  KVM's register list holds
 * what the guest saw; TCG adopts it, in the AArch64 and AArch32 views.
 */
static void adopt_kvm_id_regs(ARMCPU *cpu)
{
    int i;

    for (i = 0; i < cpu->cpreg_array_len; i++) {
        uint64_t kvm_id = cpu->cpreg_indexes[i];
        uint64_t value = cpu->cpreg_values[i];
        /* Each CPU's table holds its own copy of each register's info */
        ARMCPRegInfo *ri = (ARMCPRegInfo *)get_arm_cp_reginfo(
            cpu->cp_regs, kvm_to_cpreg_id(kvm_id));

        if (kvm_id == KVM_MIDR_EL1) {
            /* A register TCG reads from CPUARMState, set at reset */
            cpu->midr = value;
            cpu->env.cp15.c0_cpuid = value;
        } else if (kvm_id == KVM_CTR_EL0) {
            cpu->ctr = value;
        } else if (!ri || !(ri->type & ARM_CP_CONST)) {
            continue;
        }
        if (ri) {
            ri->resetvalue = value;
        }
        adopt_aa32_id_views(cpu, kvm_id, value);
    }
}

/*
 * KVM shows the host's GIC system-register interface in ID_AA64PFR0_EL1
 * and ID_PFR1 even when the VM's GIC is QEMU's GICv2, and answers the
 * guest's probe of it as a GICv3 CPU interface in legacy mode does:
 * ICC_SRE_EL1 reads as 0 (no system registers) and ignores writes.
 * Without a GICv3, TCG has no ICC_* registers at all, and a kernel that
 * boots on TCG takes an undefined-instruction exception at that probe.
 * TCG answers it as KVM does.
 */
static const ARMCPRegInfo legacy_icc_sre = {
    .name = "ICC_SRE_EL1", .state = ARM_CP_STATE_BOTH,
    .opc0 = 3, .opc1 = 0, .crn = 12, .crm = 12, .opc2 = 5,
    .access = PL1_RW, .type = ARM_CP_CONST | ARM_CP_NO_RAW,
    .resetvalue = 0,
};

static void add_legacy_icc_sre(ARMCPU *cpu)
{
    if (cpu->env.gicv3state ||
        (!FIELD_EX64(cpu->isar.id_aa64pfr0, ID_AA64PFR0, GIC) &&
         !FIELD_EX32(cpu->isar.id_pfr1, ID_PFR1, GIC))) {
        return;
    }
    define_one_arm_cp_reg(cpu, &legacy_icc_sre);
}

static void arm_switch_machine_done(void)
{
    Error *err = NULL;
    CPUState *cs;

    if (!accel_switch_enabled()) {
        return;
    }
    /* Every vCPU is the same "host" CPU, its features final once realized */
    if (!arm_switch_check_id_regs(ARM_CPU(first_cpu), &err)) {
        error_prepend(&err, "switchable=on: ");
        error_report_err(err);
        exit(1);
    }
    CPU_FOREACH(cs) {
        adopt_kvm_id_regs(ARM_CPU(cs));
        add_legacy_icc_sre(ARM_CPU(cs));
    }
}

/*
 * Where a vCPU leaves one accelerator and enters the other: the two
 * trace lines of a vCPU must agree, or the guest resumes somewhere else.
 */
static void trace_cpu_state(CPUState *cs, const char *what)
{
    CPUARMState *env = &ARM_CPU(cs)->env;

    if (!trace_event_get_state_backends(TRACE_ARM_SWITCH_CPU_STATE)) {
        return;
    }
    if (is_a64(env)) {
        trace_arm_switch_cpu_state(cs->cpu_index, what, env->pc,
                                   pstate_read(env), cs->halted);
    } else {
        trace_arm_switch_cpu_state(cs->cpu_index, what, env->regs[15],
                                   cpsr_read(env), cs->halted);
    }
}

static bool arm_switch_leave(CPUState *cs, SwitchableAccel from, Error **errp)
{
    ARMCPU *cpu = ARM_CPU(cs);

    trace_cpu_state(cs, "leaves");
    if (from != SWITCHABLE_ACCEL_KVM) {
        return true;
    }
    if (cpu->env.serror.pending) {
        error_setg(errp, "CPU %d: KVM has an SError to deliver",
                   cs->cpu_index);
        return false;
    }
    return arm_switch_timer_leave_kvm(cpu, errp);
}

static void arm_switch_cpu_pre_save(CPUState *cs, SwitchableAccel accel)
{
    ARMCPU *cpu = ARM_CPU(cs);

    if (!accel_switch_enabled() || accel != SWITCHABLE_ACCEL_TCG) {
        return;
    }
    /*
     * cpu_pre_save() read the list from KVM, which has not run the vCPU
     * since TCG took it over: take what TCG holds instead, for each
     * register TCG represents faithfully.
     */
    write_cpustate_to_list(cpu, true);
    arm_switch_timer_pre_save_tcg(cpu);
}

static void enter_tcg(ARMCPU *cpu, bool restart_counter)
{
    CPUState *cs = CPU(cpu);
    CPUARMState *env = &cpu->env;

    /* KVM kept the GIC's lines in the kernel; TCG polls them here */
    cs->interrupt_request = (cs->interrupt_request & ~GIC_LINES) |
                            (env->irq_line_state & GIC_LINES);
    /* KVM parks a vCPU that PSCI turned off; TCG halts it */
    cs->halted = cpu->power_state == PSCI_OFF;
    /*
     * KVM kept the exclusive monitor in the host CPU: TCG's is open from
     * whatever it ran last.  Clear it; the guest's store-exclusive fails
     * once and the guest retries its load-exclusive, as after any
     * exception.
     */
    env->exclusive_addr = -1;
    arm_switch_timer_enter_tcg(cpu, restart_counter);
    arm_rebuild_hflags(env);
    tlb_flush(cs);
}

static void enter_kvm(ARMCPU *cpu)
{
    CPUState *cs = CPU(cpu);
    uint32_t lines = cpu->env.irq_line_state;

    /*
     * KVM reports a timer line only when its level differs from the one
     * it last wrote to kvm_run: start both QEMU's copy and that one from
     * the levels TCG left on the lines (the GIC gets them too, from
     * drive_timer_lines()).  With a stale kvm_run level that
     * matched a timer expiring during the switch, KVM never reported it
     * and the guest's CPU waited for its tick forever.
     */
    cpu->device_irq_level = arm_switch_timer_enter_kvm(cpu);
    cs->kvm_run->s.regs.device_irq_level = cpu->device_irq_level;
    cs->interrupt_request &= ~GIC_LINES;
    kvm_arm_set_irq(cs->cpu_index, KVM_ARM_IRQ_TYPE_CPU, KVM_ARM_IRQ_CPU_IRQ,
                    !!(lines & CPU_INTERRUPT_HARD));
    kvm_arm_set_irq(cs->cpu_index, KVM_ARM_IRQ_TYPE_CPU, KVM_ARM_IRQ_CPU_FIQ,
                    !!(lines & CPU_INTERRUPT_FIQ));
    /* KVM waits for interrupts, and parks vCPUs that are off, itself */
    cs->halted = 0;
}

/*
 * Once every vCPU entered @to, the timers drive their lines into the GIC
 * again (TCG's timers, recomputed from the count they go on from, or the
 * levels KVM was told).  Not from enter(): a migration loads the GIC
 * after the vCPUs, and a line driven into the GIC as reset would make
 * it lower every CPU's interrupt line, which its saved state then does
 * not raise again.
 */
static void drive_timer_lines(SwitchableAccel to)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);
        uint32_t timers = arm_switch_timer_drive_lines(cpu, to);

        trace_arm_switch_irq_lines(cs->cpu_index, cpu->env.irq_line_state,
                                   timers);
    }
}

static bool arm_switch_enter(CPUState *cs, SwitchableAccel from,
                             SwitchableAccel to, Error **errp)
{
    /* check_incoming() refused other migrations before any state came */
    assert(accel_switch_enabled());
    if (to == SWITCHABLE_ACCEL_TCG) {
        enter_tcg(ARM_CPU(cs), true);
    } else {
        enter_kvm(ARM_CPU(cs));
    }
    trace_cpu_state(cs, "enters");
    return true;
}

/*
 * Migration between a KVM and a TCG QEMU.  Both must be switchable: only
 * then do both vCPUs carry KVM's register list, the same GIC, and a CPU
 * model both accelerators present.
 */
enum { ARM_CPU_WORD_SWITCHABLE, ARM_CPU_WORDS };

static uint32_t arm_switch_describe_cpu(uint64_t *words, uint32_t max)
{
    assert(max >= ARM_CPU_WORDS);
    words[ARM_CPU_WORD_SWITCHABLE] = accel_switch_enabled();
    return ARM_CPU_WORDS;
}

static bool arm_switch_check_incoming(SwitchableAccel from,
                                      SwitchableAccel to,
                                      const uint64_t *words, uint32_t n,
                                      Error **errp)
{
    if (n <= ARM_CPU_WORD_SWITCHABLE || !words[ARM_CPU_WORD_SWITCHABLE]) {
        error_setg(errp, "the source QEMU was not started with "
                   "switchable=on, which an Arm vCPU needs to move between "
                   "KVM and TCG");
        return false;
    }
    if (!accel_switch_enabled()) {
        error_setg(errp, "an Arm vCPU moves between KVM and TCG only into a "
                   "QEMU started with -accel %s,switchable=on",
                   SwitchableAccel_str(to));
        return false;
    }
    return true;
}

static void put_full_state(CPUState *cs, run_on_cpu_data arg)
{
    Error **errp = arg.host_ptr;

    if (kvm_arch_put_registers(cs, KVM_PUT_FULL_STATE, errp) == 0) {
        cs->vcpu_dirty = false;
    }
}

static bool arm_switch_enter_vm(SwitchableAccel from, SwitchableAccel to,
                                Error **errp)
{
    CPUState *cs;

    drive_timer_lines(to);
    if (to == SWITCHABLE_ACCEL_TCG) {
        return true;
    }
    CPU_FOREACH(cs) {
        Error *err = NULL;

        run_on_cpu(cs, put_full_state, RUN_ON_CPU_HOST_PTR(&err));
        if (err) {
            error_propagate_prepend(errp, err, "cannot load CPU %d into "
                                    "KVM: ", cs->cpu_index);
            return false;
        }
    }
    return arm_switch_timer_resume_kvm(true, errp);
}

/*
 * Migration destination: the GIC is loaded now, with the timer lines as
 * the source's GIC last saw them.  They can lag the timers: a KVM source
 * learns its timers' levels as its vCPUs stop and saves the counter a
 * little later; a timer that expired in between is asserted in the
 * destination's timer but not yet in its GIC.
 */
static void arm_switch_incoming_done(SwitchableAccel from, SwitchableAccel to)
{
    drive_timer_lines(to);
}

/*
 * A switch failed after the state went into the new accelerator and came
 * back into the old one.  Entering the new one took the timers and the
 * interrupt lines over: the old one takes them back, and TCG's counter
 * goes on where it was.
 */
static void arm_switch_roll_back(SwitchableAccel to)
{
    Error *err = NULL;
    CPUState *cs;

    if (to == SWITCHABLE_ACCEL_TCG) {
        CPU_FOREACH(cs) {
            enter_tcg(ARM_CPU(cs), false);
        }
        drive_timer_lines(to);
        return;
    }
    CPU_FOREACH(cs) {
        enter_kvm(ARM_CPU(cs));
    }
    drive_timer_lines(to);
    if (!arm_switch_timer_resume_kvm(false, &err)) {
        error_report_err(err);
    }
}

static const AccelSwitchArchOps arm_switch_ops = {
    .check_config = arm_switch_check_config,
    .cpu_realize = arm_switch_cpu_realize,
    .leave = arm_switch_leave,
    .cpu_pre_save = arm_switch_cpu_pre_save,
    .enter = arm_switch_enter,
    .enter_vm = arm_switch_enter_vm,
    .roll_back = arm_switch_roll_back,
    .describe_cpu = arm_switch_describe_cpu,
    .check_incoming = arm_switch_check_incoming,
    .incoming_done = arm_switch_incoming_done,
    .machine_done = arm_switch_machine_done,
};

static void arm_switch_register(void)
{
    accel_switch_register_arch(&arm_switch_ops);
}

type_init(arm_switch_register);
