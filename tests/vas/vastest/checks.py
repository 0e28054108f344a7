# SPDX-License-Identifier: GPL-2.0-or-later
"""Assertions on what the guest workload reported about itself."""

import re

# How far the TSC may drift from kvm-clock over a whole run.  The guest's
# clocksource watchdog allows ~500 us per half-second interval; a TSC that
# loses a little at each switch stays under that for a while and then
# trips it at random, so the run's total is held to half of it.
TSC_DRIFT_LIMIT_US = 250


def tsc_drift_us(heartbeats, dmesg):
    """How far the TSC moved from CLOCK_MONOTONIC over the heartbeats, in
    microseconds, for an x86 guest whose clock is kvm-clock: that clock
    is the TSC at the rate the guest logged, so the two must go together.
    None for other guests, or too few heartbeats.

    A heartbeat reads CLOCK_MONOTONIC before the TSC, so a stop between
    the two reads (a switch, a migration) shows as a TSC ahead in that
    heartbeat only, never behind: each end takes the least TSC-minus-clock
    over four heartbeats.  The first heartbeat is left out, as its reads
    are apart by a first run's page faults.
    """
    log = '\n'.join(dmesg)
    m = re.search(r'tsc: Detected ([0-9.]+) MHz', log)
    if not m or 'Switched to clocksource kvm-clock' not in log or \
            len(heartbeats) < 9:
        return None
    mhz = float(m.group(1))
    skews = [int(h['cycles']) / mhz - int(h['mono_ns']) / 1000
             for h in heartbeats[1:]]
    return min(skews[-4:]) - min(skews[:4])


def assert_workload_ok(guest, verdict, min_heartbeats, same_cpuid=True):
    """The guest's own checks passed and its reports are consistent.

    Checks the verdict, then re-checks from the heartbeat lines what the
    guest claims: an unbroken heartbeat sequence, CLOCK_MONOTONIC and the
    cycle counter never going backwards, memory and vector checks ok, one
    CPUID all along, a kernel log free of watchdog, stall, oops and
    panic lines, and a TSC in step with kvm-clock.
    """
    hb = verdict.heartbeats
    assert verdict.ok, 'guest verdict: %s; errors: %s' % (verdict.line, verdict.errors)
    assert not verdict.errors, verdict.errors
    assert len(hb) >= min_heartbeats, 'only %d heartbeats' % len(hb)
    seqs = [int(h['seq']) for h in hb]
    assert seqs == list(range(1, len(hb) + 1)), 'heartbeat sequence broken: %s' % seqs
    mono = [int(h['mono_ns']) for h in hb]
    assert all(b > a for a, b in zip(mono, mono[1:])), 'CLOCK_MONOTONIC went backwards'
    cycles = [int(h['cycles']) for h in hb]
    assert all(b >= a for a, b in zip(cycles, cycles[1:])), 'cycle counter went backwards'
    assert all(h['mem'] == 'ok' and h['vec'] == 'ok' for h in hb), 'self-check failed'
    digests = sorted({h['cpuid'] for h in hb if 'cpuid' in h})
    assert len(digests) <= 1 or not same_cpuid, \
        'the guest saw its CPUID change: %s' % digests
    problems = guest.kernel_problems(verdict.dmesg)
    assert not problems, 'guest kernel log: %s\n%s' % (
        problems, '\n'.join(guest.kernel_report(verdict.dmesg)))
    drift = tsc_drift_us(hb, verdict.dmesg)
    assert drift is None or abs(drift) <= TSC_DRIFT_LIMIT_US, \
        'the TSC drifted %.0f us from kvm-clock' % drift
