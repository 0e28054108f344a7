/*
 * Bare-metal check that an AArch32 mode's SPSR is one register, whether
 * AArch64 EL2 or the AArch32 mode itself reads or writes it.  KVM on an
 * arm64 host relies on it for every AArch32 guest; the test host that
 * tests/vas runs KVM in is QEMU's TCG, so QEMU must get it right
 * (patches/0015).
 *
 * Starts at EL2 (-M virt,virtualization=on, no EL3), puts a value in
 * SPSR_irq and returns into AArch32 IRQ mode at EL1, which reads its
 * SPSR, writes another value there and calls HVC.  Back at EL2, prints
 * on the PL011:
 *   aa32 read SPSR 200001d3      (what IRQ mode read: the first value)
 *   aa64 read SPSR_irq 400000d3  (what EL2 reads after: the second one)
 *   exception class 00000012     (HVC from AArch32, nothing else)
 * and powers off through PSCI.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

    .equ UART_DR, 0x09000000
    .equ SPSR_TO_AA32, 0x200001d3   /* C; A, I, F masked; SVC */
    .equ PSCI_SYSTEM_OFF, 0x84000008

    .text
    .global _start
_start:
    adr x0, vectors
    msr vbar_el2, x0
    msr hcr_el2, xzr                /* RW=0: EL1 is AArch32; no traps */
    ldr x0, =SPSR_TO_AA32
    msr spsr_irq, x0
    mov x0, #0x1d2                  /* AArch32 IRQ mode, A, I, F masked */
    msr spsr_el2, x0
    adr x0, aa32_irq_mode
    msr elr_el2, x0
    isb
    eret

/* A32 code, as words: the AArch64 assembler does not take A32 */
    .balign 4
aa32_irq_mode:
    .word 0xe14f0000                /* mrs r0, spsr */
    .word 0xe3a010d3                /* mov r1, #0xd3: IF masked, SVC */
    .word 0xe3811101                /* orr r1, r1, #0x40000000: Z */
    .word 0xe16ff001                /* msr spsr_fsxc, r1 */
    .word 0xe1400070                /* hvc #0 */
1:  .word 0xeafffffe                /* b 1b: not reached */

hvc_from_aa32:
    mov w19, w0                     /* r0: what IRQ mode read */
    mrs x20, spsr_irq
    mrs x21, esr_el2
    lsr x21, x21, #26
    adr x1, msg_aa32
    mov w2, w19
    bl print_hex_line
    adr x1, msg_aa64
    mov w2, w20
    bl print_hex_line
    adr x1, msg_ec
    mov w2, w21
    bl print_hex_line
power_off:
    ldr x0, =PSCI_SYSTEM_OFF
    smc #0
1:  wfi
    b 1b

unexpected:
    adr x1, msg_unexpected
    mrs x2, esr_el2
    bl print_hex_line
    b power_off

/* print_hex_line(x1: NUL-terminated label, w2: value); clobbers x3-x5 */
print_hex_line:
    ldr x3, =UART_DR
1:  ldrb w4, [x1], #1
    cbz w4, 2f
    strb w4, [x3]
    b 1b
2:  mov x5, #28
3:  lsr w4, w2, w5
    and w4, w4, #0xf
    cmp w4, #10
    add w4, w4, #'0'
    b.lo 4f
    add w4, w4, #('a' - '0' - 10)
4:  strb w4, [x3]
    subs x5, x5, #4
    b.pl 3b
    mov w4, #'\n'
    strb w4, [x3]
    ret

msg_aa32:       .asciz "aa32 read SPSR "
msg_aa64:       .asciz "aa64 read SPSR_irq "
msg_ec:         .asciz "exception class "
msg_unexpected: .asciz "unexpected exception, ESR_EL2 "

/* EL2's vectors: only a synchronous exception from AArch32 is expected */
    .balign 0x800
vectors:
    .rept 12
    .balign 0x80
    b unexpected
    .endr
    .balign 0x80
    b hvc_from_aa32                 /* 0x600: lower EL, AArch32, sync */
    .rept 3
    .balign 0x80
    b unexpected
    .endr
