# SPDX-License-Identifier: GPL-2.0-or-later
"""The ARM nested test host boots with a working /dev/kvm (VHE), and our
arm64-host QEMU runs guests on it."""

import pytest

from vastest.checks import assert_workload_ok
from vastest.local import AARCH32_CPU, guest_args
from vastest.testhost import TestHost


@pytest.fixture(scope='module')
def arm_testhost():
    host = TestHost('arm64')
    yield host
    host.close()


def test_arm_testhost_kvm(arm_testhost):
    probe = arm_testhost.kvm_probe()
    assert probe is not None and probe.split()[1] == 'ok', probe
    out = arm_testhost.check('uname -m; dmesg | grep -i "kvm \\["')
    assert out[0] == 'aarch64'
    assert any('VHE mode initialized successfully' in line for line in out), out


def test_arm_testhost_kvm_caps(arm_testhost):
    """Report what the nested arm64 KVM offers for switching (the ARM
    switch's design depends on it: docs/devel/vas.rst, "ARM")."""
    caps = arm_testhost.kvm_caps()
    assert caps is not None, 'kvm-probe printed no VAS-KVM-CAPS line'
    print('nested arm64 KVM: %s' % ' '.join(
        '%s=%d' % kv for kv in sorted(caps.items())))
    # Every KVM/arm64 has these; a probe that read nothing would not.
    assert caps['one-reg'] > 0 and caps['arm-psci-0.2'] > 0, caps


DURATION = 10
# KVM's in-kernel GIC in the test host can only be a GICv3 (see
# test_arm_testhost_kvm_caps); the guests' own -cpu model is TCG's.  KVM
# refuses an AArch32 vCPU that asks for SVE or pointer authentication
# (EINVAL from KVM_ARM_VCPU_INIT), which "host" has and aarch64=off keeps.
KVM_GUESTS = {'arm64': 'host', 'armhf': AARCH32_CPU}


@pytest.mark.parametrize('guest', sorted(KVM_GUESTS))
def test_arm_guest_kvm_boot(arm_testhost, guest):
    """Our arm64-host QEMU (build-cross-host.sh) runs the Debian arm64
    guest, and the armhf guest on an AArch32 vCPU, under the test host's
    real KVM, and the guest's own checks pass."""
    args = (['-accel', 'kvm'] +
            guest_args(guest, 'vas.duration=%d vas.interval_ms=500' % DURATION,
                       root='/guest-' + guest, cpu=KVM_GUESTS[guest]) +
            ['-machine', 'gic-version=3', '-m', '512'])
    vm = arm_testhost.launch(args, 'arm-kvm-boot-' + guest)
    try:
        assert vm.qmp.cmd('query-kvm') == {'enabled': True, 'present': True}
        # The test host's kernel agrees: the QEMU holds KVM vCPU files.
        fds = arm_testhost.check('ls -l /proc/%d/fd' % vm.pid)
        assert any('kvm-vcpu' in line for line in fds), fds
        boot = vm.wait_boot(180)
        assert boot['arch'] == {'arm64': 'aarch64', 'armhf': 'arm'}[guest]
        verdict = vm.wait_verdict(DURATION + 120)
        assert_workload_ok(vm, verdict, min_heartbeats=DURATION)
    finally:
        vm.close()

