# QEMU-VAS on an ARM host (scripts/vas/build-cross-host.sh): the virt
# board and the virtio devices its guests use.  Not the dozens of boards
# TCG could also emulate: a QEMU-VAS on an ARM host runs virt VMs that can
# be switched or migrated to KVM, and the boards would double its build.

CONFIG_ARM_VIRT=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_SERIAL=y
