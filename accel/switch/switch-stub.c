/*
 * Accelerator switching: stubs for QEMUs built without KVM or TCG
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-accel-switch.h"
#include "qom/object.h"
#include "system/accel-switch.h"

bool accel_switch_enabled(void)
{
    return false;
}

bool accel_switch_tcg_standby(void)
{
    return false;
}

SwitchableAccel accel_switch_active(void)
{
    g_assert_not_reached();
}

SwitchableAccel accel_switch_initial(void)
{
    g_assert_not_reached();
}

void accel_switch_register_arch(const AccelSwitchArchOps *ops)
{
}

static bool switchable_get(Object *obj, Error **errp)
{
    return false;
}

static void switchable_set(Object *obj, bool value, Error **errp)
{
    ERRP_GUARD();

    if (value) {
        error_setg(errp, "this QEMU cannot switch accelerators: it was built "
                   "without KVM or without TCG");
#ifdef __arm__
        error_append_hint(errp, "Linux 5.7 and QEMU 5.2 removed KVM on 32-bit "
                          "Arm hosts: only TCG runs here.\n");
#endif
    }
}

void accel_switch_class_init(ObjectClass *oc)
{
    object_class_property_add_bool(oc, "switchable", switchable_get,
                                   switchable_set);
}

AccelState *accel_switch_primary(AccelState *accel, MachineState *ms)
{
    return accel;
}

void accel_switch_init_standby(MachineState *ms)
{
}

void accel_switch_init_interfaces(AccelClass *ac)
{
}

void accel_switch_cpu_pre_save(CPUState *cpu)
{
}

bool accel_switch_cpu_post_load(CPUState *cpu, Error **errp)
{
    return true;
}

bool accel_switch_cpu_realize(CPUState *cpu, Error **errp)
{
    return true;
}

void qmp_switch_accel(SwitchableAccel accel, const char *x_fail_after,
                      Error **errp)
{
    error_setg(errp, "this QEMU cannot switch accelerators");
}

AccelInfo *qmp_query_accel(Error **errp)
{
    AccelInfo *info = g_new0(AccelInfo, 1);

    info->active = g_ascii_strdown(current_accel_name(), -1);
    return info;
}
