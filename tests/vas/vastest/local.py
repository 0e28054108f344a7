# SPDX-License-Identifier: GPL-2.0-or-later
"""A QEMU process on this host."""

import os
import signal
import subprocess
import tempfile
import time

from . import paths
from .channel import LineChannel, connect_unix
from .guest import Guest, safe_name
from .qmp import QMPClient


class LocalQEMU(Guest):
    """Run one QEMU here, console and QMP on unix sockets it serves.

    Both sockets are wait=on servers, so nothing the guest prints is lost
    before the harness is connected.  wrapper is a command line that runs
    the binary (an emulator for a QEMU built for another host).
    """

    def __init__(self, binary, args, name, logdir=None, connect=True,
                 monitors=1, wrapper=()):
        self.name = name = safe_name(name)
        self.logdir = logdir or paths.LOGS
        os.makedirs(self.logdir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix='vas-%s-' % name)
        con = os.path.join(self.tmp, 'con.sock')
        qmp = os.path.join(self.tmp, 'qmp.sock')
        qmp2 = os.path.join(self.tmp, 'qmp2.sock') if monitors > 1 else None
        fw = []
        for d in paths.FIRMWARE_DIRS:
            fw += ['-L', d]
        self.cmdline = list(wrapper) + [binary] + fw + [
            '-no-user-config', '-nodefaults', '-display', 'none',
            '-chardev', 'socket,id=vas-con,path=%s,server=on,wait=on' % con,
            '-serial', 'chardev:vas-con',
            '-chardev', 'socket,id=vas-qmp,path=%s,server=on,wait=on' % qmp,
            '-mon', 'chardev=vas-qmp,mode=control',
        ] + (['-chardev', 'socket,id=vas-qmp2,path=%s,server=on,wait=on' % qmp2,
              '-mon', 'chardev=vas-qmp2,mode=control'] if qmp2 else []) + list(args)
        log = os.path.join(self.logdir, name + '.qemu.log')
        with open(log, 'w') as f:
            f.write(' '.join(self.cmdline) + '\n')
        self.stderr = open(log, 'a')
        self.proc = subprocess.Popen(self.cmdline, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.console = self.qmp = None
        self._sockets = con, qmp, qmp2
        if connect:
            self.connect()

    def connect(self, timeout=30):
        """Connect to the console and QMP, which QEMU opens once it has
        read its CPR state when it has a cpr -incoming channel."""
        con, qmp, qmp2 = self._sockets
        try:
            self.console = LineChannel(connect_unix(con, timeout, self.proc),
                                       os.path.join(self.logdir, self.name + '.console.log'),
                                       self.name + '-console')
            self.qmp = QMPClient(connect_unix(qmp, timeout, self.proc),
                                 os.path.join(self.logdir, self.name + '.qmp.log'))
            self.qmp.negotiate()
            if qmp2:
                self.qmp2 = QMPClient(connect_unix(qmp2, timeout, self.proc),
                                      os.path.join(self.logdir, self.name + '.qmp2.log'))
                self.qmp2.negotiate()
        except BaseException:
            self.close()
            raise

    def wait_path(self, path, timeout=60):
        """Wait until path exists."""
        return wait_until(lambda: os.path.exists(path), timeout, 0.2)

    def alive(self):
        return self.proc.poll() is None

    def qemu_log(self):
        """QEMU's own output (stderr and stdout), as lines."""
        with open(self.stderr.name, errors='replace') as f:
            return f.read().splitlines()

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if getattr(self, 'closed', False):
            return
        self.closed = True
        if self.alive():
            try:
                self.qmp.cmd('quit', timeout=5)
            except Exception:
                pass
            if self.wait_exit(10) is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for ch in (self.qmp, self.qmp2, self.console):
            if ch:
                ch.close()
        self.stderr.close()
        for f in ('con.sock', 'qmp.sock', 'qmp2.sock'):
            try:
                os.unlink(os.path.join(self.tmp, f))
            except OSError:
                pass
        os.rmdir(self.tmp)


# The armhf guest's vCPU on an arm64 host: KVM refuses an AArch32 vCPU with
# SVE or pointer authentication, which "host" keeps under aarch64=off.
AARCH32_CPU = 'host,aarch64=off,sve=off,pauth=off'


def guest_args(arch, append='', root=None, cpu=None):
    """Machine, -kernel/-initrd/-append args for our guest image.

    root is where the image's kernel and initrd are as seen by the QEMU
    that boots them (inside a test host they are in /guest).  cpu
    replaces the image's -cpu model.
    """
    name = 'guest-' + arch
    cmdline = paths.read_image_file(name, 'cmdline')
    args = paths.read_image_file(name, 'qemu-args').split()
    if cpu:
        args[args.index('-cpu') + 1] = cpu
    root = root or paths.image(name)
    return args + [
        '-kernel', os.path.join(root, 'kernel'),
        '-initrd', os.path.join(root, 'initrd'),
        '-append', ' '.join(x for x in (cmdline, append) if x),
    ]


def wait_until(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
