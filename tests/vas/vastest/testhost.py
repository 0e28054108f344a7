# SPDX-License-Identifier: GPL-2.0-or-later
"""A nested KVM test host (L1) and the QEMUs the tests start inside it.

L1 boots under TCG on our own QEMU with hardware virtualization emulated,
loads KVM, and serves a shell on the virtio-serial port vas.ctl (its
console carries the kernel's messages).  Each inner QEMU gets two
virtio-serial ports: one for QMP, one for its guest's serial console;
their other ends are unix sockets here, read by the same classes as a
local QEMU's, so tests cannot tell the two apart.
"""

import base64
import itertools
import os
import signal
import subprocess
import tempfile
import time

from . import paths
from .channel import LineChannel, Timeout, connect_unix
from .guest import Guest, safe_name
from .qmp import QMPClient

PORT_PAIRS = 4      # inner QEMUs that can run at once
# Our QEMU in each test host (build-testhost.sh): the x86 one loads its
# firmware from there, the arm64 one boots -kernel on the virt board.
INNER_QEMU = {'x86_64': ['qemu-system-x86_64', '-L', '/usr/share/qemu'],
              'arm64': ['qemu-system-aarch64']}


class TestHost:
    __test__ = False    # not a pytest test class

    def __init__(self, arch='x86_64', name=None, logdir=None):
        self.arch = arch
        self.name = name or 'testhost-' + arch
        self.logdir = logdir or paths.LOGS
        os.makedirs(self.logdir, exist_ok=True)
        img = paths.image('testhost-' + arch)
        self.cpu_log = os.path.join(self.logdir, self.name + '.cpu.log')
        self.tmp = tempfile.mkdtemp(prefix='vas-l1-')
        self._seq = itertools.count()
        self._free = list(range(PORT_PAIRS))
        con = os.path.join(self.tmp, 'console.sock')
        ctl = os.path.join(self.tmp, 'ctl.sock')
        ports = [os.path.join(self.tmp, 'port%d.sock' % i)
                 for i in range(2 * PORT_PAIRS)]
        fw = []
        for d in paths.FIRMWARE_DIRS:
            fw += ['-L', d]
        args = [paths.qemu_binary(arch)] + fw + [
            '-no-user-config', '-nodefaults', '-display', 'none',
            # If L1 triple-faults, this log has the reason and, as L1 then
            # resets (rather than exits, as -no-reboot would have it), the
            # registers of its CPUs at the fault.  triple_faulted() stops
            # it there.
            '-action', 'reboot=reset',
            '-d', 'cpu_reset,guest_errors',
            '-D', self.cpu_log,
            '-chardev', 'socket,id=con,path=%s,server=on,wait=on' % con,
            '-serial', 'chardev:con',
            '-device', 'virtio-serial-pci,max_ports=%d' % (2 * PORT_PAIRS + 2),
            '-chardev', 'socket,id=ctl,path=%s,server=on,wait=on' % ctl,
            '-device', 'virtserialport,chardev=ctl,name=vas.ctl',
        ]
        for i, p in enumerate(ports):
            args += ['-chardev', 'socket,id=p%d,path=%s,server=on,wait=on' % (i, p),
                     '-device', 'virtserialport,chardev=p%d,name=vas.%d' % (i, i)]
        args += paths.read_image_file('testhost-' + arch, 'qemu-args').split()
        args += ['-kernel', os.path.join(img, 'kernel'),
                 '-initrd', os.path.join(img, 'initrd'),
                 '-append', paths.read_image_file('testhost-' + arch, 'cmdline')]
        log = os.path.join(self.logdir, self.name + '.qemu.log')
        self._stderr = open(log, 'w')
        self._stderr.write(' '.join(args) + '\n')
        self._stderr.flush()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self.console = LineChannel(
                connect_unix(con, 30, self.proc),
                os.path.join(self.logdir, self.name + '.console.log'),
                self.name + '-console')
            self.ctl = LineChannel(
                connect_unix(ctl, 30, self.proc),
                os.path.join(self.logdir, self.name + '.ctl.log'),
                self.name + '-ctl')
            self.port_socks = [connect_unix(p, 30, self.proc) for p in ports]
            _, m = self.console.expect(r'VAS-TESTHOST-READY|Kernel panic', 300)
            if 'panic' in m.group(0):
                raise RuntimeError('test host kernel panicked')
        except BaseException:
            self.close()
            raise
        self.boot_lines = self.console.snapshot()
        self._qmps = {}
        self._consoles = {}

    def triple_faulted(self):
        """L1 itself died of a triple fault (its QEMU logged it, and the
        registers at the fault as L1 reset); a test host that did is
        stopped here, before it boots again."""
        try:
            with open(self.cpu_log) as f:
                faulted = 'Triple fault' in f.read()
        except OSError:
            return False
        if faulted and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return faulted

    def alive(self):
        """The test host runs and its shell is connected."""
        return (self.proc.poll() is None and not self.ctl.closed and
                not self.triple_faulted())

    def _boot_line(self, tag):
        """The rest of L1's boot line that starts with tag, or None."""
        for line in self.boot_lines:
            if tag in line:
                return line[line.index(tag):]
        return None

    def kvm_probe(self):
        """The L1 kernel's own answer on /dev/kvm (kvm-probe line)."""
        return self._boot_line('VAS-KVM-PROBE')

    def kvm_caps(self):
        """What the L1 kernel's KVM offers (kvm-probe's VAS-KVM-CAPS
        line) as a dict of name -> int, or None without that line."""
        line = self._boot_line('VAS-KVM-CAPS')
        if line is None:
            return None
        return {k: int(v) for k, v in (p.split('=') for p in line.split()[1:])}

    def run(self, command, timeout=60):
        """Run a shell command in L1; return (exit status, output lines)."""
        n = next(self._seq)
        start = len(self.ctl.snapshot())
        self.ctl.write('%s\necho "@@VAS-RC-%d=$?"\n' % (command, n))
        i, m = self.ctl.expect(r'@@VAS-RC-%d=(\d+)' % n, timeout, start)
        out = self.ctl.snapshot()[start:i]
        return int(m.group(1)), out

    def put(self, path, data):
        """Write data (bytes) to path in L1, through the control channel."""
        text = base64.b64encode(data).decode()
        self.check(': > %s' % path)
        for i in range(0, len(text), 2048):
            self.check("echo '%s' | base64 -d >> %s" % (text[i:i + 2048], path))

    def check(self, command, timeout=60):
        rc, out = self.run(command, timeout)
        if rc:
            raise RuntimeError('in test host: %r exited %d:\n%s'
                               % (command, rc, '\n'.join(out)))
        return out

    def launch(self, args, name, connect=True, monitors=1):
        """Start our QEMU in L1 with args; returns an InnerQEMU.  Without
        connect, the caller negotiates QMP itself (vm.connect()).  With
        monitors=2 it has a second QMP monitor, vm.qmp2."""
        if self.proc.poll() is not None:
            raise RuntimeError('the test host exited (status %s); see %s'
                               % (self.proc.returncode, self._stderr.name))
        if len(self._free) < monitors:
            raise RuntimeError('all %d bridge port pairs in use' % PORT_PAIRS)
        pairs = [self._free.pop(0) for _ in range(monitors)]
        try:
            return InnerQEMU(self, pairs, args, name, connect)
        except BaseException:
            self._free += pairs
            raise

    def _qmp(self, pair):
        if pair not in self._qmps:
            self._qmps[pair] = QMPClient(
                self.port_socks[2 * pair],
                os.path.join(self.logdir, '%s.port%d.qmp.log' % (self.name, pair)))
        return self._qmps[pair]

    def _console(self, pair):
        if pair not in self._consoles:
            self._consoles[pair] = LineChannel(
                self.port_socks[2 * pair + 1],
                os.path.join(self.logdir, '%s.port%d.console.log' % (self.name, pair)),
                '%s-port%d' % (self.name, pair))
        return self._consoles[pair]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.ctl.write('poweroff -f\n')
                self.proc.wait(10)
            except Exception:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        for ch in list(self._qmps.values()) + list(self._consoles.values()):
            ch.close()
        for s in getattr(self, 'port_socks', []):
            s.close()
        for ch in ('console', 'ctl'):
            if hasattr(self, ch):
                getattr(self, ch).close()
        self._stderr.close()
        for f in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, f))
        os.rmdir(self.tmp)


class InnerQEMU(Guest):
    """Our QEMU running inside a test host."""

    def __init__(self, host, pairs, args, name, connect=True):
        self.host = host
        self.pairs = pairs
        self.pair = pair = pairs[0]
        self.name = name = safe_name(name)
        self.console = host._console(pair)
        self.console_start = len(self.console.snapshot())
        self.qmp = host._qmp(pair)
        self.first_event = len(self.qmp.events)
        self.log = '/tmp/%s.log' % name
        qmp_port = '/dev/virtio-ports/vas.%d' % (2 * pair)
        con_port = '/dev/virtio-ports/vas.%d' % (2 * pair + 1)
        cmd = INNER_QEMU[host.arch] + [
               '-no-user-config', '-nodefaults', '-display', 'none',
               '-chardev', 'pipe,id=vas-qmp,path=' + qmp_port,
               '-mon', 'chardev=vas-qmp,mode=control',
               '-chardev', 'pipe,id=vas-con,path=' + con_port,
               '-serial', 'chardev:vas-con']
        # A second monitor uses the QMP port of another pair.
        for i, extra in enumerate(pairs[1:]):
            cmd += ['-chardev', 'pipe,id=vas-qmp%d,path=/dev/virtio-ports/vas.%d'
                    % (i + 2, 2 * extra),
                    '-mon', 'chardev=vas-qmp%d,mode=control' % (i + 2)]
            self.qmp2 = host._qmp(extra)
        cmd += list(args)
        quoted = ' '.join("'%s'" % a.replace("'", "'\\''") for a in cmd)
        out = host.check('%s </dev/null >%s 2>&1 & echo "@@PID=$!"' % (quoted, self.log))
        self.pid = int(next(line.split('=')[1] for line in out if '@@PID=' in line))
        if connect:
            self.connect()

    def connect(self, timeout=60):
        try:
            self.qmp.negotiate(timeout=timeout)
            if self.qmp2:
                self.qmp2.negotiate(timeout=timeout)
        except Timeout:
            raise RuntimeError('inner QEMU did not answer QMP:\n%s'
                               % '\n'.join(self.qemu_log()))

    def wait_path(self, path, timeout=60):
        """Wait until path exists where this QEMU runs."""
        status, _ = self.host.run('for i in $(seq %d); do test -e %s && break; '
                                  'sleep 0.2; done; test -e %s'
                                  % (timeout * 5, path, path), timeout=timeout + 10)
        return status == 0

    def qemu_log(self):
        return self.host.run('cat %s' % self.log)[1]

    # Traced for a few seconds of a stall: what the vCPUs and the
    # interrupt controller still do (nothing at all is an answer too).
    STALL_TRACE = ['kvm_run_exit', 'gic_set_irq', 'gic_update_set_irq',
                   'gic_acknowledge_irq', 'gic_cpu_write']

    def describe_stall(self):
        """Besides the monitor's view: a few seconds of QEMU's trace, the
        test host's view of the vCPU threads, and QEMU's own output."""
        out = [super().describe_stall()]
        # KVM's own events in the test host's kernel, over the same time
        kvm_trace = self.host.run(
            'T=/sys/kernel/tracing; { test -e $T/trace || '
            'mount -t tracefs nodev $T; } && echo 0 > $T/trace && '
            'echo 1 > $T/events/kvm/enable && echo 1 > $T/tracing_on',
            timeout=30)[0] == 0
        try:
            for ev in self.STALL_TRACE:
                self.qmp.hmp('trace-event %s on' % ev, timeout=20)
            time.sleep(3)
            for ev in self.STALL_TRACE:
                self.qmp.hmp('trace-event %s off' % ev, timeout=20)
        except Exception as e:
            out.append('(tracing the stall failed: %s)' % e)
        if kvm_trace:
            out.append("the test host kernel's KVM events over those seconds:")
            out += self.host.run(
                'T=/sys/kernel/tracing; echo 0 > $T/events/kvm/enable; '
                'grep -v "^#" $T/trace | tail -n 300', timeout=60)[1]
        out.append('threads of QEMU in the test host (name, state, wchan):')
        out += self.host.run('for t in /proc/%d/task/*; do echo "$(cat $t/comm) '
                             '$(cut -d" " -f3 $t/stat) $(cat $t/wchan)"; done'
                             % self.pid, timeout=30)[1]
        log = self.qemu_log()
        out.append("QEMU's output, last %d of %d lines:"
                   % (min(len(log), 200), len(log)))
        out += log[-200:]
        return '\n'.join(out)

    def alive(self):
        return self.host.run('kill -0 %d' % self.pid)[0] == 0

    def close(self):
        # A test that moved the guest on closes this QEMU itself, and the
        # fixture closes it again: free its port pair only once.
        if getattr(self, 'closed', False):
            return
        self.closed = True
        if self.host.proc.poll() is not None:
            # The test host itself is gone; so is this QEMU.
            self.host._free += self.pairs
            return
        if self.alive():
            try:
                self.qmp.cmd('quit', timeout=10)
            except Exception:
                pass
            self.host.run('for i in $(seq 50); do kill -0 %d 2>/dev/null || break; '
                          'sleep 0.2; done; kill -9 %d 2>/dev/null; true'
                          % (self.pid, self.pid), timeout=30)
        # Keep the inner QEMU's own stderr (errors, traces) with the logs.
        try:
            with open(os.path.join(self.host.logdir, self.name + '.inner-qemu.log'),
                      'w') as f:
                f.write('\n'.join(self.qemu_log()) + '\n')
        except Exception:
            pass
        self.host._free += self.pairs
