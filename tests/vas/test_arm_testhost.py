# SPDX-License-Identifier: GPL-2.0-or-later
"""The ARM nested test host boots with a working /dev/kvm (VHE)."""

import pytest

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
