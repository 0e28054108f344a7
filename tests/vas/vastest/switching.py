# SPDX-License-Identifier: GPL-2.0-or-later
"""Driving accelerator switches over QMP, and checking the guest's clock."""

import os
import random
import time

import pytest

from .channel import Timeout
from .qmp import QMPError

OTHER = {'kvm': 'tcg', 'tcg': 'kvm'}

# Guest time may differ from host time by this much plus CLOCK_SLACK of
# the elapsed time.
CLOCK_TOLERANCE_S = 0.5
CLOCK_SLACK = 0.01


def rng(request):
    """A random generator whose seed the test report shows (VAS_SEED=N
    replays a run)."""
    seed = int(os.environ.get('VAS_SEED', random.randrange(1 << 32)))
    print('random seed: %d (VAS_SEED=%d replays it)' % (seed, seed))
    return random.Random(seed)


def active(vm):
    return vm.qmp.cmd('query-accel')['active']


def switch(vm, accel, timeout=120, **args):
    """switch-accel to accel; returns query-accel's answer afterwards.
    No answer from a QEMU whose guest reset or shut down (the guest
    image runs with -no-reboot, so its QEMU exits) raises GuestReset."""
    try:
        vm.qmp.cmd('switch-accel', dict(args, accel=accel), timeout=timeout)
    except Timeout:
        vm.check_no_reset('and a switch-accel to %s got no answer' % accel)
        raise
    return vm.qmp.cmd('query-accel')


class GuestClock:
    """Compares the guest's CLOCK_MONOTONIC with the host's, using
    heartbeats the host sees arrive.

    A heartbeat reaches the host some time after the guest stamped it,
    and that delay varies: a busy test host held a console line back for
    a second.  Delays only ever add, so the earliest arrival relative to
    its stamp over a few heartbeats gives the two clocks' offset, at the
    start and again at the end.
    """

    SAMPLES = 4

    def __init__(self, vm):
        self.vm = vm
        self.first, self.offset = self._offset()

    def _offset(self):
        """(last heartbeat, host minus guest seconds) over the next
        SAMPLES heartbeats."""
        first = len(self.vm.heartbeats())
        self.vm.wait_heartbeat(first + self.SAMPLES, 120)
        beats = self.vm.timed_heartbeats()[first:first + self.SAMPLES]
        offset = min(t - int(hb['mono_ns']) / 1e9 for hb, t in beats)
        return beats[-1][0], offset

    def check(self):
        """Return (guest seconds, host seconds) since the start; assert
        they agree within the tolerance."""
        last, offset = self._offset()
        guest = (int(last['mono_ns']) - int(self.first['mono_ns'])) / 1e9
        host = guest + offset - self.offset
        assert abs(guest - host) <= CLOCK_TOLERANCE_S + CLOCK_SLACK * host, \
            'guest clock advanced %.3f s while the host saw %.3f s' % (guest, host)
        return guest, host


def boot_from_tcg(vm, wait, boot_timeout):
    """A VM started with -accel tcg,switchable=on moves to KVM when wait()
    returns, part way into the guest's boot; KVM boots the rest, then the
    guest goes to TCG and back, its heartbeats going on.  Returns
    GuestClock.check() over those two switches."""
    info = vm.qmp.cmd('query-accel')
    assert (info['active'], info['standby']) == ('tcg', 'kvm')
    wait()
    assert switch(vm, 'kvm')['active'] == 'kvm'
    vm.wait_boot(boot_timeout)
    clock = GuestClock(vm)
    for to in ('tcg', 'kvm'):
        assert switch(vm, to)['active'] == to
        vm.wait_heartbeat(len(vm.heartbeats()) + 2, 120)
    return clock.check()


def round_trips(vm, count, rnd, start='kvm', max_gap=0.5):
    """Switch start -> other -> start count times at random moments.
    A guest that resets or shuts down raises GuestReset.

    Returns the ACCEL_SWITCH events the switches emitted.
    """
    first_event = len(vm.qmp.events)
    before = vm.qmp.cmd('query-accel')['switches']
    checked = first_event       # each look reads only the new events
    for i in range(2 * count):
        time.sleep(rnd.uniform(0, max_gap))
        to = OTHER[start] if i % 2 == 0 else start
        vm.check_no_reset('after %d switches' % i, checked)
        checked = len(vm.qmp.events)
        assert switch(vm, to)['active'] == to
    vm.check_no_reset('after %d switches' % (2 * count), checked)
    info = vm.qmp.cmd('query-accel')
    assert info['switches'] == before + 2 * count
    return [e for e in vm.qmp.events[first_event:] if e['event'] == 'ACCEL_SWITCH']


def fail_each_phase(vm, start):
    """Inject a failure after each phase of a switch away from start
    (x-fail-after): each must leave the VM running on start, with its
    switch count unchanged and the guest going on."""
    target = OTHER[start]
    switches = vm.qmp.cmd('query-accel')['switches']
    for phase in ('pause', 'save', 'load'):
        with pytest.raises(QMPError) as e:
            switch(vm, target, **{'x-fail-after': phase})
        assert "after phase '%s'" % phase in e.value.desc
        info = vm.qmp.cmd('query-accel')
        assert (info['active'], info['switches']) == (start, switches)
        assert vm.qmp.cmd('query-status')['status'] == 'running'
        # The guest runs on, on the old accelerator, with nothing lost.
        vm.wait_heartbeat(len(vm.heartbeats()) + 2, 120)
    return target
