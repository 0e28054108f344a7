# SPDX-License-Identifier: GPL-2.0-or-later
"""QEMU-VAS test harness.

Starts QEMU-VAS guests either directly on this host or, when the host's
/dev/kvm cannot run Linux, inside a nested KVM test host (L1) booted under
TCG, and gives tests the same handles in both cases: a QMP client, the
guest's console lines and the guest workload's own reports.
"""
