/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * kvm-probe: tell whether /dev/kvm in this kernel can create a VM and a
 * vCPU.  Runs inside the nested test hosts, where it proves that the L1
 * kernel's KVM is usable before any QEMU is started on it.
 *
 * Prints one line: "VAS-KVM-PROBE ok api=12 vcpus=N" or
 * "VAS-KVM-PROBE fail step=<what> errno=<n>", exit status 0 or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

static int fail(const char *step)
{
    printf("VAS-KVM-PROBE fail step=%s errno=%d\n", step, errno);
    return 1;
}

int main(void)
{
    int kvm, vm, vcpu, api, nr;

    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        return fail("open");
    }
    api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        return fail("api-version");
    }
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        return fail("create-vm");
    }
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) {
        return fail("create-vcpu");
    }
    nr = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    printf("VAS-KVM-PROBE ok api=%d vcpus=%d\n", api, nr);
    return 0;
}
