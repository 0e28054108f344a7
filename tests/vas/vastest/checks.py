# SPDX-License-Identifier: GPL-2.0-or-later
"""Assertions on what the guest workload reported about itself."""


def assert_workload_ok(guest, verdict, min_heartbeats, same_cpuid=True):
    """The guest's own checks passed and its reports are consistent.

    Checks the verdict, then re-checks from the heartbeat lines what the
    guest claims: an unbroken heartbeat sequence, CLOCK_MONOTONIC and the
    cycle counter never going backwards, memory and vector checks ok, one
    CPUID all along, and a kernel log free of watchdog, stall, oops and
    panic lines.
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
    assert not problems, 'guest kernel log: %s' % problems
