# SPDX-License-Identifier: GPL-2.0-or-later
"""Our armhf-host QEMU (scripts/vas/build-cross-host.sh armhf) runs TCG
guests, and says why it cannot switch.

These machines have no ARMv7 CPU: the static 32-bit binary runs under
Debian's qemu-arm-static (tests/vas/images/qemu-user.sh), user-mode
emulation of one, on this host's kernel.
"""

import subprocess

from vastest import paths
from vastest.checks import assert_workload_ok
from vastest.local import LocalQEMU, guest_args

HEARTBEATS = 3
ARMHF_HOST = [paths.QEMU_ARM_USER, paths.cross_qemu('armhf')]


def test_armhf_host_tcg_boot():
    """The Debian armhf guest boots and passes its own checks.  Minutes
    here: the guest's TCG runs inside the emulated host CPU's."""
    vm = LocalQEMU(ARMHF_HOST[1],
                   ['-accel', 'tcg', '-m', '256'] +
                   guest_args('armhf', 'vas.duration=0 vas.interval_ms=500'),
                   'armhf-host-tcg-boot', wrapper=ARMHF_HOST[:1])
    try:
        assert vm.qmp.cmd('query-accel')['active'] == 'tcg'
        boot = vm.wait_boot(400)
        assert boot['arch'] == 'arm'
        # Emulated twice over, the guest cannot keep its 500 ms interval
        # (one heartbeat in 5 s in a slow run): a count of heartbeats,
        # not a duration, ends its run.
        vm.wait_heartbeat(HEARTBEATS, 300)
        vm.stop_workload()
        verdict = vm.wait_verdict(300)
        assert_workload_ok(vm, verdict, min_heartbeats=HEARTBEATS)
    finally:
        vm.close()


def test_armhf_host_refuses_switchable():
    """KVM is gone from 32-bit ARM hosts: switchable=on is refused, with
    the reason, and QEMU exits."""
    r = subprocess.run(ARMHF_HOST + ['-nodefaults', '-display', 'none',
                                     '-M', 'virt', '-accel', 'tcg,switchable=on'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r
    assert ('-accel tcg,switchable=on: this QEMU cannot switch accelerators'
            in r.stderr), r.stderr
    assert 'Linux 5.7 and QEMU 5.2 removed KVM on 32-bit Arm hosts' in r.stderr, \
        r.stderr
