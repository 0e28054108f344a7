# SPDX-License-Identifier: GPL-2.0-or-later
"""Our x86_64 guest runs under real KVM (here: inside the nested test host)."""

import pytest

from vastest.checks import assert_workload_ok
from vastest.platform import kvm_mode

DURATION = 10


def test_kvm_boot(kvm_guest):
    vm = kvm_guest('vas.duration=%d vas.interval_ms=500' % DURATION,
                   extra=['-m', '512'])
    # The QEMU running the guest says it uses KVM ...
    assert vm.qmp.cmd('query-kvm') == {'enabled': True, 'present': True}
    vm.wait_boot(120)
    verdict = vm.wait_verdict(DURATION + 90)
    assert_workload_ok(vm, verdict, min_heartbeats=DURATION)
    # ... and so does the guest: its kernel found the KVM clock.
    assert any('kvm-clock' in line for line in verdict.dmesg), \
        'guest kernel did not see kvm-clock'


def test_testhost_kvm_works(request):
    """The nested test host's kernel has a usable /dev/kvm."""
    if kvm_mode()[0] == 'direct':
        pytest.skip('KVM runs directly on this host; no test host needed')
    host = request.getfixturevalue('x86_testhost')
    assert host.kvm_probe() is not None and host.kvm_probe().split()[1] == 'ok', \
        host.kvm_probe()
    out = host.check('grep -c -w svm /proc/cpuinfo; lsmod')
    assert int(out[0]) >= 1
    assert any(line.startswith('kvm_amd') for line in out), out
