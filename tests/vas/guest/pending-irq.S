/*
 * Bare-metal guest whose timer interrupt is pending, with interrupts
 * masked, while the test moves it to the other accelerator: the
 * interrupt must be taken there once the guest unmasks it.
 *
 * Runs at EL1 on -M virt with QEMU's GICv2 (a switchable VM's).  Each
 * round: mask IRQs, let the virtual timer expire, print "pending", keep
 * IRQs masked for 8 s of virtual time (the test migrates the VM then),
 * print "unmasking", wait for the interrupt and unmask it; the handler
 * masks the timer, prints "tick <INTID>" and EOIs.  After two rounds it
 * prints "done".
 * A destination whose GIC or CPU lost the pending line never prints the
 * round's "tick".
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

    .equ UART_DR, 0x09000000
    .equ GICD, 0x08000000
    .equ GICC, 0x08010000
    .equ VTIMER_PPI, 27
    .equ ROUNDS, 2
    .equ MASKED_SECONDS, 8

    .text
    .global _start
_start:
    msr daifset, #2
    adr x0, vectors
    msr vbar_el1, x0
    isb
    ldr x0, =GICD
    mov w1, #1
    str w1, [x0]                    /* GICD_CTLR: forward group 0 */
    mov w1, #(1 << VTIMER_PPI)
    str w1, [x0, #0x100]            /* GICD_ISENABLER0 */
    mov w1, #0xa0
    strb w1, [x0, #(0x400 + VTIMER_PPI)]    /* GICD_IPRIORITYR, a byte */
    ldr x0, =GICC
    mov w1, #0xf0
    str w1, [x0, #4]                /* GICC_PMR */
    mov w1, #1
    str w1, [x0]                    /* GICC_CTLR: signal group 0 */
    mrs x19, cntfrq_el0
    mov x22, #ROUNDS

round:
    /* The timer expires with IRQs masked: its interrupt stays pending */
    mrs x0, cntvct_el0
    add x0, x0, x19, lsr #7
    msr cntv_cval_el0, x0
    mov x0, #1                      /* ENABLE, IMASK clear */
    msr cntv_ctl_el0, x0
    isb
1:  mrs x0, cntv_ctl_el0
    tbz x0, #2, 1b                  /* until ISTATUS */
    adr x1, msg_pending
    bl print
    mov x0, #MASKED_SECONDS
    mul x0, x0, x19
    mrs x1, cntvct_el0
    add x20, x1, x0
2:  mrs x0, cntvct_el0
    cmp x0, x20
    b.lo 2b
    adr x1, msg_unmasking
    bl print
    mov x21, #0                     /* the handler sets it */
3:  wfi                             /* masked: wakes on a pending IRQ */
    msr daifclr, #2
    isb                             /* the IRQ is taken here */
    msr daifset, #2
    cbz x21, 3b
    subs x22, x22, #1
    b.ne round
    adr x1, msg_done
    bl print
4:  wfi
    b 4b

irq:
    mov x23, x30
    ldr x0, =GICC
    ldr w24, [x0, #0xc]             /* GICC_IAR: acknowledge */
    mov x1, #3
    msr cntv_ctl_el0, x1            /* ENABLE, IMASK: line down */
    isb
    adr x1, msg_tick
    bl print_noeol
    and w2, w24, #0x3ff
    bl print_dec
    ldr x0, =GICC
    str w24, [x0, #0x10]            /* GICC_EOIR */
    mov x21, #1
    mov x30, x23
    eret

unexpected:
    adr x1, msg_unexpected
    bl print
5:  wfi
    b 5b

/*
 * print(x1: NUL-terminated string) and a newline; print_noeol(x1) the
 * string alone.  Clobber x3-x5.
 */
print:
    mov w5, #'\n'
    b 1f
print_noeol:
    mov w5, #0
1:  ldr x3, =UART_DR
2:  ldrb w4, [x1], #1
    cbz w4, 3f
    strb w4, [x3]
    b 2b
3:  cbz w5, 4f
    strb w5, [x3]
4:  ret

/* print_dec(w2 < 10000) and a newline; clobbers x3-x6 */
print_dec:
    ldr x3, =UART_DR
    mov w5, #1000
    mov w6, #10
1:  udiv w4, w2, w5
    msub w2, w4, w5, w2
    add w4, w4, #'0'
    strb w4, [x3]
    udiv w5, w5, w6
    cbnz w5, 1b
    mov w4, #'\n'
    strb w4, [x3]
    ret

msg_pending:    .asciz "pending"
msg_unmasking:  .asciz "unmasking"
msg_tick:       .asciz "tick "
msg_done:       .asciz "done"
msg_unexpected: .asciz "unexpected exception"

/* EL1's vectors: only an IRQ at EL1 (with SP_EL0 or SP_EL1) */
    .balign 0x800
vectors:
    .balign 0x80
    b unexpected                    /* current EL, SP_EL0: sync */
    .balign 0x80
    b irq
    .rept 2
    .balign 0x80
    b unexpected
    .endr
    .balign 0x80
    b unexpected                    /* current EL, SP_ELx: sync */
    .balign 0x80
    b irq
    .rept 10
    .balign 0x80
    b unexpected
    .endr
