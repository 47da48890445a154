/* SPDX-License-Identifier: MIT */
#include "vmm/reset_vector.h"

#include <string.h>

/* 16-bit opcodes the stub uses (Intel SDM vol. 2). */
#define OP_CLI 0xfa
#define OP_MOV_DX_IMM16 0xba
#define OP_MOV_AL_IMM8 0xb0
#define OP_OUT_DX_AL 0xee
#define OP_HLT 0xf4
#define OP_JMP_REL8 0xeb
#define JMP_REL8_LEN 2

size_t reset_vector_build(uint8_t out[RESET_VECTOR_LEN], uint16_t reset_port,
                          uint8_t reset_value)
{
    size_t n = 0;
    memset(out, OP_HLT, RESET_VECTOR_LEN);
    out[n++] = OP_CLI;
    out[n++] = OP_MOV_DX_IMM16;
    out[n++] = (uint8_t)(reset_port & 0xff);
    out[n++] = (uint8_t)(reset_port >> 8);
    out[n++] = OP_MOV_AL_IMM8;
    out[n++] = reset_value;
    out[n++] = OP_OUT_DX_AL;
    size_t halt = n;
    out[n++] = OP_HLT;
    out[n++] = OP_JMP_REL8; /* back to the hlt: a wake-up halts again */
    out[n] = (uint8_t)(int8_t)((int)halt - (int)(n + 1));
    n++;
    return n;
}
