# SPDX-License-Identifier: GPL-2.0-or-later
"""What the guest workload (tests/vas/guest/workload.c) reports.

Tests judge a run by these lines, which the guest itself prints: its
heartbeats with clock stamps, its memory and vector self-checks, its final
verdict, and its kernel log.
"""

import re
import time

from .channel import Timeout

# Kernel log lines that mean a switch or migration hurt the guest.
# (The clocksource watchdog's "read-back delay" and "Long readout
# interval, skipping" notices are not among them: they say a check was
# skipped because reading the clocks, or the watchdog timer itself, was
# late, which nested emulation makes common; they judge no clock.)
KERNEL_PROBLEMS = [
    r'clocksource(?!.*(read-back delay|skipping watchdog check)).*[Ww]atchdog', r'[Mm]arking clocksource .* as unstable',
    r'TSC.*unstable', r'[Mm]arking TSC unstable',
    r'rcu_.*(stall|detected stalls)', r'soft lockup', r'hard LOCKUP',
    r'Oops', r'Kernel panic', r'BUG:', r'general protection fault',
    r'segfault at', r'invalid opcode', r'Call Trace:',
]
_PROBLEM = re.compile('|'.join(KERNEL_PROBLEMS))
_LATENCY = 'excessive read-back delay'
_LATENCY_CONSEQUENCES = ('Marking TSC unstable due to clocksource watchdog',
                         'TSC found unstable after boot')


def safe_name(name):
    """A test or VM name usable in file names and shell words."""
    return re.sub(r'[^A-Za-z0-9_.-]', '_', name)


def fields(line):
    """KEY=VALUE pairs of a report line as a dict of strings."""
    return dict(tok.split('=', 1) for tok in line.split() if '=' in tok)


class Verdict:
    def __init__(self, line, heartbeats, errors, dmesg):
        self.line = line
        self.ok = line.split()[1] == 'OK'
        self.fields = fields(line)
        self.heartbeats = heartbeats
        self.errors = errors
        self.dmesg = dmesg

    def __repr__(self):
        return '<Verdict %s, %d heartbeats, %d errors>' % (
            'OK' if self.ok else 'FAIL', len(self.heartbeats), len(self.errors))


class GuestReset(Exception):
    """The guest reset itself (a triple fault) or shut down while a test
    waited for it."""


class Guest:
    """A running QEMU with our guest: QMP, console, workload reports.

    Subclasses (local process, or inside a test host) provide qmp, console,
    console_start and close().
    """

    qmp = None
    qmp2 = None         # a second QMP monitor, if asked for
    console = None
    console_start = 0
    # The first QMP event of this QEMU (a test host's monitor channel
    # carries those of the QEMUs it ran before)
    first_event = 0

    def lines(self):
        return self.console.snapshot()[self.console_start:]

    def expect(self, pattern, timeout):
        try:
            i, m = self.console.expect(pattern, timeout, self.console_start)
        except Timeout as e:
            self.check_no_reset('while waiting: %s' % e)
            raise
        return m

    def check_no_reset(self, what, since=None):
        """Raise GuestReset if QEMU reported the guest's reset or own
        shutdown since QMP event number since (default: its first)."""
        if self.qmp is None:
            return
        first = self.first_event if since is None else since
        for e in self.qmp.events[first:]:
            if e['event'] == 'RESET' or (e['event'] == 'SHUTDOWN' and
                                         e['data'].get('guest')):
                raise GuestReset('the guest %s (%s) %s' % (
                    'reset' if e['event'] == 'RESET' else 'shut down',
                    e['data'].get('reason'), what))

    def wait_boot(self, timeout=120):
        m = self.expect(r'VAS-BOOT .*', timeout)
        return fields(m.group(0))

    def wait_past_tsc_calibration(self, rand, timeout=300):
        """Wait until the x86 kernel is some way into its boot, past its
        TSC calibration: "Poking KASLR" is the last line start_kernel()
        prints (at loglevel=4) before it calibrates the TSC against the PIT
        and HPET, which takes a few seconds under TCG nested in TCG, then
        30-90 s more, chosen by rand.  The whole boot there takes minutes.
        (A switch or migration during the calibration upsets it as any
        pause would: "could not calculate TSC khz".)"""
        self.expect(r'Poking KASLR', timeout)
        time.sleep(rand.uniform(30, 90))

    def heartbeats(self):
        return [fields(line[line.index('VAS-HB'):])
                for line in self.lines() if 'VAS-HB ' in line]

    def timed_heartbeats(self):
        """The heartbeats, each with the host's time of its arrival."""
        return [(fields(line[line.index('VAS-HB'):]), t) for line, t in
                self.console.snapshot_timed()[self.console_start:]
                if 'VAS-HB ' in line]

    def wait_heartbeat(self, seq, timeout):
        try:
            m = self.expect(r'VAS-HB seq=%d ' % seq, timeout)
        except Timeout as e:
            raise Timeout('%s\n%s' % (e, self.describe_stall()))
        return fields(m.string[m.start():])

    def describe_stall(self):
        """What QEMU shows of a guest that went silent: CPU, interrupt
        controllers and the serial port it prints through (IER and LSR
        only: reading IIR would clear a pending transmit interrupt)."""
        out = ['state of %s when the guest went silent:' % self.name]
        try:
            ncpus = len(self.qmp.cmd('query-cpus-fast', timeout=20))
        except Exception:
            ncpus = 1
        # Every vCPU's: the IOAPIC may route the console's IRQ to any.
        cmds = ['info status', 'info cpus', 'info registers -a']
        cmds += ['info lapic %d' % i for i in range(ncpus)]
        for cmd in cmds + ['info pic', 'info irq', 'i /b 0x3f9', 'i /b 0x3fd']:
            try:
                out += ['(qemu) ' + cmd, self.qmp.hmp(cmd, timeout=20).rstrip()]
            except Exception as e:      # a dead QEMU says nothing more
                out.append('(qemu) %s: %s' % (cmd, e))
                break
        return '\n'.join(out)

    def io_reports(self):
        """Progress of the guest's I/O load (VAS-IO lines), oldest first."""
        return [fields(line[line.index('VAS-IO'):])
                for line in self.lines() if 'VAS-IO ' in line]

    def io_results(self):
        """The I/O load's final lines by kind: {'DISK': fields, 'NET': ...};
        each has 'ok' ('OK' or 'FAIL') besides its KEY=VALUE fields."""
        out = {}
        for line in self.lines():
            m = re.search(r'VAS-(DISK|NET) (OK|FAIL)(.*)', line)
            if m:
                out[m.group(1)] = dict(fields(m.group(3)), ok=m.group(2))
        return out

    def stop_workload(self):
        self.console.write('stop\n')

    def wait_verdict(self, timeout=120):
        """Wait for the verdict and the kernel log dump after it."""
        try:
            self.expect(r'VAS-VERDICT ', timeout)
            # The kernel log is long, and under nested emulation every
            # character the serial port sends costs an exit.
            self.expect(r'VAS-DMESG-END', 240)
        except Timeout as e:
            raise Timeout('%s\n%s' % (e, self.describe_stall()))
        timed = self.console.snapshot_timed()[self.console_start:]
        lines = [line for line, _ in timed]
        verdict = next(line[line.index('VAS-VERDICT'):]
                       for line in lines if 'VAS-VERDICT ' in line)
        errors = [line for line in lines if 'VAS-ERR' in line]
        begin = next(i for i, line in enumerate(lines) if 'VAS-DMESG-BEGIN' in line)
        end = next(i for i, line in enumerate(lines) if 'VAS-DMESG-END' in line)
        print('%s: kernel log of %d lines took %.1f s on the console'
              % (self.name, end - begin - 1, timed[end][1] - timed[begin][1]))
        return Verdict(verdict, self.heartbeats(), errors, lines[begin + 1:end])

    def kernel_problems(self, dmesg=None):
        """Kernel log lines (console and dmesg) matching KERNEL_PROBLEMS.

        One verdict of the clocksource watchdog is set aside: "excessive
        read-back delay ... marking tsc unstable" (and the lines it causes:
        "Marking TSC unstable", and "TSC found unstable after boot" once
        the scheduler clock had been declared stable) says that reading
        the TSC between two reads of the watchdog clock took too long, not
        that the clocks disagree.  Under TCG nested in TCG a vCPU thread
        is often held up that long.  A skew verdict ("skew is too large")
        still counts.
        """
        text = (dmesg or []) + self.lines()
        found = {line for line in text if _PROBLEM.search(line)}
        latency = any(_LATENCY in line for line in text)
        if latency and not any('skew' in line for line in found):
            found = {line for line in found
                     if not any(c in line for c in _LATENCY_CONSEQUENCES)}
        return sorted(found)

    def kernel_report(self, dmesg, lines=30):
        """The kernel log (dmesg, then the console) from its first problem
        line on: a stall or oops report names the CPU, task and state only
        in the lines after its first, and CI keeps only the failure
        message."""
        text = (dmesg or []) + self.lines()
        first = next((i for i, line in enumerate(text)
                      if _PROBLEM.search(line) or _LATENCY in line), None)
        return [] if first is None else text[first:first + lines]

    def close(self):
        raise NotImplementedError
