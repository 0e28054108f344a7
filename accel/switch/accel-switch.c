/*
 * Accelerator switching: start-up of a switchable VM
 *
 * A switchable VM initializes KVM as the machine's accelerator and TCG
 * beside it, so that either can run the same vCPUs, RAM and devices.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "qom/object.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "hw/qdev-core.h"
#include "system/system.h"
#include "accel/accel-cpu-target.h"
#include "qemu/plugin.h"
#include "system/kvm.h"
#include "system/kvm_int.h"
#include "system/tcg.h"
#include "system/cpu-timers.h"
#include "system/replay.h"
#include "system/accel-ops.h"
#include "system/cpus.h"
#include "system/accel-switch.h"
#include "accel-switch-internal.h"
#include "trace.h"

AccelSwitchState accel_switch;

bool accel_switch_enabled(void)
{
    return accel_switch.enabled;
}

bool accel_switch_tcg_standby(void)
{
    return accel_switch.enabled;
}

SwitchableAccel accel_switch_active(void)
{
    return accel_switch.active;
}

SwitchableAccel accel_switch_initial(void)
{
    return accel_switch.initial;
}

void accel_switch_register_arch(const AccelSwitchArchOps *ops)
{
    accel_switch.arch = ops;
}

/*
 * "switchable" is a property of both the kvm and the tcg accelerator
 * objects; the one that has it set decides which accelerator runs first.
 */
static bool switchable_get(Object *obj, Error **errp)
{
    return accel_switch.requested == obj;
}

static void switchable_set(Object *obj, bool value, Error **errp)
{
    if (value) {
        accel_switch.requested = obj;
    } else if (accel_switch.requested == obj) {
        accel_switch.requested = NULL;
    }
}

void accel_switch_class_init(ObjectClass *oc)
{
    object_class_property_add_bool(oc, "switchable", switchable_get,
                                   switchable_set);
    object_class_property_set_description(oc, "switchable",
        "Allow switching the running VM between KVM and TCG");
}

static void G_NORETURN switch_config_error(Error *err)
{
    Location loc;

    /* Name the option, unless the report already names it (-accel ...) */
    loc_save(&loc);
    if (loc.kind == LOC_NONE) {
        error_prepend(&err, "switchable=on: ");
    }
    error_report_err(err);
    exit(1);
}

static bool check_kvm_options(AccelState *kvm, Error **errp)
{
    KVMState *s = KVM_STATE(kvm);

    /*
     * TCG needs the interrupt controllers in userspace; with KVM they
     * can only be shared when KVM leaves them there too.
     */
    if (s->kernel_irqchip_required ||
        s->kernel_irqchip_split == ON_OFF_AUTO_ON) {
        error_setg(errp, "kernel-irqchip=on and kernel-irqchip=split are not "
                   "supported yet");
        error_append_hint(errp, "Leave kernel-irqchip unset or use "
                          "kernel-irqchip=off.\n");
        return false;
    }
    s->kernel_irqchip_allowed = false;
    s->kernel_irqchip_split = ON_OFF_AUTO_OFF;
    return true;
}

static bool check_common_options(MachineState *ms, Error **errp)
{
    if (!accel_switch.arch) {
        error_setg(errp, "this target cannot switch accelerators yet");
        return false;
    }
    if (icount_enabled()) {
        error_setg(errp, "-icount is not supported: KVM cannot count "
                   "instructions");
        return false;
    }
    if (replay_mode != REPLAY_MODE_NONE) {
        error_setg(errp, "record/replay is not supported: KVM cannot "
                   "replay an execution");
        return false;
    }
    return accel_switch.arch->check_config(ms, errp);
}

AccelState *accel_switch_primary(AccelState *accel, MachineState *ms)
{
    Object *obj = OBJECT(accel);
    Error *err = NULL;

    /* Any VM can migrate to or from the other accelerator */
    accel_switch_cross_accel_init();
    if (accel_switch.requested != obj) {
        return accel;
    }
    accel_switch.enabled = true;
    if (object_dynamic_cast(obj, TYPE_KVM_ACCEL)) {
        accel_switch.kvm = accel;
        accel_switch.tcg = ACCEL(object_new(ACCEL_CLASS_NAME("tcg")));
        accel_switch.active = SWITCHABLE_ACCEL_KVM;
    } else {
        accel_switch.tcg = accel;
        accel_switch.kvm = ACCEL(object_new(TYPE_KVM_ACCEL));
        accel_switch.active = SWITCHABLE_ACCEL_TCG;
    }
    accel_switch.initial = accel_switch.active;
    if (!check_kvm_options(accel_switch.kvm, &err)) {
        switch_config_error(err);
    }
    return accel_switch.kvm;
}

/*
 * A VM that starts on TCG still creates its vCPUs with tcg_enabled()
 * false, so that KVM builds its CPUID table the way it does for a KVM
 * VM; TCG becomes the active accelerator once the machine is complete.
 */
static void start_on_tcg(Notifier *n, void *data)
{
    accel_switch_activate(SWITCHABLE_ACCEL_TCG);
}

static Notifier start_on_tcg_notifier = { .notify = start_on_tcg };

void accel_switch_init_standby(MachineState *ms)
{
    AccelClass *tcg_class;
    Error *err = NULL;
    int ret;

    if (!accel_switch.enabled) {
        return;
    }
    /* The target's checks may ask KVM what it supports */
    if (!check_common_options(ms, &err)) {
        switch_config_error(err);
    }
    tcg_class = ACCEL_GET_CLASS(accel_switch.tcg);

    /* tcg_init_machine() reads its options from current_accel() */
    ms->accelerator = accel_switch.tcg;
    ret = tcg_class->init_machine(ms);
    ms->accelerator = accel_switch.kvm;
    if (ret < 0) {
        error_report("switchable=on: cannot initialize TCG: %s",
                     strerror(-ret));
        exit(1);
    }
    if (!qemu_tcg_mttcg_enabled() && ms->smp.max_cpus > 1) {
        error_report("switchable=on: TCG must run one thread per vCPU "
                     "(thread=multi)");
        exit(1);
    }
    tcg_allowed = false;
    if (accel_switch.active == SWITCHABLE_ACCEL_TCG) {
        accel_switch.active = SWITCHABLE_ACCEL_KVM;
        qemu_add_machine_init_done_notifier(&start_on_tcg_notifier);
    }
    trace_accel_switch_init(ms->smp.max_cpus);
}

/*
 * Install TCG's per-CPU-class operations next to KVM's: cc->accel_cpu
 * stays KVM's, cc->tcg_ops is filled as a TCG VM would fill it.
 */
static void init_tcg_cpu_class(ObjectClass *klass, void *opaque)
{
    CPUClass *cc = CPU_CLASS(klass);
    AccelCPUClass *tcg_cpu = opaque;
    void (*kvm_init_accel_cpu)(AccelCPUClass *, CPUClass *);

    kvm_init_accel_cpu = cc->init_accel_cpu;
    if (tcg_cpu->cpu_class_init) {
        tcg_cpu->cpu_class_init(cc);
    }
    if (cc->init_accel_cpu) {
        cc->init_accel_cpu(tcg_cpu, cc);
    }
    cc->init_accel_cpu = kvm_init_accel_cpu;
}

void accel_switch_init_interfaces(AccelClass *ac)
{
    g_autofree char *name = NULL;
    ObjectClass *tcg_cpu;

    if (!accel_switch.enabled) {
        return;
    }
    name = g_strdup_printf("%s-%s", ACCEL_CLASS_NAME("tcg"),
                           CPU_RESOLVING_TYPE);
    tcg_cpu = object_class_by_name(name);
    if (tcg_cpu) {
        object_class_foreach(init_tcg_cpu_class, CPU_RESOLVING_TYPE, false,
                             tcg_cpu);
    }
    accel_switch_init_cpus_ops();
}

bool accel_switch_cpu_realize(CPUState *cpu, Error **errp)
{
    AccelClass *tcg_class;

    if (!accel_switch.enabled) {
        return true;
    }
    tcg_class = ACCEL_GET_CLASS(accel_switch.tcg);
    if (!tcg_class->cpu_common_realize(cpu, errp)) {
        return false;
    }
#ifdef CONFIG_PLUGIN
    /* TCG's translator calls the plugin hooks whether plugins exist or not */
    cpu->plugin_state = qemu_plugin_create_vcpu_state();
    qemu_plugin_vcpu_init_hook(cpu);
#endif
    if (!accel_switch.arch->cpu_realize(cpu, errp)) {
        error_prepend(errp, "switchable=on: ");
        return false;
    }
    return true;
}
