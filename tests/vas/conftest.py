# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest fixtures for the QEMU-VAS tests (see tests/vas/vastest)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from vastest import paths                         # noqa: E402
from vastest.local import LocalQEMU, guest_args   # noqa: E402
from vastest.platform import kvm_mode, start_x86_guest  # noqa: E402
from vastest.testhost import TestHost             # noqa: E402


def pytest_report_header(config):
    try:
        mode, reason = kvm_mode()
    except OSError as e:
        return 'KVM mode unknown: %s' % e
    return 'KVM tests run %s: %s' % (mode, reason)


@pytest.fixture(scope='session')
def x86_testhost():
    """The x86 nested test host, booted once per session when needed."""
    host = TestHost('x86_64')
    yield host
    host.close()


@pytest.fixture
def tcg_guest(request):
    """Factory: our guest for ARCH under TCG on this host."""
    started = []

    def start(arch, append='', extra=(), name=None):
        vm = LocalQEMU(paths.qemu_binary(arch),
                       ['-accel', 'tcg'] + list(extra) + guest_args(arch, append),
                       name or '%s-%s' % (request.node.name, arch))
        started.append(vm)
        return vm

    yield start
    for vm in started:
        vm.close()


@pytest.fixture
def kvm_guest(request):
    """Factory: our x86_64 guest under KVM, directly or in the test host.

    The test sees the same Guest interface either way.  accel is the
    -accel argument (e.g. "kvm,switchable=on", "tcg,switchable=on"):
    anything that needs KVM at some point runs where KVM works.
    """
    started = []
    mode, _ = kvm_mode()

    def start(append='', extra=(), name=None, accel='kvm', io=False):
        host = None if mode == 'direct' else request.getfixturevalue('x86_testhost')
        vm = start_x86_guest(host, accel, extra, append, name or request.node.name,
                             io)
        started.append(vm)
        return vm

    yield start
    for vm in started:
        vm.close()
