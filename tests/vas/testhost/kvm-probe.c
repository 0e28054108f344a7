/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * kvm-probe: tell whether /dev/kvm in this kernel can create a VM and a
 * vCPU.  Runs inside the nested test hosts, where it proves that the L1
 * kernel's KVM is usable before any QEMU is started on it.
 *
 * Prints one line: "VAS-KVM-PROBE ok api=12 vcpus=N" or
 * "VAS-KVM-PROBE fail step=<what> errno=<n>", exit status 0 or 1.
 * On success a second line, "VAS-KVM-CAPS name=value ...", lists what
 * this KVM offers of the features the accelerator switch depends on
 * (on ARM: a userspace GIC needs KVM_CAP_ARM_USER_IRQ, AArch32 guests
 * need KVM_CAP_ARM_EL1_32BIT; which in-kernel vGIC models exist).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

struct cap {
    const char *name;
    int id;
};

static const struct cap caps[] = {
    { "irqchip", KVM_CAP_IRQCHIP },
    { "one-reg", KVM_CAP_ONE_REG },
#ifdef __aarch64__
    { "arm-user-irq", KVM_CAP_ARM_USER_IRQ },
    { "arm-el1-32bit", KVM_CAP_ARM_EL1_32BIT },
    { "arm-psci-0.2", KVM_CAP_ARM_PSCI_0_2 },
    { "arm-pmu-v3", KVM_CAP_ARM_PMU_V3 },
    { "arm-ipa-size", KVM_CAP_ARM_VM_IPA_SIZE },
    { "arm-mte", KVM_CAP_ARM_MTE },
#endif
#ifdef __x86_64__
    { "x86-user-space-msr", KVM_CAP_X86_USER_SPACE_MSR },
    { "tsc-control", KVM_CAP_TSC_CONTROL },
    { "nested-state", KVM_CAP_NESTED_STATE },
#endif
};

#ifdef __aarch64__
/* Can this VM get an in-kernel device of this type?  (test only) */
static int device_ok(int vm, unsigned int type)
{
    struct kvm_create_device dev = {
        .type = type,
        .flags = KVM_CREATE_DEVICE_TEST,
    };

    return ioctl(vm, KVM_CREATE_DEVICE, &dev) == 0;
}
#endif

static void print_caps(int kvm, int vm)
{
    unsigned int i;

    printf("VAS-KVM-CAPS");
    for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        printf(" %s=%d", caps[i].name,
               ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].id));
    }
#ifdef __aarch64__
    printf(" vgic-v2=%d vgic-v3=%d",
           device_ok(vm, KVM_DEV_TYPE_ARM_VGIC_V2),
           device_ok(vm, KVM_DEV_TYPE_ARM_VGIC_V3));
#else
    (void)vm;
#endif
    printf("\n");
}

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
    print_caps(kvm, vm);
    return 0;
}
