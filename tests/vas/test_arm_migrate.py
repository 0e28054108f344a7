# SPDX-License-Identifier: GPL-2.0-or-later
"""Migration of a running AArch64 or AArch32 guest between a KVM and a
TCG QEMU on an arm64 host (issue 5, item 3), inside the ARM test host.

Both QEMUs are switchable (-accel kvm|tcg,switchable=on): only then do
their vCPUs carry the same register list, GIC and CPU model.  Each hop
is judged as for x86 (test_migrate.py): equal guest RAM digests on both
sides, the guest going on with its heartbeats, and at the end its own
checks and kernel log.
"""

import os
import time

import pytest

from test_migrate import Hops
from vastest import baremetal
from vastest.local import AARCH32_CPU, guest_args
from vastest.migrating import MigrationFailed, incoming_args, migrate, uri
from vastest.testhost import TestHost

# A hop meets an interrupt pending in the GIC as the source stops only
# now and then: make stress runs more of them.
HOPS = int(os.environ.get('VAS_ARM_MIGRATION_HOPS', '4'))
SWITCHABLE = {'kvm': 'kvm,switchable=on', 'tcg': 'tcg,switchable=on'}


@pytest.fixture(scope='module')
def arm_testhost():
    host = TestHost('arm64')
    yield host
    host.close()


@pytest.fixture
def launch(arm_testhost):
    """arm_testhost.launch(), closing after the test every QEMU the test
    started: the test host has only a few console and QMP ports."""
    started = []

    def start(args, name, connect=True):
        vm = arm_testhost.launch(args, name, connect=connect)
        started.append(vm)
        return vm
    yield start
    for vm in started:
        vm.close()


def guest_starter(launch, guest):
    """Starts our arm64 or armhf guest in the test host the way Hops
    starts its guests: kvm_guest(append, extra=, accel=, cpu=, name=,
    connect=)."""
    def start(append, extra=(), accel='kvm', cpu='host', name='arm-guest',
              connect=True, switchable=True):
        args = (['-accel', SWITCHABLE[accel] if switchable else accel] +
                guest_args(guest, append, root='/guest-' + guest, cpu=cpu) +
                ['-smp', '2', '-trace', 'arm_switch_*'] + list(extra))
        return launch(args, name, connect=connect)
    return start


@pytest.fixture
def arm_guest(launch):
    return guest_starter(launch, 'arm64')


@pytest.mark.parametrize('guest', ['arm64', 'armhf'])
def test_arm_ping_pong(launch, guest):
    """KVM -> TCG -> KVM ... across processes, RAM digests equal: the
    arm64 guest, and the armhf one on an AArch32 vCPU."""
    cpu = AARCH32_CPU if guest == 'armhf' else 'host'
    hops = Hops(guest_starter(launch, guest), 'arm-pingpong-' + guest,
                cpu=cpu)
    hops.wait_heartbeats_after(2)
    for i in range(HOPS):
        out = hops.hop('tcp')
        print('hop %d to %s: downtime %s ms, total %s ms, %s bytes'
              % (i + 1, hops.accel, out.get('downtime'), out.get('total-time'),
                 out['ram']['transferred']))
    verdict = hops.finish(min_heartbeats=HOPS)
    # Both QEMUs present one CPU: the identification a program reads
    # (DCZID, CTR, MIDR, REVIDR) never changed under the guest.
    assert len({hb['cpuid'] for hb in verdict.heartbeats}) == 1


def test_arm_refused_not_switchable(arm_guest):
    """A plain TCG QEMU cannot take the vCPU: it says why before any RAM
    moves, and the source runs on."""
    hops = Hops(arm_guest, 'arm-refused', cpu='host')
    hops.wait_heartbeats_after(1)
    src = hops.vm
    name = 'arm-refused.1-tcg'
    args, _ = incoming_args(name)
    dst = arm_guest('', extra=args, accel='tcg', cpu='max', name=name,
                    switchable=False)
    with pytest.raises(MigrationFailed):
        migrate(src, dst, uri('tcp', name), timeout=120)
    assert src.qmp.cmd('query-status')['status'] == 'running'
    log = '\n'.join(dst.qemu_log())
    assert 'only into a QEMU started with -accel tcg,switchable=on' in log, log
    hops.wait_heartbeats_after(len(hops.heartbeats()) + 1)
    hops.finish(min_heartbeats=2)


def test_arm_pending_irq_moves(arm_testhost, launch, tmp_path):
    """An interrupt pending while the guest has IRQs masked is still
    pending in the destination, KVM -> TCG and TCG -> KVM.  A bare-metal
    guest (tests/vas/guest/pending-irq.S) keeps its timer interrupt
    pending, masked, for 8 s of each round, and the test moves it then;
    the guest prints "tick 0027" when it takes the interrupt."""
    elf = '/tmp/pending-irq.elf'
    arm_testhost.put(elf, baremetal.build('pending-irq', tmp_path).read_bytes())

    def start(accel, name, extra=()):
        return launch(['-accel', SWITCHABLE[accel], '-M', 'virt',
                       '-cpu', 'host', '-m', '64', '-kernel', elf] +
                      list(extra), name)

    vm = start('kvm', 'pending-irq.0-kvm')
    for hop, to in enumerate(['tcg', 'kvm'], 1):
        vm.expect(r'^pending$', 60)
        name = 'pending-irq.%d-%s' % (hop, to)
        dst = start(to, name, incoming_args(name)[0])
        migrate(vm, dst, uri('tcp', name), timeout=120)
        time.sleep(0.5)             # what the source printed last arrives
        lines = vm.lines()
        assert lines[-1] == 'pending', \
            'the guest did not stay masked until it moved: %s' % lines
        vm.close()
        vm = dst
        vm.qmp.cmd('cont')
        vm.expect(r'^unmasking$', 60)
        vm.expect(r'^tick 0027$', 30)
    vm.expect(r'^done$', 60)
