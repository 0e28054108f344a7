/*
 * Accelerator switching: the guest's kvmclock while TCG runs it
 *
 * A guest that booted under KVM keeps reading kvmclock: per-vCPU pages
 * that KVM fills with a time stamp and the TSC at that time.  TCG does not
 * fill them, but as long as the TSC goes on, the pages still give the
 * right time.  What TCG must do is carry the clock on to the next KVM:
 * a plain TCG VM has no kvmclock device, so a standby stands in for it in
 * migration, with the same section a KVM VM sends.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "migration/vmstate.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "exec/cpu-common.h"
#include "cpu.h"
#include "x86-switch-internal.h"
#include "trace.h"

/* struct pvclock_vcpu_time_info, as the guest's clock page holds it */
typedef struct QEMU_PACKED PVClockTimeInfo {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
} PVClockTimeInfo;

static uint64_t pvclock_scale(uint64_t delta, uint32_t mul)
{
    uint64_t lo, hi;

    mulu64(&lo, &hi, delta, mul);
    return (hi << 32) | (lo >> 32);
}

/*
 * The guest's kvmclock at guest TSC @tsc, read as the guest reads it:
 * from the page KVM last filled.  Under TCG nobody updates the page, and
 * the TSC alone moves the guest's time on.
 */
bool x86_guest_kvmclock_ns_at(X86CPU *cpu, uint64_t tsc, uint64_t *ns)
{
    CPUX86State *env = &cpu->env;
    PVClockTimeInfo t;
    uint64_t delta;

    if (!(env->system_time_msr & 1)) {
        return false;
    }
    cpu_physical_memory_read(env->system_time_msr & ~1ULL, &t, sizeof(t));
    if (!le32_to_cpu(t.tsc_to_system_mul)) {
        return false;
    }
    delta = tsc - le64_to_cpu(t.tsc_timestamp);
    if (t.tsc_shift < 0) {
        delta >>= -t.tsc_shift;
    } else {
        delta <<= t.tsc_shift;
    }
    *ns = le64_to_cpu(t.system_time) +
          pvclock_scale(delta, le32_to_cpu(t.tsc_to_system_mul));
    return true;
}

bool x86_guest_kvmclock_ns(X86CPU *cpu, uint64_t *ns)
{
    return x86_guest_kvmclock_ns_at(cpu, cpu_get_tsc(&cpu->env), ns);
}

typedef struct KVMClockStandby {
    uint64_t clock;
    bool clock_is_reliable;
} KVMClockStandby;

static KVMClockStandby kvmclock_standby;

/* Only a guest that uses kvmclock has a clock to carry */
static bool kvmclock_standby_needed(void *opaque)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        if (cpu_env(cs)->system_time_msr & 1) {
            return true;
        }
    }
    return false;
}

/*
 * The clock as the guest sees it at the stop.  The "reliable" flag stays
 * off, so a KVM destination computes the clock itself from the guest's
 * page and the migrated TSC, the same way.
 */
static int kvmclock_standby_pre_save(void *opaque)
{
    KVMClockStandby *s = opaque;
    uint64_t ns;

    s->clock_is_reliable = false;
    if (x86_guest_kvmclock_ns(X86_CPU(first_cpu), &ns)) {
        s->clock = ns;
    }
    trace_x86_kvmclock_standby_save(s->clock);
    return 0;
}

static bool kvmclock_standby_reliable_needed(void *opaque)
{
    KVMClockStandby *s = opaque;

    return s->clock_is_reliable;
}

/* The layout of hw/i386/kvm/clock.c's section, which this must accept */
static const VMStateDescription vmstate_kvmclock_standby_reliable = {
    .name = "kvmclock/clock_is_reliable",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = kvmclock_standby_reliable_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(clock_is_reliable, KVMClockStandby),
        VMSTATE_END_OF_LIST()
    }
};

static const VMStateDescription vmstate_kvmclock_standby = {
    .name = "kvmclock",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = kvmclock_standby_needed,
    .pre_save = kvmclock_standby_pre_save,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(clock, KVMClockStandby),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_kvmclock_standby_reliable,
        NULL
    }
};

/*
 * A PC without KVM gets the standby, so that it can take in a guest from
 * KVM and hand it back.  (With KVM the kvmclock device is there.)  It
 * sends nothing unless the guest uses kvmclock, so streams between TCG
 * VMs do not change.
 */
void x86_kvmclock_standby_register(void)
{
    if (kvm_enabled() || !tcg_enabled() ||
        !object_dynamic_cast(OBJECT(current_machine), TYPE_X86_MACHINE)) {
        return;
    }
    vmstate_register(NULL, 0, &vmstate_kvmclock_standby, &kvmclock_standby);
}
