/* SPDX-License-Identifier: MIT
 *
 * A tiny 64-bit "kernel" for smoke-testing sluice on any /dev/kvm, including
 * PVM hosts where a real Linux boot is too slow. sluice loads it as an ELF
 * vmlinux and enters it in long mode with %rsi = boot_params. The first
 * character of the kernel command line picks the test:
 *   o  print "sluice-smoke: OK", probe unknown PIO/MMIO, ACPI S5 power-off
 *   p  pvpanic "panicked"            r  ACPI reset register
 *   k  i8042 reset (0xfe to 0x64)     t  triple fault
 *   e  echo: copy serial input to output until a '.' arrives, then power off
 *   f  flood: print FLOOD_BYTES bytes (more than sluice buffers), power off
 * On a failed probe it prints "sluice-smoke: FAIL" and powers off.
 */
#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_DATA_READY 0x01
#define BOOT_TIMER 0x440
#define PVPANIC 0x505
#define ACPI_SLEEP_CTL 0x600
#define ACPI_RESET 0x602
#define S5_SLP_EN ((5 << 2) | 0x20)
#define I8042_CMD 0x64
#define I8042_RESET 0xfe
#define BP_CMD_LINE_PTR 0x228
#define UNKNOWN_PORT 0x1234
#define UNKNOWN_MMIO 0xd0000000
#define FLOOD_BYTES 100000

    .text
    .code64
    .globl _start
_start:
    mov $BOOT_TIMER, %dx
    mov $1, %al
    outb %al, %dx
    mov BP_CMD_LINE_PTR(%rsi), %ebx     /* command line pointer (identity mapped) */
    movzbl (%rbx), %eax
    cmp $'p', %al
    je panic
    cmp $'r', %al
    je reset
    cmp $'k', %al
    je kbd_reset
    cmp $'t', %al
    je triple_fault
    cmp $'e', %al
    je echo
    cmp $'f', %al
    je flood

    lea msg_ok(%rip), %rsi
    call puts
    mov $UNKNOWN_PORT, %dx              /* nobody owns it: reads all-ones */
    inb %dx, %al
    cmp $0xff, %al
    jne fail
    outb %al, %dx                       /* dropped */
    mov $UNKNOWN_MMIO, %rbx
    movl (%rbx), %eax
    cmp $0xffffffff, %eax
    jne fail
    movl %eax, (%rbx)
poweroff:
    mov $ACPI_SLEEP_CTL, %dx
    mov $S5_SLP_EN, %al
    outb %al, %dx
1:  hlt
    jmp 1b

fail:
    lea msg_fail(%rip), %rsi
    call puts
    jmp poweroff

panic:
    mov $PVPANIC, %dx
    inb %dx, %al                        /* supported events */
    mov $1, %al
    outb %al, %dx
    jmp 1b

reset:
    mov $ACPI_RESET, %dx
    mov $1, %al
    outb %al, %dx
    jmp 1b

kbd_reset:
    mov $I8042_CMD, %dx
    mov $I8042_RESET, %al
    outb %al, %dx
    jmp 1b

triple_fault:
    lidt null_idt(%rip)
    int3

echo:
    lea msg_echo(%rip), %rsi
    call puts
2:  mov $COM1_LSR, %dx
    inb %dx, %al
    test $LSR_DATA_READY, %al
    jz 2b
    mov $COM1, %dx
    inb %dx, %al
    outb %al, %dx
    cmp $'.', %al
    jne 2b
    jmp poweroff

flood:
    mov $FLOOD_BYTES, %ecx
    mov $COM1, %dx
    mov $'x', %al
5:  outb %al, %dx
    loop 5b
    jmp poweroff

/* puts: write the NUL-terminated string at %rsi to COM1. */
puts:
    mov $COM1, %dx
3:  lodsb
    test %al, %al
    jz 4f
    outb %al, %dx
    jmp 3b
4:  ret

    .section .rodata
msg_ok:   .asciz "sluice-smoke: OK\n"
msg_fail: .asciz "sluice-smoke: FAIL\n"
msg_echo: .asciz "sluice-smoke: echo ready\n"
    .balign 8
null_idt: .word 0
          .quad 0
