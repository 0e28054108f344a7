# SPDX-License-Identifier: GPL-2.0-or-later
"""Where KVM guests run: directly on this host, or in a nested test host.

The decision is made once per boot of this machine by a probe that tries
to boot our x86_64 guest kernel with -accel kvm directly.  On a host with
hardware virtualization it succeeds and KVM tests run directly; on these
development machines /dev/kvm is a software KVM that cannot boot Linux
(docs/devel/vas-testing.rst), so KVM tests run inside the test host.

VAS_KVM_MODE=direct|nested overrides the probe.
"""

import json
import os
import time

from . import paths
from .channel import Timeout
from .local import LocalQEMU, guest_args

PROBE_SECONDS = 30


def _boot_id():
    with open('/proc/sys/kernel/random/boot_id') as f:
        return f.read().strip()


def probe_direct_kvm():
    """Can this host's /dev/kvm boot our Linux guest to user space?

    Returns (answer, reason).
    """
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False, '/dev/kvm is not accessible'
    vm = None
    try:
        vm = LocalQEMU(paths.qemu_binary('x86_64'),
                       ['-accel', 'kvm', '-m', '256'] +
                       guest_args('x86_64', 'vas.duration=1'),
                       'kvm-probe')
        vm.wait_boot(PROBE_SECONDS)
        return True, 'guest reached user space under KVM'
    except (Timeout, RuntimeError, OSError) as e:
        return False, 'guest did not reach user space under KVM in %ss: %s' % (
            PROBE_SECONDS, _last_qemu_error() or e)
    finally:
        if vm:
            vm.close()


def _last_qemu_error():
    try:
        with open(os.path.join(paths.LOGS, 'kvm-probe.qemu.log')) as f:
            errors = [line.strip() for line in f if 'error' in line.lower()
                      or 'assert' in line.lower()]
        return errors[-1] if errors else None
    except OSError:
        return None


def kvm_mode():
    """'direct' or 'nested', with the reason, cached per machine boot."""
    forced = os.environ.get('VAS_KVM_MODE')
    if forced in ('direct', 'nested'):
        return forced, 'forced by VAS_KVM_MODE'
    cache = os.path.join(paths.BUILD, 'kvm-mode.json')
    try:
        with open(cache) as f:
            saved = json.load(f)
        if saved['boot_id'] == _boot_id():
            return saved['mode'], saved['reason']
    except (OSError, ValueError, KeyError):
        pass
    start = time.monotonic()
    ok, reason = probe_direct_kvm()
    mode = 'direct' if ok else 'nested'
    reason += ' (probe took %.0fs)' % (time.monotonic() - start)
    with open(cache, 'w') as f:
        json.dump({'boot_id': _boot_id(), 'mode': mode, 'reason': reason}, f)
    return mode, reason


def start_x86_guest(host, accel, extra, append, name):
    """Our x86_64 guest on our QEMU with -accel ACCEL: on this host if
    host is None, else inside that test host.  Same Guest interface."""
    if host is None:
        return LocalQEMU(paths.qemu_binary('x86_64'),
                         ['-accel', accel] + list(extra) +
                         guest_args('x86_64', append), name)
    return host.launch(['-accel', accel] + list(extra) +
                       guest_args('x86_64', append, root='/guest'), name)
