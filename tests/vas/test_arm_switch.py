# SPDX-License-Identifier: GPL-2.0-or-later
"""Live KVM <-> TCG switching of a running AArch64 VM on an arm64 host
(issue 5), inside the ARM nested test host, whose KVM is real.

As for x86 (test_switch.py), every test judges the switch by what the
guest reports: heartbeats, memory and NEON/SVE register checks, the
virtual counter and CLOCK_MONOTONIC, the CPU identification registers a
program reads (DCZID, CTR, MIDR, REVIDR), and its kernel log.
"""

import os
import time

import pytest

from vastest.checks import assert_workload_ok
from vastest.local import AARCH32_CPU, guest_args
from vastest.switching import (GuestClock, boot_from_tcg, fail_each_phase,
                               rng, round_trips, switch)
from vastest.testhost import TestHost

ROUND_TRIPS = int(os.environ.get('VAS_ARM_ROUND_TRIPS', '50'))
# vCPU counts of the arm64 round trips.  The test host has 2 CPUs: with 4
# vCPUs on them a switchable guest (its GIC in QEMU, so every IPI exits)
# once stalled in its boot under plain KVM ("rcu_sched detected stalls"),
# before any switch.  make stress adds 4.
ARM64_SMP = [int(n) for n in os.environ.get('VAS_ARM_SMP', '1,2').split(',')]
TRACE = ['-trace', 'accel_switch_*', '-trace', 'arm_switch_*']
GUEST = 'vas.duration=0 vas.interval_ms=200'


@pytest.fixture(scope='module')
def arm_testhost():
    host = TestHost('arm64')
    yield host
    host.close()


def launch(host, name, smp=2, cpu='host', accel='kvm,switchable=on',
           extra=(), guest='arm64'):
    if guest == 'armhf':
        cpu = AARCH32_CPU
    args = (['-accel', accel] +
            guest_args(guest, GUEST, root='/guest-' + guest, cpu=cpu) +
            ['-m', '512', '-smp', str(smp)] + TRACE + list(extra))
    return host.launch(args, name)


def finish(vm, min_heartbeats=5):
    """Stop the workload from KVM and check everything it reported."""
    if vm.qmp.cmd('query-accel')['active'] == 'tcg':
        switch(vm, 'kvm')
    vm.wait_heartbeat(max(min_heartbeats, len(vm.heartbeats()) + 1), 120)
    vm.stop_workload()
    verdict = vm.wait_verdict(180)
    assert_workload_ok(vm, verdict, min_heartbeats)
    return verdict


@pytest.mark.parametrize('guest,smp', [('arm64', n) for n in ARM64_SMP] +
                         [('armhf', 2)])
def test_arm_round_trips(arm_testhost, request, guest, smp):
    """KVM -> TCG -> KVM many times, at random moments, under load: the
    arm64 guest, and the armhf one on an AArch32 vCPU."""
    vm = launch(arm_testhost, 'arm-round-trips-%s-%d' % (guest, smp),
                smp=smp, guest=guest)
    try:
        info = vm.qmp.cmd('query-accel')
        assert (info['active'], info['standby'], info['switchable']) == \
            ('kvm', 'tcg', True)
        boot = vm.wait_boot(180)
        arch = {'arm64': 'aarch64', 'armhf': 'arm'}[guest]
        assert (boot['arch'], int(boot['cpus'])) == (arch, smp)
        clock = GuestClock(vm)
        events = round_trips(vm, ROUND_TRIPS, rng(request))
        guest_s, host_s = clock.check()
        print('guest %.3f s, host %.3f s over %d switches'
              % (guest_s, host_s, len(events)))
        assert [(e['data']['from'], e['data']['to']) for e in events] == \
            [('kvm', 'tcg'), ('tcg', 'kvm')] * ROUND_TRIPS
        finish(vm, min_heartbeats=10)
    finally:
        vm.close()


def test_arm_switch_while_paused(arm_testhost):
    """A paused VM stays paused across switches and its counter does not
    run meanwhile; a running one runs on."""
    vm = launch(arm_testhost, 'arm-paused')
    try:
        vm.wait_boot(180)
        vm.qmp.cmd('stop')
        for to in ('tcg', 'kvm', 'tcg'):
            assert switch(vm, to)['active'] == to
            assert vm.qmp.cmd('query-status')['status'] == 'paused'
        seen = len(vm.heartbeats())
        vm.qmp.cmd('cont')
        vm.wait_heartbeat(seen + 3, 120)
        assert switch(vm, 'kvm')['active'] == 'kvm'
        clock = GuestClock(vm)
        vm.wait_heartbeat(len(vm.heartbeats()) + 3, 60)
        clock.check()
        finish(vm)
    finally:
        vm.close()


def test_arm_start_on_tcg(arm_testhost, request):
    """-accel tcg,switchable=on boots on TCG and moves to KVM at a random
    moment of the boot, then back and forth."""
    vm = launch(arm_testhost, 'arm-start-tcg', accel='tcg,switchable=on')
    try:
        # Past the first instructions, which run with the MMU off
        boot_from_tcg(vm, lambda: time.sleep(rng(request).uniform(5, 30)),
                      180)
        finish(vm)
    finally:
        vm.close()


@pytest.mark.parametrize('start', ['kvm', 'tcg'])
def test_arm_injected_failures(arm_testhost, start):
    """A switch failing at any phase leaves the VM on its accelerator,
    with the guest's counter and registers intact."""
    vm = launch(arm_testhost, 'arm-failures-' + start)
    try:
        vm.wait_boot(180)
        if start == 'tcg':
            switch(vm, 'tcg')
        clock = GuestClock(vm)
        target = fail_each_phase(vm, start)
        clock.check()
        assert switch(vm, target)['active'] == target
        vm.wait_heartbeat(len(vm.heartbeats()) + 2, 120)
        finish(vm)
    finally:
        vm.close()


@pytest.mark.parametrize('args,message', [
    (['-cpu', 'host,kvm-steal-time=on'],
     'kvm-steal-time=on is not supported'),
    (['-M', 'virt,gic-version=3', '-cpu', 'host'],
     'gic-version=3 is not supported: KVM and TCG can only share a GIC'),
    (['-accel', 'kvm,switchable=on,kernel-irqchip=on', '-cpu', 'host'],
     'kernel-irqchip=on and kernel-irqchip=split are not supported'),
], ids=['steal-time', 'gicv3', 'kernel-irqchip'])
def test_arm_switchable_refused(arm_testhost, args, message):
    """What a switch cannot handle on ARM is refused at start-up, by
    name, and the QEMU exits instead of running a VM that cannot do what
    was asked."""
    accel = [] if '-accel' in args else ['-accel', 'kvm,switchable=on']
    machine = [] if '-M' in args else ['-M', 'virt']
    rc, out = arm_testhost.run(
        'qemu-system-aarch64 -nodefaults -display none %s 2>&1'
        % ' '.join(machine + accel + args), timeout=60)
    assert rc == 1, (rc, out)
    assert any(message in line for line in out), out


def test_arm_host_features_tcg_lacks(arm_testhost):
    """A host CPU with a feature TCG does not emulate is refused at
    start-up, naming the field.  The test host's CPU is QEMU's own "max",
    so the feature is one the test hook adds to what KVM presents:
    FEAT_CSSC, which this QEMU's TCG does not implement."""
    rc, out = arm_testhost.run(
        'QEMU_VAS_TEST_KVM_ID_BITS=ID_AA64ISAR2_EL1:0x10000000000000 '
        'qemu-system-aarch64 -nodefaults -display none -M virt '
        '-accel kvm,switchable=on -cpu host 2>&1', timeout=60)
    assert rc == 1, (rc, out)
    assert any('switchable=on: the host CPU has features TCG cannot '
               'emulate: ID_AA64ISAR2_EL1.CSSC (KVM 1, TCG 0)' in line
               for line in out), out
