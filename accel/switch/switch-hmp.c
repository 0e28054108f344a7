/*
 * Accelerator switching: HMP commands switch_accel and info accel
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-accel-switch.h"
#include "qapi/qapi-visit-accel-switch.h"
#include "qapi/util.h"
#include "qobject/qdict.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"

static void hmp_switch_accel(Monitor *mon, const QDict *qdict)
{
    const char *name = qdict_get_str(qdict, "accel");
    Error *err = NULL;
    int accel = qapi_enum_parse(&SwitchableAccel_lookup, name, -1, NULL);
    g_autoptr(AccelInfo) before = NULL;
    g_autoptr(AccelInfo) after = NULL;

    if (accel < 0) {
        error_setg(&err, "unknown accelerator '%s' (expected kvm or tcg)",
                   name);
        hmp_handle_error(mon, err);
        return;
    }
    before = qmp_query_accel(NULL);
    qmp_switch_accel(accel, NULL, &err);
    if (hmp_handle_error(mon, err)) {
        return;
    }
    after = qmp_query_accel(NULL);
    if (after->switches != before->switches) {
        monitor_printf(mon, "switched to %s, downtime %" PRId64 " us\n",
                       name, after->last_switch->downtime_us);
    }
}

static void hmp_info_accel(Monitor *mon, const QDict *qdict)
{
    g_autoptr(AccelInfo) info = qmp_query_accel(NULL);
    AccelSwitchPhaseList *p;

    monitor_printf(mon, "active accelerator: %s\n", info->active);
    if (!info->switchable) {
        monitor_printf(mon, "switchable: no\n");
        return;
    }
    monitor_printf(mon, "switchable: yes (standby: %s)\n",
                   SwitchableAccel_str(info->standby));
    monitor_printf(mon, "switches: %" PRId64 "\n", info->switches);
    if (info->last_switch) {
        monitor_printf(mon, "last switch: %s -> %s, downtime %" PRId64 " us (",
                       SwitchableAccel_str(info->last_switch->from),
                       SwitchableAccel_str(info->last_switch->to),
                       info->last_switch->downtime_us);
        for (p = info->last_switch->phases; p; p = p->next) {
            monitor_printf(mon, "%s %" PRId64 "%s", p->value->name,
                           p->value->us, p->next ? ", " : ")\n");
        }
    }
}

static void accel_switch_hmp_register(void)
{
    monitor_register_hmp("switch_accel", false, hmp_switch_accel);
    monitor_register_hmp("accel", true, hmp_info_accel);
}

type_init(accel_switch_hmp_register);
