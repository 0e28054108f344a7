# SPDX-License-Identifier: GPL-2.0-or-later
"""Migration between a KVM and a TCG QEMU, both ways (issue 4).

Neither side is switchable: a plain -accel kvm QEMU (in-kernel irqchip,
kvmclock) hands the running guest to a plain -accel tcg QEMU and back.
The KVM half runs inside the nested test host.  Each hop is judged by
the guest RAM digests of both sides (the source's after it stopped, the
destination's before it runs) and by the guest, which must go on with
its heartbeats; at the end its own checks and kernel log must be clean.
"""

import os
import re
import time

import pytest

from vastest.checks import assert_workload_ok
from vastest.guest import Verdict, fields
from vastest.local import wait_until
from vastest.paths import LOGS
from vastest.migrating import (CROSS_CPU, MigrationFailed, cpr_channels,
                               incoming_args, memfd_ram_args, migrate, migrate_cpr,
                               ram_digests, remove, shared_ram_args, status,
                               uri, wait_done)
from vastest.qmp import QMPError
from vastest.switching import rng

HOPS = int(os.environ.get('VAS_MIGRATION_HOPS', '10'))
OTHER = {'kvm': 'tcg', 'tcg': 'kvm'}
# A small workload buffer: every hop digests guest RAM twice, and the
# test host (itself emulated) digests some 20 MiB/s.
GUEST = 'vas.duration=0 vas.interval_ms=200 vas.mem_mib=16 earlyprintk=ttyS0'
MEM_MIB = 512
MEM = ['-m', str(MEM_MIB)]


class Hops:
    """The QEMUs one guest has lived in, oldest first."""

    def __init__(self, kvm_guest, name, accel='kvm', cpu=CROSS_CPU,
                 shared=None, boot=True):
        self.kvm_guest = kvm_guest
        self.name = name
        self.cpu = cpu
        self.accel = accel
        # With shared RAM every QEMU maps the same memory, not copied: a
        # named file (x-ignore-shared), or memfds cpr-transfer hands on.
        self.shared = shared
        self.ram_file = '/tmp/%s.ram' % name if shared == 'file' else None
        self.mem = MEM
        if shared == 'file':
            self.mem = MEM + shared_ram_args(self.ram_file, MEM_MIB)
        elif shared == 'memfd':
            self.mem = MEM + memfd_ram_args(MEM_MIB)
        self.caps = {'x-ignore-shared': True} if shared == 'file' else None
        self.vms = [kvm_guest(GUEST, extra=self.mem, accel=accel, cpu=cpu,
                              name='%s.0-%s' % (name, accel))]
        # What the guest printed in the QEMUs it left, and a line it had
        # half sent when the last one stopped, which goes on in the next.
        self.history = []
        self.carry = ''
        # Under TCG inside the test host (TCG in TCG) a boot takes minutes.
        if boot:
            self.vms[0].wait_boot(600 if accel == 'tcg' else 120)

    @property
    def vm(self):
        return self.vms[-1]

    def lines(self):
        """The guest's console output through all its QEMUs.  (A test
        host's console port serves one QEMU after another: a QEMU's own
        lines are only those it printed while the guest lived in it.)"""
        current = self.vm.lines()
        if self.carry and current:
            current[0] = self.carry + current[0]
        return self.history + current

    def heartbeats(self):
        return [fields(line[line.index('VAS-HB'):])
                for line in self.lines() if 'VAS-HB ' in line]

    def wait_heartbeats_after(self, seq, timeout=120):
        """Wait until the guest reported a heartbeat after number seq."""
        ok = wait_until(lambda: len(self.heartbeats()) > seq, timeout, 0.2)
        self.save_log()
        assert ok, 'no heartbeat after %d within %ss in %s\n%s' % (
            seq, timeout, self.vm.name, self.vm.describe_stall())

    def save_log(self):
        """The guest's console through all its QEMUs, with the hops."""
        with open(os.path.join(LOGS, self.name + '.guest.log'), 'w') as f:
            f.write('\n'.join(self.lines()) + '\n')

    def start_destination(self, accel, cpu=None):
        name = '%s.%d-%s' % (self.name, len(self.vms), accel)
        args, connect = incoming_args(name, cpr=self.shared == 'memfd')
        return self.kvm_guest(GUEST, extra=self.mem + args, accel=accel,
                              cpu=cpu or self.cpu, name=name, connect=connect)

    def hop(self, transport, timeout=120):
        """Migrate to a new QEMU on the other accelerator; check RAM; wait
        up to timeout for the guest's next heartbeat there.  (With memfd
        RAM, by cpr-transfer over unix sockets.)"""
        to = OTHER[self.accel]
        src = self.vm
        dst = self.start_destination(to)
        if self.shared == 'memfd':
            out = migrate_cpr(src, dst, dst.name)
        else:
            out = migrate(src, dst, uri(transport, '%s.%d' % (self.name, len(self.vms))),
                          caps=self.caps)
        last = len(self.heartbeats())
        assert src.qmp.cmd('query-status')['status'] == 'postmigrate'
        assert dst.qmp.cmd('query-status')['status'] == 'paused'
        before, after = ram_digests(src), ram_digests(dst)
        assert before == after, 'guest RAM differs after %s -> %s' % (self.accel, to)
        # The source is stopped: what it sent last has arrived.
        time.sleep(0.5)
        partial = src.console.take_partial()
        self.history = self.lines() + ['[test] hop %d: %s -> %s'
                                       % (len(self.vms), self.accel, to)]
        self.carry = partial
        self.vms.append(dst)
        self.accel = to
        dst.qmp.cmd('cont')
        src.close()
        # The guest goes on from where it stopped: its next heartbeat.
        self.wait_heartbeats_after(last, timeout)
        return out

    def finish(self, min_heartbeats=5):
        """Stop the workload (from KVM: under TCG in the test host the
        guest reads its console very slowly) and check its reports."""
        vm = self.vm
        self.wait_heartbeats_after(len(self.heartbeats()))
        vm.stop_workload()
        last = vm.wait_verdict(180)
        self.save_log()
        errors = [line for line in self.lines() if 'VAS-ERR' in line]
        if self.ram_file:
            remove(vm, self.ram_file)   # freed when the last QEMU exits
        verdict = Verdict(last.line, self.heartbeats(), errors, last.dmesg)
        # Neither side is switchable, so each shows the guest its own
        # CPUID (hypervisor leaves, KVM's paravirt bits); the destination
        # checked up front that it has every feature the guest saw.
        assert_workload_ok(vm, verdict, min_heartbeats, same_cpuid=False)
        return verdict


@pytest.mark.parametrize('transport,count', [
    ('tcp', HOPS), ('unix', 4), ('file', 4)])
def test_ping_pong(kvm_guest, transport, count):
    """KVM -> TCG -> KVM ... across processes, over each transport."""
    hops = Hops(kvm_guest, 'pingpong-' + transport)
    hops.wait_heartbeats_after(2)
    for i in range(count):
        out = hops.hop(transport)
        print('hop %d to %s: downtime %s ms, total %s ms, %s bytes'
              % (i + 1, hops.accel, out.get('downtime'), out.get('total-time'),
                 out['ram']['transferred']))
    if hops.accel != 'kvm':
        hops.hop(transport)
    verdict = hops.finish(min_heartbeats=count)
    # The guest kept kvmclock, which TCG carried on from its pages.
    assert any('kvm-clock' in line for line in verdict.dmesg)


@pytest.mark.parametrize('shared', ['file', 'memfd'])
def test_ping_pong_shared(kvm_guest, shared):
    """KVM -> TCG -> KVM ... with guest RAM in shared memory, which stays
    where it is: a named file (x-ignore-shared; ROMs still travel), or
    memfds for all RAM blocks (cpr-transfer)."""
    hops = Hops(kvm_guest, 'shared-' + shared, shared=shared)
    hops.wait_heartbeats_after(2)
    for i in range(HOPS):
        out = hops.hop('unix')
        sent = out['ram']['transferred']
        print('hop %d to %s: downtime %s ms, total %s ms, %s bytes'
              % (i + 1, hops.accel, out.get('downtime'), out.get('total-time'),
                 sent))
        assert sent < (MEM_MIB << 20) // 100, \
            'hop %d sent %d bytes of RAM' % (i + 1, sent)
    hops.finish(min_heartbeats=HOPS)


def test_refused_capability_mismatch(kvm_guest):
    """x-ignore-shared on the source only: the destination says so."""
    hops = Hops(kvm_guest, 'caps', shared='file')
    hops.wait_heartbeats_after(1)
    src = hops.vm
    dst = hops.start_destination('tcg')
    # Slowly, so that the source is still copying when the destination
    # refuses: with shared RAM there is little to send, and a source
    # that already stopped for the last pass resumes with kvm-clock set
    # back by its stop, which the guest's watchdog flags against the TSC
    # (upstream's behaviour after a migration failed late).
    with pytest.raises(MigrationFailed):
        migrate(src, dst, uri('tcp', 'caps'), timeout=120,
                caps={'x-ignore-shared': True}, dst_caps={},
                params={'max-bandwidth': 64 << 10, 'downtime-limit': 1})
    assert src.qmp.cmd('query-status')['status'] == 'running'
    log = exit_log(dst)
    assert 'Capability x-ignore-shared is off, but received capability is on' \
        in log, log
    hops.wait_heartbeats_after(len(hops.heartbeats()) + 1)
    hops.finish(min_heartbeats=3)


def test_refused_cpr_unshared_ram(kvm_guest):
    """cpr-transfer of a VM whose RAM is not shared: migrate fails at
    once naming the block, and the guest goes on in the source."""
    hops = Hops(kvm_guest, 'cpr-unshared')
    hops.wait_heartbeats_after(1)
    src = hops.vm
    src.qmp.cmd('migrate-set-parameters', {'mode': 'cpr-transfer'})
    with pytest.raises(QMPError) as e:
        src.qmp.cmd('migrate', {'channels': cpr_channels('cpr-unshared')})
    # (the first block it finds: a ROM, if only pc.ram were shared)
    assert re.search(r'Memory region \S+ is not compatible with CPR\. share=on '
                     r'is required for memory-backend objects, and '
                     r'aux-ram-share=on is required\.', e.value.desc), e.value
    assert src.qmp.cmd('query-status')['status'] == 'running'
    hops.wait_heartbeats_after(len(hops.heartbeats()) + 1)
    hops.finish(min_heartbeats=3)


def test_start_on_tcg(kvm_guest, request):
    """A guest booting under TCG moves to KVM part way into the kernel's
    boot, after its TSC calibration, then back and forth.  It has no
    kvm-clock: the kernel's watchdog checks its TSC against the HPET."""
    hops = Hops(kvm_guest, 'from-tcg', accel='tcg', boot=False)
    hops.vm.wait_past_tsc_calibration(rng(request))
    hops.hop('unix', timeout=240)    # KVM boots the rest
    hops.wait_heartbeats_after(len(hops.heartbeats()) + 1)
    hops.hop('unix')
    hops.hop('unix')
    assert hops.accel == 'kvm'
    hops.finish(min_heartbeats=3)


def exit_log(dst):
    """The output of a destination that refused the guest, once it has
    exited: it may close the stream before it prints why."""
    assert wait_until(lambda: not dst.alive(), 60, 0.5), \
        '%s did not exit after refusing' % dst.name
    log = '\n'.join(dst.qemu_log())
    dst.close()
    return log


def refused(hops, accel, cpu):
    """Migrate to a destination that must refuse; return its error output.
    The source must go on running the guest."""
    src = hops.vm
    dst = hops.start_destination(accel, cpu)
    with pytest.raises(MigrationFailed):
        migrate(src, dst, uri('tcp', hops.name + '.refused'), timeout=120)
    assert src.qmp.cmd('query-status')['status'] == 'running'
    hops.wait_heartbeats_after(len(hops.heartbeats()) + 1)
    return exit_log(dst)


def test_refused_cpu_lacks_features(kvm_guest):
    """A TCG destination whose CPU lacks a feature the guest uses."""
    hops = Hops(kvm_guest, 'refused-cpu')
    hops.wait_heartbeats_after(1)
    log = refused(hops, 'tcg', 'qemu64,x2apic=off,svm=off')
    assert 'features this tcg CPU lacks: x2apic' in log, log
    hops.finish(min_heartbeats=3)


def test_refused_pv_hypercalls(kvm_guest):
    """A guest offered KVM hypercall features cannot move to TCG."""
    hops = Hops(kvm_guest, 'refused-pv', cpu=CROSS_CPU + ',kvm-pv-ipi=on')
    hops.wait_heartbeats_after(1)
    log = refused(hops, 'tcg', CROSS_CPU)
    assert 'paravirtual features that TCG cannot serve: kvm-pv-ipi' in log, log
    hops.finish(min_heartbeats=3)


def test_cancelled(kvm_guest):
    """A migration cancelled mid-stream leaves the source running."""
    hops = Hops(kvm_guest, 'cancelled')
    hops.wait_heartbeats_after(1)
    src = hops.vm
    dst = hops.start_destination('tcg')
    to = uri('tcp', 'cancelled')
    dst.qmp.cmd('migrate-incoming', {'uri': to})
    # Slow enough to be caught mid-stream.
    src.qmp.cmd('migrate-set-parameters', {'max-bandwidth': 1 << 20})
    src.qmp.cmd('migrate', {'uri': to})
    assert wait_until(lambda: status(src)['ram']['transferred'] > 0
                      if 'ram' in status(src) else False, 60)
    assert status(src)['status'] == 'active'
    src.qmp.cmd('migrate_cancel')
    assert wait_done(src, 60)['status'] == 'cancelled'
    assert src.qmp.cmd('query-status')['status'] == 'running'
    hops.wait_heartbeats_after(len(hops.heartbeats()) + 1)
    dst.close()
    # And a second migration then goes through.
    src.qmp.cmd('migrate-set-parameters', {'max-bandwidth': 1 << 40})
    hops.hop('tcp')
    hops.hop('tcp')
    hops.finish(min_heartbeats=3)


def test_ram_digest_hmp(kvm_guest):
    """info ram-digest shows the same digests as query-ram-digest."""
    hops = Hops(kvm_guest, 'digest-hmp')
    hops.vm.qmp.cmd('stop')
    digests = ram_digests(hops.vm)
    text = hops.vm.qmp.hmp('info ram-digest')
    for block, (size, pages, sha) in digests.items():
        assert '%s: size 0x%x, %d non-zero pages, sha256 %s' % (
            block, size, pages, sha) in text
    assert digests['pc.ram'][1] > 0
    with pytest.raises(QMPError):
        hops.vm.qmp.cmd('query-ram-digest', {'block': 'pc.ram'})
