# QEMU-VAS on an arm64 host: the same devices as on a 32-bit one.

include ../arm-softmmu/vas-arm-host.mak
