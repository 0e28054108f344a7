/*
 * Accelerator switching: the switch itself, and its monitor commands
 *
 * A switch stops the vCPUs, pulls their state out of the old accelerator,
 * saves it through vmstate into a memory buffer, makes the new
 * accelerator active, loads the buffer back (so the same post_load fix-ups
 * run as for a migration between accelerators), pushes the state into the
 * new accelerator and restarts the vCPUs.  The buffer doubles as the
 * snapshot a failed switch rolls back to.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-accel-switch.h"
#include "qapi/qapi-events-accel-switch.h"
#include "qapi/qapi-visit-accel-switch.h"
#include "qapi/clone-visitor.h"
#include "io/channel-buffer.h"
#include "migration/vmstate.h"
#include "migration/misc.h"
#include "migration/qemu-file.h"
#include "hw/core/cpu.h"
#include "hw/core/sysemu-cpu-ops.h"
#include "system/cpus.h"
#include "system/hw_accel.h"
#include "system/kvm.h"
#include "system/runstate.h"
#include "exec/tb-flush.h"
#include "accel-switch-internal.h"
#include "trace.h"

typedef struct SwitchRun {
    SwitchableAccel from;
    SwitchableAccel to;
    const char *fail_after;
    int64_t start_us;
    int64_t phase_start_us;
    AccelSwitchPhaseList *phases;
    AccelSwitchPhaseList **phases_tail;
    GByteArray *state;          /* the vCPUs' vmstate sections */
} SwitchRun;

static void end_phase(SwitchRun *run, const char *name)
{
    AccelSwitchPhase *phase = g_new0(AccelSwitchPhase, 1);
    int64_t now = get_clock() / SCALE_US;

    phase->name = g_strdup(name);
    phase->us = now - run->phase_start_us;
    run->phase_start_us = now;
    QAPI_LIST_APPEND(run->phases_tail, phase);
    trace_accel_switch_phase(name, phase->us);
}

static bool injected_failure(SwitchRun *run, const char *phase, Error **errp)
{
    if (run->fail_after && !strcmp(run->fail_after, phase)) {
        error_setg(errp, "accelerator switch failed after phase '%s' "
                   "(injected failure)", phase);
        return true;
    }
    return false;
}

/*
 * Zeros after the last vCPU's state.  After each section and each struct
 * element, vmstate's loader peeks ahead for a subsection: a guest value
 * that happens to read as a subsection marker followed by a long name
 * length makes it peek up to 257 bytes further.  In a migration stream
 * more sections follow; at the end of a bare buffer that peek would run
 * out of data and fail the whole load.  A zero byte never starts a
 * subsection, so the trailer also ends every search.
 */
#define STATE_TRAILER_BYTES 258

/* The vmstate sections that hold one vCPU's state, as migration has them */
static int cpu_sections(CPUState *cpu, const VMStateDescription **vmsd)
{
    int n = 0;

    if (!qdev_get_vmsd(DEVICE(cpu))) {
        vmsd[n++] = &vmstate_cpu_common;
    }
    if (cpu->cc->sysemu_ops->legacy_vmsd) {
        vmsd[n++] = cpu->cc->sysemu_ops->legacy_vmsd;
    }
    return n;
}

static bool save_cpus(SwitchRun *run, Error **errp)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(64 * KiB);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    CPUState *cpu;
    int ret = 0;

    CPU_FOREACH(cpu) {
        const VMStateDescription *vmsd[2];
        int i, n = cpu_sections(cpu, vmsd);

        for (i = 0; i < n && !ret; i++) {
            ret = vmstate_save_state_with_err(f, vmsd[i], cpu, NULL, errp);
        }
        if (ret) {
            error_prepend(errp, "cannot save the state of CPU %d: ",
                          cpu->cpu_index);
            break;
        }
    }
    if (!ret) {
        static const uint8_t trailer[STATE_TRAILER_BYTES];

        qemu_put_buffer(f, trailer, sizeof(trailer));
        ret = qemu_fflush(f);
        if (ret) {
            error_setg_errno(errp, -ret, "cannot save the vCPU state");
        } else {
            run->state = g_byte_array_sized_new(bioc->usage);
            g_byte_array_append(run->state, bioc->data, bioc->usage);
            trace_accel_switch_saved(run->state->len);
        }
    }
    qemu_fclose(f);
    object_unref(OBJECT(bioc));
    return !ret;
}

/*
 * Guest code may have changed while KVM ran: TCG must not run a stale
 * translation.  post_load queued a flush, but a vCPU could run before
 * it is done; with all vCPUs stopped it is safe to flush right away.
 */
static void flush_translations(void)
{
    first_cpu->exclusive_context_count++;
    tb_flush(first_cpu);
    first_cpu->exclusive_context_count--;
}

/*
 * Load the saved vCPU state into the active accelerator.  With @fixups,
 * the state comes from the other accelerator and is adapted to this one;
 * without, it is a roll-back to the accelerator that saved it.
 */
static bool load_cpus(SwitchRun *run, bool fixups, Error **errp)
{
    SwitchableAccel to = accel_switch.active;
    QIOChannelBuffer *bioc = qio_channel_buffer_new(run->state->len);
    QEMUFile *f;
    CPUState *cpu;
    bool ok = true;

    memcpy(bioc->data, run->state->data, run->state->len);
    bioc->usage = run->state->len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    /* The CPUs' post_load applies the fix-ups, as for a migration */
    accel_switch.state_from = fixups ? run->from : -1;
    CPU_FOREACH(cpu) {
        const VMStateDescription *vmsd[2];
        int i, n = cpu_sections(cpu, vmsd);

        for (i = 0; i < n && ok; i++) {
            int ret = vmstate_load_state(f, vmsd[i], cpu, vmsd[i]->version_id);

            if (ret < 0) {
                error_setg_errno(errp, -ret, "cannot load section %s of CPU %d",
                                 vmsd[i]->name, cpu->cpu_index);
                ok = false;
            }
        }
        if (!ok) {
            break;
        }
    }
    accel_switch.state_from = -1;
    qemu_fclose(f);
    object_unref(OBJECT(bioc));
    if (!ok || !fixups) {
        return ok;
    }
    if (to == SWITCHABLE_ACCEL_TCG) {
        flush_translations();
    }
    return accel_switch.arch->enter_vm(run->from, to, errp);
}

/*
 * Take the vCPUs' state out of the old accelerator.  The CPUState then
 * holds everything, so save_cpus() sees what a migration would see.
 */
static bool leave(SwitchRun *run, Error **errp)
{
    CPUState *cpu;

    if (run->from == SWITCHABLE_ACCEL_KVM) {
        kvm_flush_coalesced_mmio_buffer();
    }
    CPU_FOREACH(cpu) {
        cpu_synchronize_state(cpu);
        if (!accel_switch.arch->leave(cpu, run->from, errp)) {
            return false;
        }
    }
    return true;
}

static void roll_back(SwitchRun *run)
{
    Error *err = NULL;

    accel_switch_activate(run->from);
    if (!load_cpus(run, false, &err)) {
        /* The snapshot came from this very accelerator: cannot happen */
        error_report_err(err);
        abort();
    }
    if (accel_switch.arch->roll_back) {
        accel_switch.arch->roll_back(run->from);
    }
}

static AccelSwitchInfo *finish(SwitchRun *run)
{
    AccelSwitchInfo *info = g_new0(AccelSwitchInfo, 1);

    info->from = run->from;
    info->to = run->to;
    info->downtime_us = get_clock() / SCALE_US - run->start_us;
    info->phases = run->phases;
    return info;
}

/* Time a guest event may need to be delivered before a retry */
#define EVENT_DRAIN_US  1000
#define EVENT_DRAIN_TRIES 100

static bool do_switch(SwitchRun *run, bool was_running, Error **errp)
{
    Error *busy = NULL;
    int tries = 0;

    for (;;) {
        pause_all_vcpus();
        end_phase(run, "pause");
        if (injected_failure(run, "pause", errp)) {
            return false;
        }
        if (leave(run, &busy)) {
            break;
        }
        /*
         * An event is in flight that the old accelerator must deliver:
         * let the vCPUs run a little and try again.
         */
        if (!was_running || ++tries == EVENT_DRAIN_TRIES) {
            error_propagate(errp, busy);
            return false;
        }
        trace_accel_switch_retry(error_get_pretty(busy));
        error_free(busy);
        busy = NULL;
        resume_all_vcpus();
        g_usleep(EVENT_DRAIN_US);
    }
    if (!save_cpus(run, errp)) {
        return false;
    }
    end_phase(run, "save");
    if (injected_failure(run, "save", errp)) {
        return false;
    }

    accel_switch_activate(run->to);
    if (!load_cpus(run, true, errp) ||
        injected_failure(run, "load", errp)) {
        roll_back(run);
        return false;
    }
    end_phase(run, "load");
    return true;
}

static bool switch_allowed(Error **errp)
{
    if (!accel_switch.enabled) {
        error_setg(errp, "this VM cannot switch accelerators");
        error_append_hint(errp, "Start it with -accel kvm,switchable=on or "
                          "-accel tcg,switchable=on.\n");
        return false;
    }
    if (accel_switch.busy) {
        error_setg(errp, "an accelerator switch is already in progress");
        return false;
    }
    if (migration_is_running()) {
        error_setg(errp, "cannot switch accelerators during a migration");
        return false;
    }
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        error_setg(errp, "cannot switch accelerators while waiting for an "
                   "incoming migration");
        return false;
    }
    if (runstate_check(RUN_STATE_SAVE_VM) ||
        runstate_check(RUN_STATE_RESTORE_VM)) {
        error_setg(errp, "cannot switch accelerators while a snapshot is "
                   "saved or loaded");
        return false;
    }
    if (runstate_check(RUN_STATE_SHUTDOWN) || qemu_shutdown_requested_get()) {
        error_setg(errp, "cannot switch accelerators: the VM is shutting down");
        return false;
    }
    if (qemu_reset_requested_get()) {
        error_setg(errp, "cannot switch accelerators during a system reset");
        return false;
    }
    return true;
}

void qmp_switch_accel(SwitchableAccel accel, const char *x_fail_after,
                      Error **errp)
{
    SwitchRun run = {
        .from = accel_switch.active,
        .to = accel,
        .fail_after = x_fail_after,
    };
    bool was_running;
    bool ok;

    if (!switch_allowed(errp)) {
        return;
    }
    if (accel == accel_switch.active) {
        return;
    }
    run.phases_tail = &run.phases;
    run.start_us = run.phase_start_us = get_clock() / SCALE_US;
    trace_accel_switch_start(SwitchableAccel_str(run.from),
                             SwitchableAccel_str(run.to));

    accel_switch.busy = true;
    was_running = runstate_is_running();
    ok = do_switch(&run, was_running, errp);
    if (was_running) {
        resume_all_vcpus();
    }
    accel_switch.busy = false;
    if (run.state) {
        g_byte_array_unref(run.state);
    }
    if (!ok) {
        qapi_free_AccelSwitchPhaseList(run.phases);
        trace_accel_switch_failed(SwitchableAccel_str(accel_switch.active));
        return;
    }
    end_phase(&run, "resume");

    qapi_free_AccelSwitchInfo(accel_switch.last);
    accel_switch.last = finish(&run);
    accel_switch.switches++;
    trace_accel_switch_done(SwitchableAccel_str(run.from),
                            SwitchableAccel_str(run.to),
                            accel_switch.last->downtime_us);
    qapi_event_send_accel_switch(run.from, run.to,
                                 accel_switch.last->downtime_us,
                                 accel_switch.last->phases);
}

AccelInfo *qmp_query_accel(Error **errp)
{
    AccelInfo *info = g_new0(AccelInfo, 1);

    info->switchable = accel_switch.enabled;
    if (!accel_switch.enabled) {
        info->active = g_ascii_strdown(current_accel_name(), -1);
        return info;
    }
    info->active = g_strdup(SwitchableAccel_str(accel_switch.active));
    info->has_standby = true;
    info->standby = accel_switch.active == SWITCHABLE_ACCEL_KVM ?
                    SWITCHABLE_ACCEL_TCG : SWITCHABLE_ACCEL_KVM;
    info->switches = accel_switch.switches;
    info->last_switch = QAPI_CLONE(AccelSwitchInfo, accel_switch.last);
    return info;
}
