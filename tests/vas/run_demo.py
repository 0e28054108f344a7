#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make run: boot the bundled Debian x86_64 guest under KVM, switch it live.

KVM runs directly where this host can boot Linux with it, otherwise inside
the nested KVM test host.  The guest starts with -accel kvm,switchable=on,
then moves KVM -> TCG -> KVM while its workload keeps printing heartbeats;
each switch's downtime is printed.  The guest's console is shown as it
comes; the run ends with the guest workload's own verdict.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vastest.platform import kvm_mode, start_x86_guest  # noqa: E402
from vastest.switching import switch              # noqa: E402
from vastest.testhost import TestHost             # noqa: E402

DURATION = int(os.environ.get('VAS_RUN_SECONDS', '20'))
ACCEL = 'kvm,switchable=on'


def show_switch(vm, to):
    last = switch(vm, to)['last-switch']
    phases = ', '.join('%s %d us' % (p['name'], p['us']) for p in last['phases'])
    print('[vas] switched %s -> %s: downtime %d us (%s)'
          % (last['from'], last['to'], last['downtime-us'], phases), flush=True)


def show_switches(vm):
    """KVM -> TCG -> KVM, with heartbeats in between."""
    vm.wait_boot(180)
    for to in ('tcg', 'kvm'):
        vm.wait_heartbeat(len(vm.heartbeats()) + 3, 120)
        show_switch(vm, to)


def follow(channel, start, stop):
    """Print a console's lines as they arrive."""
    i = start
    while not stop.is_set():
        lines = channel.snapshot()
        for line in lines[i:]:
            print('  guest| ' + line, flush=True)
        i = len(lines)
        time.sleep(0.2)


def main():
    mode, reason = kvm_mode()
    print('[vas] KVM runs %s: %s' % (mode, reason), flush=True)
    append = 'vas.duration=%d vas.interval_ms=1000' % DURATION
    host = None
    if mode != 'direct':
        print('[vas] booting the nested KVM test host (L1, under TCG)...', flush=True)
        t = time.monotonic()
        host = TestHost('x86_64', name='make-run-testhost')
        print('[vas] test host up in %.1fs: %s' % (time.monotonic() - t, host.kvm_probe()),
              flush=True)
    vm = start_x86_guest(host, ACCEL, ['-m', '512'], append, 'make-run')
    stop = threading.Event()
    printer = threading.Thread(target=follow, args=(vm.console, vm.console_start, stop))
    printer.start()
    try:
        print('[vas] QEMU reports: %s' % vm.qmp.cmd('query-accel'), flush=True)
        show_switches(vm)
        verdict = vm.wait_verdict(DURATION + 180)
    finally:
        time.sleep(0.5)
        stop.set()
        printer.join()
        vm.close()
        if host:
            host.close()
    print('[vas] guest verdict: %s' % verdict.line, flush=True)
    return 0 if verdict.ok else 1


if __name__ == '__main__':
    sys.exit(main())
