/* SPDX-License-Identifier: MIT */
/*
 * The reset-vector stub, run by a tiny interpreter of the 16-bit
 * instructions it may contain: it must write the reset value to the reset
 * port exactly once, with interrupts off, and then stay halted.
 */
#include <stdbool.h>

#include "tests/unit/check.h"
#include "vmm/layout.h"
#include "vmm/reset_vector.h"

struct run {
    unsigned outs;
    uint16_t port;
    uint8_t value;
    bool irq_off;
    bool halted_in_loop;
    bool bad_opcode;
};

/* Execute up to `steps` instructions from offset 0 (IP wraps in 16 bytes is
 * a failure: the stub must never run off its end). */
static struct run run_stub(const uint8_t *code, unsigned steps)
{
    struct run r = { 0 };
    uint16_t dx = 0;
    uint8_t al = 0;
    unsigned ip = 0, halts = 0;
    for (unsigned i = 0; i < steps; i++) {
        if (ip + 1 > RESET_VECTOR_LEN) {
            r.bad_opcode = true;
            break;
        }
        switch (code[ip]) {
        case 0xfa: r.irq_off = true; ip += 1; break;               /* cli */
        case 0xba: dx = (uint16_t)(code[ip + 1] | code[ip + 2] << 8); ip += 3; break;
        case 0xb0: al = code[ip + 1]; ip += 2; break;              /* mov al, imm8 */
        case 0xee: r.outs++; r.port = dx; r.value = al; ip += 1; break; /* out dx, al */
        case 0xf4: halts++; ip += 1; break;                         /* hlt (then woken) */
        case 0xeb: ip = (unsigned)((int)ip + 2 + (int8_t)code[ip + 1]); break;
        default: r.bad_opcode = true; return r;
        }
    }
    r.halted_in_loop = halts > 1;
    return r;
}

int main(void)
{
    uint8_t code[RESET_VECTOR_LEN];
    size_t n = reset_vector_build(code, LAYOUT_PORT_ACPI_RESET, LAYOUT_ACPI_RESET_VALUE);
    CHECK(n > 0 && n <= RESET_VECTOR_LEN);

    struct run r = run_stub(code, 64);
    CHECK(!r.bad_opcode);
    CHECK_EQ(r.outs, 1);
    CHECK_EQ(r.port, LAYOUT_PORT_ACPI_RESET);
    CHECK_EQ(r.value, LAYOUT_ACPI_RESET_VALUE);
    CHECK(r.irq_off);
    CHECK(r.halted_in_loop);

    /* Other port and value, high byte of the port included. */
    n = reset_vector_build(code, 0xcf9, 0x06);
    r = run_stub(code, 64);
    CHECK(!r.bad_opcode);
    CHECK_EQ(r.port, 0xcf9);
    CHECK_EQ(r.value, 0x06);
    CHECK_EQ(r.outs, 1);

    /* The vector's 16 bytes end exactly at 1 MiB, inside the reserved BIOS area. */
    CHECK_EQ(LAYOUT_RESET_VECTOR_ADDR + RESET_VECTOR_LEN, LAYOUT_HIGH_MEM_START);
    CHECK(LAYOUT_ACPI_ADDR + LAYOUT_ACPI_SIZE <= LAYOUT_RESET_VECTOR_ADDR);
    return check_result("test_reset_vector");
}
