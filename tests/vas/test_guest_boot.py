# SPDX-License-Identifier: GPL-2.0-or-later
"""Our Debian test guests boot and pass their own checks under TCG."""

import pytest

from vastest.checks import assert_workload_ok

DURATION = 8


@pytest.mark.parametrize('arch', ['x86_64', 'arm64', 'armhf'])
def test_tcg_boot(tcg_guest, arch):
    vm = tcg_guest(arch, 'vas.duration=%d vas.interval_ms=500' % DURATION,
                   extra=['-m', '512'])
    boot = vm.wait_boot(120)
    assert boot['arch'] == {'x86_64': 'x86_64', 'arm64': 'aarch64',
                            'armhf': 'arm'}[arch]
    verdict = vm.wait_verdict(DURATION + 60)
    assert_workload_ok(vm, verdict, min_heartbeats=DURATION)


@pytest.mark.parametrize('what', ['mem', 'vec'])
def test_selftest_detects_corruption(tcg_guest, what):
    """The guest's checks can fail: a deliberately corrupted run says FAIL."""
    vm = tcg_guest('x86_64', 'vas.duration=4 vas.interval_ms=500 vas.selftest_fail=%s'
                   % what, extra=['-m', '512'])
    verdict = vm.wait_verdict(120)
    assert not verdict.ok
    assert any(('what=%s' % what) in e for e in verdict.errors), verdict.errors
