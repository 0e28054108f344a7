#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: migration between a KVM and a TCG QEMU on one host.

Measures, in one run, downtime and total migration time KVM->TCG and
TCG->KVM (one round trip per case) for 256 MiB / 2 GiB / 8 GiB of guest
RAM, with RAM copied, with RAM in a shared file left in place
(x-ignore-shared), and with memfd RAM handed over by cpr-transfer.  Results go to build/bench/migrate.json and
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
from vastest.migrating import (CROSS_CPU, incoming_args,  # noqa: E402
                               memfd_ram_args, migrate, migrate_cpr, remove,
                               shared_ram_args, uri)

SIZES_MIB = [int(x) for x in
             os.environ.get('VAS_BENCH_SIZES_MIB', '256,2048,8192').split(',')]
ROUNDS = int(os.environ.get('VAS_BENCH_ROUNDS', '1'))
GUEST = 'vas.duration=0 vas.interval_ms=100 vas.mem_mib=16'
OTHER = {'kvm': 'tcg', 'tcg': 'kvm'}
# How guest RAM moves: copied, left in a shared file, memfds handed over
MODES = ('copy', 'shared', 'memfd')


def start(runner, accel, mib, mode, name, incoming=False):
    args = ['-m', str(mib)]
    if mode == 'shared':
        args += shared_ram_args('/tmp/bench-migrate.ram', mib)
    elif mode == 'memfd':
        args += memfd_ram_args(mib)
    connect = True
    if incoming:
        more, connect = incoming_args(name, cpr=mode == 'memfd')
        args += more
    return runner.start(accel, args, GUEST, name, cpu=CROSS_CPU,
                        connect=connect)


def case(runner, mib, mode):
    """Round trips KVM -> TCG -> KVM; the source's query-migrate of each."""
    caps = {'x-ignore-shared': True} if mode == 'shared' else None
    tag = '%d-%s' % (mib, mode)
    vm = start(runner, 'kvm', mib, mode, 'bench-mig-%s-0' % tag)
    out = {'kvm->tcg': [], 'tcg->kvm': []}
    accel = 'kvm'
    try:
        vm.wait_boot(180)
        vm.wait_heartbeat(3, 120)
        for i in range(2 * ROUNDS):
            to = OTHER[accel]
            dst = start(runner, to, mib, mode,
                        'bench-mig-%s-%d' % (tag, i + 1), incoming=True)
            try:
                if mode == 'memfd':
                    info = migrate_cpr(vm, dst, dst.name)
                else:
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
        if mode == 'shared':
            remove(vm, '/tmp/bench-migrate.ram')
    return out


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def svg(results):
    """Total migration time per case (bars), log scale, by mode."""
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
        color = ('#228833' if 'shared' in name else
                 '#ccbb44' if 'memfd' in name else '#4477aa')
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
            for mode in MODES:
                name = '%d MiB %s' % (mib, mode)
                try:
                    results['cases'][name] = case(runner, mib, mode)
                except Exception as e:      # keep the other cases
                    results['cases'][name] = {'error': str(e).splitlines()[0]}
                print('[bench] %s: %s' % (name, json.dumps(results['cases'][name])),
                      flush=True)
    finally:
        runner.close()
    c = results['cases']
    big, small = max(SIZES_MIB), min(SIZES_MIB)
    for mode in MODES[1:]:
        for key in ('kvm->tcg', 'tcg->kvm'):
            try:
                copy = median([r['total_ms'] for r in c['%d MiB copy' % big][key]])
                kept = median([r['total_ms'] for r in c['%d MiB %s' % (big, mode)][key]])
                d_big = median([r['downtime_ms']
                                for r in c['%d MiB %s' % (big, mode)][key]])
                d_small = median([r['downtime_ms']
                                  for r in c['%d MiB %s' % (small, mode)][key]])
            except KeyError:
                continue
            results['speedup_%s_%dm_%s' % (mode, big, key)] = copy / kept
            results['downtime_ratio_%s_%dm_%dm_%s' % (mode, big, small, key)] = \
                d_big / d_small
            print('[bench] %s, %d MiB: full copy %d ms, %s %d ms: %.1fx '
                  '(target >= 20x); %s downtime %d MiB/%d MiB: %.2f'
                  % (key, big, copy, mode, kept, copy / kept, mode, big, small,
                     d_big / d_small), flush=True)
    write_results('migrate', results, svg(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
