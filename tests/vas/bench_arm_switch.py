#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench, ARM part: switch downtime of an AArch64 guest.

Measures, in one run inside the ARM test host (whose KVM runs nested in
TCG, so the absolute numbers are those of that setup), the downtime of
KVM->TCG and TCG->KVM switches (median, p99, median of each phase) for
1/2/4 vCPUs and two guest RAM sizes.

Results go to build/bench/arm-switch.json and build/bench/arm-switch.svg.

Environment: VAS_BENCH_SWITCHES (round trips per case, 20),
VAS_BENCH_ARM_SIZES_MIB (256,1024), VAS_BENCH_SMPS (1,2,4).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_switch import (OUT, SWITCHES, svg,  # noqa: E402
                          switch_downtimes, write_results)
from vastest.local import guest_args              # noqa: E402
from vastest.testhost import TestHost             # noqa: E402

SIZES_MIB = [int(x) for x in
             os.environ.get('VAS_BENCH_ARM_SIZES_MIB', '256,1024').split(',')]
SMPS = [int(x) for x in os.environ.get('VAS_BENCH_SMPS', '1,2,4').split(',')]


def downtime(host, smp, mib):
    args = (['-accel', 'kvm,switchable=on'] +
            guest_args('arm64', 'vas.duration=0 vas.interval_ms=100',
                       root='/guest-arm64', cpu='host') +
            ['-m', str(mib), '-smp', str(smp)])
    vm = host.launch(args, 'bench-arm-downtime-%d-%d' % (smp, mib))
    return switch_downtimes(vm, 180)


def main():
    os.makedirs(OUT, exist_ok=True)
    results = {'kvm_mode': 'nested-arm64', 'switches_per_case': SWITCHES,
               'downtime': {}}
    host = TestHost('arm64', name='bench-arm-testhost')
    try:
        # The larger guest in a 2 GiB test host: only what it touches
        # needs memory.
        host.check('echo 1 > /proc/sys/vm/overcommit_memory')
        for mib in SIZES_MIB:
            for smp in SMPS:
                name = '%d vCPU, %d MiB' % (smp, mib)
                try:
                    results['downtime'][name] = downtime(host, smp, mib)
                except Exception as e:  # one case must not lose the others
                    results['downtime'][name] = {
                        'error': str(e).splitlines()[0]}
                print('[bench] arm %s: %s'
                      % (name, json.dumps(results['downtime'][name])),
                      flush=True)
    finally:
        host.close()
    write_results('arm-switch', results, svg(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
