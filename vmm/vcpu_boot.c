/* SPDX-License-Identifier: MIT */
#include "vmm/vcpu_boot.h"

#include <linux/kvm.h>
#include <string.h>

static struct kvm_segment vcpu_boot_segment(const struct boot_segment *s)
{
    return (struct kvm_segment){
        .base = s->base, .limit = s->limit, .selector = s->selector, .type = s->type,
        .present = s->present, .dpl = s->dpl, .db = s->db, .s = s->s, .l = s->l,
        .g = s->g, .avl = s->avl, .unusable = s->unusable,
    };
}

int vcpu_load_boot_state(struct vcpu *vcpu, const struct boot_cpu_state *st)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    memset(&regs, 0, sizeof(regs));
    memset(&sregs, 0, sizeof(sregs));
    regs.rip = st->rip;
    regs.rsi = st->rsi;
    regs.rsp = st->rsp;
    regs.rflags = st->rflags;
    sregs.cr0 = st->cr0;
    sregs.cr3 = st->cr3;
    sregs.cr4 = st->cr4;
    sregs.efer = st->efer;
    sregs.gdt.base = st->gdt.base;
    sregs.gdt.limit = st->gdt.limit;
    sregs.idt.base = st->idt.base;
    sregs.idt.limit = st->idt.limit;
    sregs.cs = vcpu_boot_segment(&st->cs);
    sregs.ds = vcpu_boot_segment(&st->ds);
    sregs.es = vcpu_boot_segment(&st->es);
    sregs.fs = vcpu_boot_segment(&st->fs);
    sregs.gs = vcpu_boot_segment(&st->gs);
    sregs.ss = vcpu_boot_segment(&st->ss);
    sregs.tr = vcpu_boot_segment(&st->tr);
    sregs.ldt = vcpu_boot_segment(&st->ldt);
    return vcpu_set_registers(vcpu, &regs, &sregs);
}
