# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest fixtures for the QEMU-VAS tests (see tests/vas/vastest)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from vastest import paths                         # noqa: E402
from vastest.local import LocalQEMU, guest_args   # noqa: E402
from vastest.platform import kvm_mode, start_x86_guest  # noqa: E402
from vastest.channel import Timeout              # noqa: E402
from vastest.testhost import TestHost             # noqa: E402


def pytest_report_header(config):
    try:
        mode, reason = kvm_mode()
    except OSError as e:
        return 'KVM mode unknown: %s' % e
    return 'KVM tests run %s: %s' % (mode, reason)


class _TestHostKeeper:
    """The session's x86 test host, booted when first needed.

    If it has died (it once triple-faulted under TCG while a guest
    booted), the next test gets a new one, with its own logs, instead of
    every later test failing on the dead one.
    """

    def __init__(self):
        self.host = None
        self.boots = 0

    def get(self):
        if self.host is not None and not self.host.alive():
            self.host.close()
            self.host = None
        if self.host is None:
            name = 'testhost-x86_64' + ('.%d' % self.boots if self.boots else '')
            self.boots += 1
            self.host = TestHost('x86_64', name=name)
        return self.host

    def renew(self):
        """A new test host for the next test (see test_switch.py)."""
        self.close()
        self.host = None

    def close(self):
        if self.host is not None:
            self.host.close()


_KEEPER = _TestHostKeeper()


@pytest.fixture(scope='session')
def _x86_testhost_keeper():
    yield _KEEPER
    _KEEPER.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test whose test host (L1) died of a triple fault is reported as
    skipped, with the reason: L1 is Linux and its KVM on TCG's emulated
    SVM, and its death says nothing about what the test checks (see
    docs/devel/vas.rst, "Bugs found by these tests").  Everything else,
    time-outs and guest resets included, fails the test.
    """
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.when != 'call':
        return
    host = _KEEPER.host
    if host is not None and not host.alive() and host.triple_faulted():
        report.outcome = 'skipped'
        report.longrepr = (str(item.fspath), item.location[1] or 0,
                           'Skipped: the nested test host triple-faulted '
                           '(see %s)' % host.cpu_log)


@pytest.fixture
def x86_testhost(_x86_testhost_keeper):
    """The x86 nested test host, alive (booted once per session, and again
    only if it died)."""
    return _x86_testhost_keeper.get()


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

    def start(append='', extra=(), name=None, accel='kvm', io=False, cpu=None,
              connect=True, monitors=1):
        host = None if mode == 'direct' else request.getfixturevalue('x86_testhost')
        vm = start_x86_guest(host, accel, extra, append, name or request.node.name,
                             io, cpu, connect, monitors)
        started.append(vm)
        return vm

    yield start
    for vm in started:
        try:
            vm.close()
        except Timeout:
            # The test host stopped answering (the known stall): the
            # test already reported it; the next test gets a new host.
            _KEEPER.renew()
        except Exception:
            # A test host that died (a triple fault, reported as the
            # test's skip) cannot close its QEMUs cleanly either.
            host = _KEEPER.host
            if host is not None and host.alive():
                raise
            _KEEPER.renew()
