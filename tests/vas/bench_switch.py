#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: accelerator switch downtime and switchable-mode throughput.

Measures, in one run:
  * switch downtime KVM->TCG and TCG->KVM (median, p99, and the median of
    each phase) for 1/2/4 vCPUs and 256 MiB / 2 GiB / 8 GiB of guest RAM;
  * the guest workload's CPU-bound rate (vector rounds per second) and an
    interrupt-heavy rate (heartbeats of 1 ms, each a serial line and a
    timer wake-up) under a switchable VM on KVM vs plain -accel kvm, and
    on TCG after a switch vs plain -accel tcg (which gets the guest from
    plain KVM by migration), all four with one CPU model.

Results go to build/bench/switch.json and build/bench/switch.svg.  The KVM
half runs where KVM works (directly or in the nested test host), so the
absolute numbers here are those of nested virtualization.

Environment: VAS_BENCH_SWITCHES (round trips per case, 20),
VAS_BENCH_SIZES_MIB (256,2048,8192), VAS_BENCH_SMPS (1,2,4),
VAS_BENCH_THROUGHPUT=0 (downtime only), VAS_BENCH_RATE_SECONDS (10).
"""

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vastest import paths                         # noqa: E402
from vastest.local import wait_until              # noqa: E402
from vastest.migrating import (CROSS_CPU, incoming_args,  # noqa: E402
                               migrate, uri)
from vastest.platform import kvm_mode, start_x86_guest  # noqa: E402
from vastest.testhost import TestHost             # noqa: E402

SWITCHES = int(os.environ.get('VAS_BENCH_SWITCHES', '20'))
SIZES_MIB = [int(x) for x in
             os.environ.get('VAS_BENCH_SIZES_MIB', '256,2048,8192').split(',')]
SMPS = [int(x) for x in os.environ.get('VAS_BENCH_SMPS', '1,2,4').split(',')]
# VAS_BENCH_THROUGHPUT=0 measures downtime only.
THROUGHPUT = os.environ.get('VAS_BENCH_THROUGHPUT', '1') != '0'
RATE_SECONDS = int(os.environ.get('VAS_BENCH_RATE_SECONDS', '10'))
OUT = os.path.join(paths.BUILD, 'bench')


class Runner:
    """Starts guests where KVM works: directly or in the test host."""

    def __init__(self):
        self.mode, _ = kvm_mode()
        self.host = None
        if self.mode != 'direct':
            self._boot_host()

    def _boot_host(self):
        self.host = TestHost('x86_64', name='bench-testhost')
        # An 8 GiB guest in a 3 GiB test host: only what it touches
        # needs memory.
        self.host.check('echo 1 > /proc/sys/vm/overcommit_memory')

    def renew_if_dead(self):
        """A new test host if this one died (see TestHost.triple_faulted())."""
        if self.host and not self.host.alive():
            self.host.close()
            self._boot_host()

    def start(self, accel, args, append, name, cpu=None, connect=True):
        return start_x86_guest(self.host, accel, args, append, name, cpu=cpu,
                               connect=connect)

    def close(self):
        if self.host:
            self.host.close()


def percentile(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def summary(infos):
    downtimes = [i['downtime-us'] for i in infos]
    phases = {}
    for info in infos:
        for ph in info['phases']:
            phases.setdefault(ph['name'], []).append(ph['us'])
    return {
        'count': len(downtimes),
        'median_us': statistics.median(downtimes),
        'p99_us': percentile(downtimes, 99),
        'phases_median_us': {k: statistics.median(v) for k, v in phases.items()},
    }


def switch_downtimes(vm, boot_timeout):
    """Boot vm (switchable, on KVM), switch it SWITCHES round trips, close
    it; the downtime summary of each direction."""
    try:
        vm.wait_boot(boot_timeout)
        results = {'kvm->tcg': [], 'tcg->kvm': []}
        for _ in range(SWITCHES):
            for to, key in (('tcg', 'kvm->tcg'), ('kvm', 'tcg->kvm')):
                time.sleep(0.2)     # let the guest run on this accelerator
                vm.qmp.cmd('switch-accel', accel=to, timeout=120)
                results[key].append(vm.qmp.cmd('query-accel')['last-switch'])
        return {k: summary(v) for k, v in results.items()}
    finally:
        vm.close()


def downtime(runner, smp, mib):
    vm = runner.start('kvm,switchable=on', ['-m', str(mib), '-smp', str(smp)],
                      'vas.duration=0 vas.interval_ms=100',
                      'bench-downtime-%d-%d' % (smp, mib))
    # Four vCPUs on the test host's two: a boot once took over 120 s
    return switch_downtimes(vm, 180 if smp <= 2 else 360)


def next_heartbeat(vm, timeout=120):
    """The guest's next heartbeat (a migrated guest numbers them on from
    its source's)."""
    seen = len(vm.heartbeats())
    if not wait_until(lambda: len(vm.heartbeats()) > seen, timeout):
        raise RuntimeError('%s: no heartbeat within %ds' % (vm.name, timeout))
    return vm.heartbeats()[seen]


def rates(vm, seconds):
    """Workload vector rounds per second and heartbeats per second."""
    hb0 = next_heartbeat(vm)
    t0 = time.monotonic()
    time.sleep(seconds)
    hb1 = next_heartbeat(vm)
    guest_s = (int(hb1['mono_ns']) - int(hb0['mono_ns'])) / 1e9
    rounds = sum(int(h.get('vec_rounds', 0)) for h in vm.heartbeats()
                 if int(hb0['seq']) < int(h['seq']) <= int(hb1['seq']))
    beats = int(hb1['seq']) - int(hb0['seq'])
    return {'vec_rounds_per_s': rounds / guest_s,
            'heartbeats_per_s': beats / guest_s,
            'host_s': time.monotonic() - t0}


def start_rate_guest(runner, accel, switch_to, append, name):
    """A guest running on accel (after a switch to switch_to, if given),
    with CROSS_CPU, which all four throughput cases can present.  Plain TCG gets the guest from plain KVM by migration: booting it
    under TCG nested in TCG, in the test host, takes up to 15 minutes."""
    args = ['-m', '512']
    if accel != 'tcg':
        vm = runner.start(accel, args, append, name, cpu=CROSS_CPU)
        try:
            vm.wait_boot(180)
            if switch_to:
                vm.qmp.cmd('switch-accel', accel=switch_to, timeout=120)
        except BaseException:
            vm.close()
            raise
        return vm
    src = runner.start('kvm', args, append, name + '-boot', cpu=CROSS_CPU)
    try:
        src.wait_boot(180)
        more, _ = incoming_args(name)
        vm = runner.start('tcg', args + more, append, name, cpu=CROSS_CPU)
        try:
            migrate(src, vm, uri('unix', name))
            vm.qmp.cmd('cont')
        except BaseException:
            vm.close()
            raise
    finally:
        src.close()
    return vm


def throughput(runner):
    out = {}
    cases = [
        ('kvm plain', 'kvm', None),
        ('kvm switchable', 'kvm,switchable=on', None),
        ('tcg plain', 'tcg', None),
        ('tcg after switch', 'kvm,switchable=on', 'tcg'),
    ]
    for load, interval in (('cpu', 200), ('interrupts', 1)):
        for label, accel, switch_to in cases:
            name = '%s / %s' % (load, label)
            vm = None
            try:
                vm = start_rate_guest(
                    runner, accel, switch_to,
                    'vas.duration=0 vas.interval_ms=%d' % interval,
                    'bench-rate-%s-%s' % (load, label.replace(' ', '-')))
                out[name] = rates(vm, RATE_SECONDS)
            except Exception as e:      # one case must not lose the others
                out[name] = {'error': str(e).splitlines()[0]}
            finally:
                if vm:
                    vm.close()
            print('[bench] %s: %s' % (name, json.dumps(out[name])), flush=True)
    return out


def svg(results):
    """A bar chart of the median downtimes, one group per configuration."""
    rows = sorted((k, v) for k, v in results['downtime'].items()
                  if 'error' not in v)
    w, bar, gap, h = 900, 12, 14, 320
    top = max((max(v['kvm->tcg']['p99_us'], v['tcg->kvm']['p99_us'])
               for _, v in rows), default=0) or 1
    x = 60
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="10">' % (w, h + 80),
             '<text x="10" y="14" font-size="13">Switch downtime, median '
             '(bars) and p99 (ticks), microseconds; max %d</text>' % top]
    for name, v in rows:
        for i, (key, color) in enumerate((('kvm->tcg', '#4477aa'),
                                          ('tcg->kvm', '#cc6677'))):
            med = v[key]['median_us'] * h / top
            p99 = v[key]['p99_us'] * h / top
            bx = x + i * bar
            parts.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" '
                         'fill="%s"/>' % (bx, 30 + h - med, bar - 2, med, color))
            parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" '
                         'stroke="black"/>' % (bx, bx + bar - 2, 30 + h - p99,
                                               30 + h - p99))
        parts.append('<text x="%d" y="%d" transform="rotate(45 %d %d)">%s'
                     '</text>' % (x, h + 45, x, h + 45, name))
        x += 2 * bar + gap
    parts.append('<text x="10" y="%d" fill="#4477aa">kvm->tcg</text>'
                 '<text x="70" y="%d" fill="#cc6677">tcg->kvm</text>'
                 % (h + 75, h + 75))
    parts.append('</svg>')
    return '\n'.join(parts)


def write_results(stem, results, picture):
    """build/bench/STEM.json and STEM.svg."""
    with open(os.path.join(OUT, stem + '.json'), 'w') as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(OUT, stem + '.svg'), 'w') as f:
        f.write(picture)
    print('[bench] wrote %s/%s.json and %s.svg' % (OUT, stem, stem))


def main():
    os.makedirs(OUT, exist_ok=True)
    runner = Runner()
    results = {'kvm_mode': runner.mode, 'switches_per_case': SWITCHES,
               'downtime': {}, 'throughput': {}}
    try:
        for mib in SIZES_MIB:
            for smp in SMPS:
                name = '%d vCPU, %d MiB' % (smp, mib)
                try:
                    results['downtime'][name] = downtime(runner, smp, mib)
                except Exception as e:  # one case must not lose the others
                    results['downtime'][name] = {
                        'error': str(e).splitlines()[0]}
                    runner.renew_if_dead()
                print('[bench] %s: %s' % (name, json.dumps(results['downtime'][name])),
                      flush=True)
        if THROUGHPUT:
            results['throughput'] = throughput(runner)
    finally:
        runner.close()
    d = results['downtime']
    big, small = max(SIZES_MIB), min(SIZES_MIB)
    for smp in SMPS:
        for key in ('kvm->tcg', 'tcg->kvm'):
            cases = [d['%d vCPU, %d MiB' % (smp, m)] for m in (big, small)]
            if any('error' in c for c in cases):
                continue
            ratio = cases[0][key]['median_us'] / cases[1][key]['median_us']
            results['ratio_%dm_%dm_%dcpu_%s' % (big, small, smp, key)] = ratio
            print('[bench] downtime(%d MiB)/downtime(%d MiB), %s, %d vCPU: '
                  '%.2f (target <= 1.2)' % (big, small, key, smp, ratio),
                  flush=True)
    write_results('switch', results, svg(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
