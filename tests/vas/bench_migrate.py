#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: migration between a KVM and a TCG QEMU on one host.

Measures, in one run, downtime and total migration time KVM->TCG and
TCG->KVM (one round trip per case) for 256 MiB / 2 GiB / 8 GiB of guest
RAM, with RAM copied and with RAM in a shared file left in place
(x-ignore-shared).  Results go to build/bench/migrate.json and
build/bench/migrate.svg.  The KVM half runs where KVM works (directly
or in the nested test host), so the numbers are those of nested
virtualization.

Environment: VAS_BENCH_SIZES_MIB (256,2048,8192), VAS_BENCH_ROUNDS (1).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_switch import OUT, Runner, write_results  # noqa: E402
from vastest.local import wait_until               # noqa: E402
from vastest.migrating import (CROSS_CPU, migrate, remove,  # noqa: E402
                               shared_ram_args, uri)

SIZES_MIB = [int(x) for x in
             os.environ.get('VAS_BENCH_SIZES_MIB', '256,2048,8192').split(',')]
ROUNDS = int(os.environ.get('VAS_BENCH_ROUNDS', '1'))
GUEST = 'vas.duration=0 vas.interval_ms=100 vas.mem_mib=16'
OTHER = {'kvm': 'tcg', 'tcg': 'kvm'}


def start(runner, accel, mib, shared, name, incoming=False):
    args = ['-m', str(mib), '-global', 'apic-common.vapic=off']
    if shared:
        args += shared_ram_args('/tmp/bench-migrate.ram', mib)
    if incoming:
        args += ['-incoming', 'defer', '-S']
    return runner.start(accel, args, GUEST, name, cpu=CROSS_CPU)


def case(runner, mib, shared):
    """Round trips KVM -> TCG -> KVM; the source's query-migrate of each."""
    caps = {'x-ignore-shared': True} if shared else None
    tag = '%d-%s' % (mib, 'shared' if shared else 'copy')
    vm = start(runner, 'kvm', mib, shared, 'bench-mig-%s-0' % tag)
    out = {'kvm->tcg': [], 'tcg->kvm': []}
    accel = 'kvm'
    try:
        vm.wait_boot(180)
        vm.wait_heartbeat(3, 120)
        for i in range(2 * ROUNDS):
            to = OTHER[accel]
            dst = start(runner, to, mib, shared,
                        'bench-mig-%s-%d' % (tag, i + 1), incoming=True)
            try:
                info = migrate(vm, dst, uri('unix', 'bench-mig'), caps=caps)
            except BaseException:
                dst.close()
                raise
            dst.qmp.cmd('cont')
            vm.close()
            vm, accel = dst, to
            out['%s->%s' % (OTHER[to], to)].append({
                'downtime_ms': info.get('downtime'),
                'total_ms': info.get('total-time'),
                'ram_bytes': info['ram']['transferred']})
            # Let the guest run on its new accelerator before moving on
            # (its heartbeats go on numbering from the source's).
            seen = len(vm.heartbeats())
            if not wait_until(lambda: len(vm.heartbeats()) >= seen + 2, 600):
                raise RuntimeError('the guest stopped after %s' % accel)
    finally:
        vm.close()
        if shared:
            remove(vm, '/tmp/bench-migrate.ram')
    return out


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def svg(results):
    """Total migration time per case (bars), log scale, copy vs shared."""
    import math
    rows = []
    for name, v in sorted(results['cases'].items()):
        for key in ('kvm->tcg', 'tcg->kvm'):
            if 'error' not in v:
                rows.append(('%s %s' % (name, key),
                             median([r['total_ms'] for r in v[key]])))
    top = max([t for _, t in rows] + [10])
    w, h, bar = 60 + 34 * len(rows), 300, 26
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="10">' % (w, h + 140),
             '<text x="10" y="14" font-size="13">Total migration time, ms '
             '(log scale, max %d)</text>' % top]
    for i, (name, t) in enumerate(rows):
        y = h * math.log10(max(t, 1)) / math.log10(top)
        x = 40 + i * 34
        color = '#228833' if 'shared' in name else '#4477aa'
        parts.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"/>'
                     % (x, 30 + h - y, bar, y, color))
        parts.append('<text x="%d" y="%d" transform="rotate(60 %d %d)">%s</text>'
                     % (x, h + 40, x, h + 40, name))
    parts.append('</svg>')
    return '\n'.join(parts)


def main():
    os.makedirs(OUT, exist_ok=True)
    runner = Runner()
    results = {'kvm_mode': runner.mode, 'rounds': ROUNDS, 'cases': {}}
    try:
        for mib in SIZES_MIB:
            for shared in (False, True):
                name = '%d MiB %s' % (mib, 'shared' if shared else 'copy')
                try:
                    results['cases'][name] = case(runner, mib, shared)
                except Exception as e:      # keep the other cases
                    results['cases'][name] = {'error': str(e).splitlines()[0]}
                print('[bench] %s: %s' % (name, json.dumps(results['cases'][name])),
                      flush=True)
    finally:
        runner.close()
    c = results['cases']
    big, small = max(SIZES_MIB), min(SIZES_MIB)
    for key in ('kvm->tcg', 'tcg->kvm'):
        try:
            copy = median([r['total_ms'] for r in c['%d MiB copy' % big][key]])
            shared = median([r['total_ms'] for r in c['%d MiB shared' % big][key]])
            d_big = median([r['downtime_ms'] for r in c['%d MiB shared' % big][key]])
            d_small = median([r['downtime_ms']
                              for r in c['%d MiB shared' % small][key]])
        except KeyError:
            continue
        results['speedup_%dm_%s' % (big, key)] = copy / shared
        results['shared_downtime_ratio_%dm_%dm_%s' % (big, small, key)] = \
            d_big / d_small
        print('[bench] %s, %d MiB: full copy %d ms, shared %d ms: %.1fx '
              '(target >= 20x); shared downtime %d MiB/%d MiB: %.2f'
              % (key, big, copy, shared, copy / shared, big, small,
                 d_big / d_small), flush=True)
    write_results('migrate', results, svg(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
