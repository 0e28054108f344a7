# SPDX-License-Identifier: GPL-2.0-or-later
#
# QEMU-VAS top-level build.  "make run" and "make check" do all set-up on a
# fresh Debian 12 machine (as root); see README.md.

-include config.mak

export VAS_CACHE ?= /var/cache/qemu-vas
export VAS_UPSTREAM_TARBALL
export VAS_TARGETS

PYTHON := /usr/bin/python3
PYTEST_ARGS ?=
QTESTS := tests/qtest/qmp-test tests/qtest/boot-serial-test tests/qtest/migration-test

V := scripts/vas

.PHONY: all deps source layout qemu arm-hosts images check run stress \
	bench clean distclean patches-export patches-check checkpatch help

all: images

help:
	@echo "make run             set up everything, boot the Debian guest under KVM"
	@echo "make check           set up everything, run the test suite"
	@echo "make stress          1000 KVM<->TCG round trips at -smp 1 and 4 (x86), 100 under I/O, 500 (ARM, 1/2/4 vCPUs), 40 ARM hops"
	@echo "make bench           switch and migration downtime, throughput -> build/bench/"
	@echo "make arm-hosts       cross-build static QEMUs for arm64 and armhf hosts"
	@echo "make layout          lay out build/qemu = upstream + own files + patches/"
	@echo "make patches-export  write build/qemu's commits back to patches/"
	@echo "make patches-check   fail if build/qemu holds edits patches/ does not"
	@echo "make checkpatch      upstream's checkpatch.pl on our files and patches"

deps:
	$(V)/install-deps.sh

source: deps
	$(V)/fetch-upstream.sh >/dev/null

layout: source
	$(V)/overlay.sh layout

qemu: layout
	$(V)/build-qemu.sh qemu-system-x86_64 qemu-system-aarch64 $(QTESTS)

arm-hosts: layout
	$(V)/build-cross-host.sh arm64 >/dev/null
	$(V)/build-cross-host.sh armhf >/dev/null

images: qemu
	tests/vas/images/build-guest.sh x86_64 >/dev/null
	tests/vas/images/build-guest.sh arm64 >/dev/null
	tests/vas/images/build-guest.sh armhf >/dev/null
	tests/vas/images/build-testhost.sh x86_64 >/dev/null
	tests/vas/images/build-testhost.sh arm64 >/dev/null
	$(V)/build-cross-host.sh armhf >/dev/null
	tests/vas/images/qemu-user.sh >/dev/null

check: images
	$(V)/overlay.sh check
	$(PYTHON) -m pytest -c tests/vas/pytest.ini tests/vas $(PYTEST_ARGS)

run: images
	$(PYTHON) tests/vas/run_demo.py

stress: images
	VAS_ROUND_TRIPS=$${VAS_ROUND_TRIPS:-1000} \
	VAS_IO_ROUND_TRIPS=$${VAS_IO_ROUND_TRIPS:-100} \
	VAS_ARM_ROUND_TRIPS=$${VAS_ARM_ROUND_TRIPS:-500} \
	VAS_ARM_SMP=$${VAS_ARM_SMP:-1,2,4} \
	VAS_ARM_MIGRATION_HOPS=$${VAS_ARM_MIGRATION_HOPS:-40} $(PYTHON) -m pytest \
		-c tests/vas/pytest.ini -o timeout=0 tests/vas/test_switch.py \
		tests/vas/test_arm_switch.py tests/vas/test_arm_migrate.py \
		-k "round_trips or io_load or ping_pong" $(PYTEST_ARGS)

bench: images
	$(PYTHON) tests/vas/bench_switch.py
	$(PYTHON) tests/vas/bench_migrate.py
	$(PYTHON) tests/vas/bench_arm_switch.py

patches-export:
	$(V)/overlay.sh export

patches-check:
	$(V)/overlay.sh check

checkpatch: layout
	$(V)/checkpatch.sh

clean:
	rm -rf build/obj build/obj-*-host build/images build/test-logs build/kvm-mode.json

distclean:
	$(V)/overlay.sh check
	rm -rf build config.mak
