/*
 * Accelerator switching: vCPU threads that run either KVM or TCG
 *
 * Each vCPU has one thread for the VM's whole life.  It owns both a KVM
 * vCPU file descriptor and a TCG context, and runs whichever execution
 * loop belongs to the active accelerator.  A switch only stops the
 * threads, moves the state and restarts them: it never creates or
 * destroys one.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/guest-random.h"
#include "qemu/notify.h"
#include "qemu/rcu.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "system/accel-ops.h"
#include "system/cpus.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "tcg/startup.h"
#include "accel/kvm/kvm-cpus.h"
#include "accel/tcg/tcg-accel-ops.h"
#include "accel-switch-internal.h"
#include "trace.h"

#define TYPE_SWITCH_ACCEL_OPS ACCEL_OPS_NAME("switch")

static AccelOpsClass *kvm_ops;
static AccelOpsClass *tcg_ops;

static inline bool kvm_active(void)
{
    return accel_switch.active == SWITCHABLE_ACCEL_KVM;
}

static inline const AccelOpsClass *active_ops(void)
{
    return kvm_active() ? kvm_ops : tcg_ops;
}

typedef struct ForceRcuNotifier {
    Notifier notifier;
    CPUState *cpu;
} ForceRcuNotifier;

static void do_nothing(CPUState *cpu, run_on_cpu_data d)
{
}

/* RCU asks a TCG vCPU, which may run for long, to pass a quiescent point */
static void force_rcu(Notifier *notify, void *data)
{
    CPUState *cpu = container_of(notify, ForceRcuNotifier, notifier)->cpu;

    async_run_on_cpu(cpu, do_nothing, RUN_ON_CPU_NULL);
}

static void run_tcg(CPUState *cpu)
{
    int r;

    bql_unlock();
    r = tcg_cpu_exec(cpu);
    bql_lock();
    switch (r) {
    case EXCP_DEBUG:
        cpu_handle_guest_debug(cpu);
        break;
    case EXCP_ATOMIC:
        bql_unlock();
        cpu_exec_step_atomic(cpu);
        bql_lock();
        break;
    default:
        break;
    }
    qatomic_set_mb(&cpu->exit_request, 0);
}

static void run_kvm(CPUState *cpu)
{
    if (kvm_cpu_exec(cpu) == EXCP_DEBUG) {
        cpu_handle_guest_debug(cpu);
    }
}

static void *switch_vcpu_thread_fn(void *arg)
{
    CPUState *cpu = arg;
    ForceRcuNotifier rcu_notifier = {
        .notifier.notify = force_rcu,
        .cpu = cpu,
    };

    rcu_register_thread();
    rcu_add_force_rcu_notifier(&rcu_notifier.notifier);
    tcg_register_thread();

    bql_lock();
    qemu_thread_get_self(cpu->thread);
    cpu->thread_id = qemu_get_thread_id();
    cpu->neg.can_do_io = true;
    current_cpu = cpu;

    kvm_init_vcpu(cpu, &error_fatal);
    kvm_init_cpu_signals(cpu);

    cpu_thread_signal_created(cpu);
    qemu_guest_random_seed_thread_part2(cpu->random_seed);

    /* process any pending work */
    cpu->exit_request = 1;

    do {
        if (cpu_can_run(cpu)) {
            if (kvm_active()) {
                run_kvm(cpu);
            } else {
                run_tcg(cpu);
            }
        }
        qemu_wait_io_event(cpu);
    } while (!cpu->unplug || cpu_can_run(cpu));

    kvm_destroy_vcpu(cpu);
    cpu_thread_signal_destroyed(cpu);
    bql_unlock();
    rcu_remove_force_rcu_notifier(&rcu_notifier.notifier);
    rcu_unregister_thread();
    return NULL;
}

static void switch_start_vcpu_thread(CPUState *cpu)
{
    char thread_name[VCPU_THREAD_NAME_SIZE];

    tcg_cpu_init_cflags(cpu, current_machine->smp.max_cpus > 1);
    snprintf(thread_name, VCPU_THREAD_NAME_SIZE, "CPU %d/KVM+TCG",
             cpu->cpu_index);
    qemu_thread_create(cpu->thread, thread_name, switch_vcpu_thread_fn,
                       cpu, QEMU_THREAD_JOINABLE);
}

static void switch_kick_vcpu_thread(CPUState *cpu)
{
    /* leaves cpu_exec(), and makes kvm_cpu_exec() return before KVM_RUN */
    cpu_exit(cpu);
    if (kvm_active() && cpu->created) {
        cpus_kick_thread(cpu);
    }
}

static void switch_handle_interrupt(CPUState *cpu, int mask)
{
    cpu->interrupt_request |= mask;
    if (!qemu_cpu_is_self(cpu)) {
        qemu_cpu_kick(cpu);
    } else if (!kvm_active()) {
        qatomic_set(&cpu->neg.icount_decr.u16.high, -1);
    }
}

static bool switch_cpu_thread_is_idle(CPUState *cpu)
{
    return !kvm_active() || !kvm_halt_in_kernel();
}

static bool switch_cpus_are_resettable(void)
{
    return kvm_ops->cpus_are_resettable();
}

/* TCG's TLB exists in both modes; keep it in step with resets */
static void switch_cpu_reset_hold(CPUState *cpu)
{
    tcg_ops->cpu_reset_hold(cpu);
}

#define KVM_ONLY(fn)                                \
static void switch_##fn(CPUState *cpu)              \
{                                                   \
    if (kvm_active()) {                             \
        kvm_ops->fn(cpu);                           \
    }                                               \
}

KVM_ONLY(synchronize_post_reset)
KVM_ONLY(synchronize_post_init)
KVM_ONLY(synchronize_state)
KVM_ONLY(synchronize_pre_loadvm)

static bool switch_supports_guest_debug(void)
{
    const AccelOpsClass *ops = active_ops();

    return ops->supports_guest_debug && ops->supports_guest_debug();
}

static int switch_update_guest_debug(CPUState *cpu)
{
    const AccelOpsClass *ops = active_ops();

    return ops->update_guest_debug ? ops->update_guest_debug(cpu) : 0;
}

static int switch_insert_breakpoint(CPUState *cpu, int type, vaddr addr,
                                    vaddr len)
{
    const AccelOpsClass *ops = active_ops();

    return ops->insert_breakpoint ? ops->insert_breakpoint(cpu, type, addr, len)
                                  : -ENOSYS;
}

static int switch_remove_breakpoint(CPUState *cpu, int type, vaddr addr,
                                    vaddr len)
{
    const AccelOpsClass *ops = active_ops();

    return ops->remove_breakpoint ? ops->remove_breakpoint(cpu, type, addr, len)
                                  : -ENOSYS;
}

static void switch_remove_all_breakpoints(CPUState *cpu)
{
    const AccelOpsClass *ops = active_ops();

    if (ops->remove_all_breakpoints) {
        ops->remove_all_breakpoints(cpu);
    }
}

static void switch_accel_ops_class_init(ObjectClass *oc, void *data)
{
    AccelOpsClass *ops = ACCEL_OPS_CLASS(oc);

    ops->create_vcpu_thread = switch_start_vcpu_thread;
    ops->kick_vcpu_thread = switch_kick_vcpu_thread;
    ops->handle_interrupt = switch_handle_interrupt;
    ops->cpu_thread_is_idle = switch_cpu_thread_is_idle;
    ops->cpus_are_resettable = switch_cpus_are_resettable;
    ops->cpu_reset_hold = switch_cpu_reset_hold;
    ops->synchronize_post_reset = switch_synchronize_post_reset;
    ops->synchronize_post_init = switch_synchronize_post_init;
    ops->synchronize_state = switch_synchronize_state;
    ops->synchronize_pre_loadvm = switch_synchronize_pre_loadvm;
    ops->supports_guest_debug = switch_supports_guest_debug;
    ops->update_guest_debug = switch_update_guest_debug;
    ops->insert_breakpoint = switch_insert_breakpoint;
    ops->remove_breakpoint = switch_remove_breakpoint;
    ops->remove_all_breakpoints = switch_remove_all_breakpoints;
}

static const TypeInfo switch_accel_ops_type = {
    .name = TYPE_SWITCH_ACCEL_OPS,
    .parent = TYPE_ACCEL_OPS,
    .class_init = switch_accel_ops_class_init,
    .abstract = true,
};

static void switch_accel_ops_register_types(void)
{
    type_register_static(&switch_accel_ops_type);
}

type_init(switch_accel_ops_register_types);

/* Called once KVM's own ops are registered: replace them by ours. */
void accel_switch_init_cpus_ops(void)
{
    kvm_ops = ACCEL_OPS_CLASS(object_class_by_name(ACCEL_OPS_NAME("kvm")));
    tcg_ops = ACCEL_OPS_CLASS(object_class_by_name(ACCEL_OPS_NAME("tcg")));
    tcg_ops->ops_init(tcg_ops);
    cpus_register_accel(ACCEL_OPS_CLASS(
                            object_class_by_name(TYPE_SWITCH_ACCEL_OPS)));
}

/*
 * Re-render every address space so that dirty-log masks, which depend on
 * tcg_enabled(), are recomputed.  A range rendered while TCG ran (a VM
 * started on TCG, or a BAR moved under TCG) asks KVM to log dirty pages
 * for TCG's code tracking; KVM would keep logging them, without huge
 * pages, after a switch back.
 */
static void refresh_memory_topology(void)
{
    static MemoryRegion *toggle;

    if (!toggle) {
        toggle = g_new0(MemoryRegion, 1);
        memory_region_init(toggle, NULL, "accel-switch-refresh", 0);
    }
    memory_region_set_enabled(toggle, !toggle->enabled);
}

void accel_switch_activate(SwitchableAccel accel)
{
    accel_switch.active = accel;
    tcg_allowed = accel == SWITCHABLE_ACCEL_TCG;
    /*
     * Entering TCG needs no re-render: TCG finds guest code writes by its
     * own TLB and bitmap, which read tcg_enabled() when they run, and
     * turning on KVM's dirty logging for a vCPU that is not running
     * would only cost time in proportion to guest RAM.
     */
    if (accel == SWITCHABLE_ACCEL_KVM) {
        refresh_memory_topology();
    }
    trace_accel_switch_activate(SwitchableAccel_str(accel));
}
