# SPDX-License-Identifier: GPL-2.0-or-later
"""Where KVM guests run: directly on this host, or in a nested test host.

The decision is made once per boot of this machine by a probe that tries
to boot our x86_64 guest kernel with -accel kvm directly.  On a host with
hardware virtualization it succeeds and KVM tests run directly; on these
development machines /dev/kvm is a software KVM that cannot boot Linux
(docs/devel/vas.rst, "Nested KVM test hosts"), so KVM tests run inside the test host.

VAS_KVM_MODE=direct|nested overrides the probe.
"""

import json
import os
import time
import zlib

from . import paths
from .channel import Timeout
from .guest import safe_name
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


# The guest's I/O load (tests/vas/guest/ioload.c): a scratch virtio-blk
# disk, and a virtio-net NIC on slirp whose guestfwd runs "cat" for each
# connection to ECHO, an echo service in the QEMU's own host.
DISK_MIB = 32
ECHO = '10.0.2.100:7'


class ScratchDisk:
    """A zeroed raw image where the guest's QEMU runs (here or in L1)."""

    def __init__(self, host, name, mib=DISK_MIB):
        self.host = host
        if host is None:
            self.path = os.path.join(paths.LOGS, name + '.disk.img')
            with open(self.path, 'wb') as f:
                f.truncate(mib << 20)
        else:
            self.path = '/tmp/%s.disk.img' % name
            host.check('rm -f %s && truncate -s %dM %s' % (self.path, mib, self.path))

    def crc32(self):
        """zlib's CRC-32 of the image, as eight hex digits."""
        if self.host is None:
            with open(self.path, 'rb') as f:
                crc = 0
                for chunk in iter(lambda: f.read(1 << 20), b''):
                    crc = zlib.crc32(chunk, crc)
            return '%08x' % crc
        return self.host.check('crc32 %s' % self.path)[-1].split()[0]


def io_args(disk):
    """QEMU arguments and kernel parameters for the guest's I/O load."""
    args = ['-drive', 'file=%s,if=none,id=vas-disk,format=raw' % disk.path,
            '-device', 'virtio-blk-pci,drive=vas-disk',
            '-netdev', 'user,id=vas-net,restrict=on,guestfwd=tcp:%s-cmd:cat' % ECHO,
            '-device', 'virtio-net-pci,netdev=vas-net,romfile=']
    return args, 'vas.disk=/dev/vda vas.net=' + ECHO


def start_x86_guest(host, accel, extra, append, name, io=False, cpu=None,
                    connect=True, monitors=1):
    """Our x86_64 guest on our QEMU with -accel ACCEL: on this host if
    host is None, else inside that test host.  Same Guest interface.
    With io, the guest also runs its disk and network load; the disk is
    the returned guest's .disk.  cpu replaces the default -cpu model.
    Without connect, the caller connects (vm.connect()) once QEMU opens
    its monitor.  monitors=2 adds a second QMP monitor, vm.qmp2."""
    disk = None
    extra = list(extra)
    if io:
        disk = ScratchDisk(host, safe_name(name))
        args, params = io_args(disk)
        extra += args
        append = ' '.join(x for x in (append, params) if x)
    if host is None:
        vm = LocalQEMU(paths.qemu_binary('x86_64'),
                       ['-accel', accel] + extra +
                       guest_args('x86_64', append, cpu=cpu), name,
                       connect=connect, monitors=monitors)
    else:
        vm = host.launch(['-accel', accel] + extra +
                         guest_args('x86_64', append, root='/guest', cpu=cpu),
                         name, connect, monitors)
    vm.disk = disk
    return vm
