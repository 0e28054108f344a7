/*
 * Accelerator switching: migration between a KVM and a TCG QEMU
 *
 * The stream says which accelerator ran the VM that saved it, in a
 * section sent before anything else.  A destination running the other
 * accelerator first checks that it can present the guest's CPU, then
 * applies, from each vCPU's post_load, the same fix-ups an in-process
 * switch applies: the switch loads its saved vCPU state through the
 * same vmstate code.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "migration/vmstate.h"
#include "hw/core/cpu.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "system/runstate.h"
#include "system/system.h"
#include "accel-switch-internal.h"
#include "trace.h"

#define ACCEL_SOURCE_OTHER  0xff    /* neither KVM nor TCG, e.g. qtest */
#define ACCEL_SOURCE_WORDS  64

typedef struct AccelSource {
    uint8_t accel;
    uint32_t ncpu_words;
    uint64_t cpu_words[ACCEL_SOURCE_WORDS];
} AccelSource;

static AccelSource accel_source;

/* The accelerator that runs the vCPUs now, or -1 */
static int running_accel(void)
{
    if (accel_switch.enabled) {
        return accel_switch.active;
    }
    if (kvm_enabled()) {
        return SWITCHABLE_ACCEL_KVM;
    }
    return tcg_enabled() ? SWITCHABLE_ACCEL_TCG : -1;
}

static int accel_source_pre_save(void *opaque)
{
    AccelSource *s = opaque;
    int accel = running_accel();

    s->accel = accel < 0 ? ACCEL_SOURCE_OTHER : accel;
    s->ncpu_words = accel_switch.arch && accel_switch.arch->describe_cpu ?
        accel_switch.arch->describe_cpu(s->cpu_words, ACCEL_SOURCE_WORDS) : 0;
    return 0;
}

static int accel_source_post_load(void *opaque, int version_id)
{
    AccelSource *s = opaque;
    int to = running_accel();
    Error *err = NULL;

    accel_switch.state_from = -1;
    accel_switch.incoming_from = -1;
    if (s->accel >= SWITCHABLE_ACCEL__MAX || to < 0 || s->accel == to) {
        return 0;
    }
    if (s->ncpu_words > ACCEL_SOURCE_WORDS) {
        error_report("accel-source: %u CPU words, at most %d", s->ncpu_words,
                     ACCEL_SOURCE_WORDS);
        return -EINVAL;
    }
    trace_accel_switch_incoming(SwitchableAccel_str(s->accel),
                                SwitchableAccel_str(to));
    if (accel_switch.arch && accel_switch.arch->check_incoming &&
        !accel_switch.arch->check_incoming(s->accel, to, s->cpu_words,
                                           s->ncpu_words, &err)) {
        error_prepend(&err, "cannot take this VM from %s: ",
                      SwitchableAccel_str(s->accel));
        error_report_err(err);
        return -EINVAL;
    }
    accel_switch.state_from = s->accel;
    accel_switch.incoming_from = s->accel;
    return 0;
}

/*
 * Sent during migration set-up, before any RAM: a destination that
 * cannot take the guest fails at once, while the source still runs.
 */
static const VMStateDescription vmstate_accel_source = {
    .name = "accel-source",
    .version_id = 1,
    .minimum_version_id = 1,
    .early_setup = true,
    .pre_save = accel_source_pre_save,
    .post_load = accel_source_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(accel, AccelSource),
        VMSTATE_UINT32(ncpu_words, AccelSource),
        VMSTATE_UINT64_ARRAY(cpu_words, AccelSource, ACCEL_SOURCE_WORDS),
        VMSTATE_END_OF_LIST()
    }
};

void accel_switch_cpu_pre_save(CPUState *cpu)
{
    int accel = running_accel();

    if (accel >= 0 && accel_switch.arch && accel_switch.arch->cpu_pre_save) {
        accel_switch.arch->cpu_pre_save(cpu, accel);
    }
}

bool accel_switch_cpu_post_load(CPUState *cpu, Error **errp)
{
    int to = running_accel();

    if (accel_switch.state_from < 0 || to < 0 ||
        accel_switch.state_from == to) {
        return true;
    }
    return accel_switch.arch->enter(cpu, accel_switch.state_from, to, errp);
}

/* The incoming state is loaded and in the accelerator; vCPUs start next */
static void incoming_vm_state_change(void *opaque, bool running,
                                     RunState state)
{
    int to = running_accel();

    if (!running || accel_switch.incoming_from < 0) {
        return;
    }
    if (accel_switch.arch->incoming_done) {
        accel_switch.arch->incoming_done(accel_switch.incoming_from, to);
    }
    accel_switch.incoming_from = -1;
    accel_switch.state_from = -1;
}

static void cross_accel_machine_done(Notifier *notifier, void *data)
{
    if (accel_switch.arch && accel_switch.arch->machine_done) {
        accel_switch.arch->machine_done();
    }
}

static Notifier cross_accel_machine_done_notifier = {
    .notify = cross_accel_machine_done,
};

void accel_switch_cross_accel_init(void)
{
    static bool done;

    /* accel_init_machine() runs again if an accelerator falls back */
    if (done) {
        return;
    }
    done = true;
    accel_switch.state_from = -1;
    accel_switch.incoming_from = -1;
    vmstate_register(NULL, 0, &vmstate_accel_source, &accel_source);
    /*
     * After the handlers of priority 0, the kvmclock device's among them:
     * the x86 fix-ups read the kvm-clock it sets as the VM starts.
     */
    qemu_add_vm_change_state_handler_prio(incoming_vm_state_change, NULL, 1);
    qemu_add_machine_init_done_notifier(&cross_accel_machine_done_notifier);
}
