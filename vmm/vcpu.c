/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "vcpu"
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/cpuid.h"
#include "vmm/kvm.h"
#include "vmm/clock.h"
#include "vmm/log.h"
#include "vmm/topology.h"

/* Architectural MSRs initialised on every vCPU (Intel SDM vol. 4). */
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_TSC 0x10
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_MTRR_DEF_TYPE_ENABLE (1ULL << 11)
#define MSR_MTRR_TYPE_WRITEBACK 6ULL
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

static const struct {
    uint32_t index;
    uint64_t value;
} vcpu_initial_msrs[] = {
    {MSR_IA32_SYSENTER_CS, 0},
    {MSR_IA32_SYSENTER_ESP, 0},
    {MSR_IA32_SYSENTER_EIP, 0},
    {MSR_STAR, 0},
    {MSR_CSTAR, 0},
    {MSR_KERNEL_GS_BASE, 0},
    {MSR_SYSCALL_MASK, 0},
    {MSR_LSTAR, 0},
    {MSR_IA32_TSC, 0},
    {MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING},
    /* Without MTRRs enabled the guest would map all RAM uncached. */
    {MSR_MTRR_DEF_TYPE, MSR_MTRR_DEF_TYPE_ENABLE | MSR_MTRR_TYPE_WRITEBACK},
};
#define VCPU_NUM_INITIAL_MSRS (sizeof(vcpu_initial_msrs) / sizeof(vcpu_initial_msrs[0]))

static void vcpu_kick_handler(int sig) { (void)sig; }

int vcpu_install_kick_handler(void)
{
    struct sigaction sa = {.sa_handler = vcpu_kick_handler};
    sigemptyset(&sa.sa_mask);
    return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

static int vcpu_set_msrs(struct vcpu *vcpu)
{
    /* struct kvm_msrs ends in a flexible array: header and entries in one buffer */
    union {
        struct kvm_msrs hdr;
        uint8_t bytes[sizeof(struct kvm_msrs) +
                      VCPU_NUM_INITIAL_MSRS * sizeof(struct kvm_msr_entry)];
    } msrs;
    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = VCPU_NUM_INITIAL_MSRS;
    for (unsigned i = 0; i < VCPU_NUM_INITIAL_MSRS; i++) {
        msrs.hdr.entries[i].index = vcpu_initial_msrs[i].index;
        msrs.hdr.entries[i].data = vcpu_initial_msrs[i].value;
    }
    int n = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
    if (n < 0)
        return -errno;
    if ((unsigned)n != VCPU_NUM_INITIAL_MSRS) {
        LOG_ERR("vCPU %u: KVM refused MSR 0x%x", vcpu->index, vcpu_initial_msrs[n].index);
        return -EINVAL;
    }
    return 0;
}

/*
 * With APIC IDs above 254 firmware hands every CPU over in x2APIC mode (an
 * xAPIC cannot address them, and Linux ignores MADT x2APIC entries it cannot
 * reach from xAPIC mode): set EXTD in IA32_APIC_BASE, keeping EN and BSP.
 */
#define VCPU_MSR_APIC_BASE 0x1b
#define VCPU_APIC_BASE_EXTD (1ULL << 10)
#define VCPU_APIC_BASE_EN (1ULL << 11)

static int vcpu_enable_x2apic(struct vcpu *vcpu)
{
    union {
        struct kvm_msrs hdr;
        uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
    } msrs;
    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 1;
    msrs.hdr.entries[0].index = VCPU_MSR_APIC_BASE;
    if (ioctl(vcpu->fd, KVM_GET_MSRS, &msrs) != 1)
        return -EIO;
    msrs.hdr.entries[0].data |= VCPU_APIC_BASE_EN | VCPU_APIC_BASE_EXTD;
    if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1)
        return -EIO;
    return 0;
}

static int vcpu_set_cpuid(struct vcpu *vcpu, struct kvm *kvm, const struct topology *t)
{
    struct cpuid_topology topo = {
        .ncpus = t->ncpus,
        .threads_per_core = t->threads_per_core,
        .cores_per_socket = t->cores_per_socket,
        .smt_shift = t->smt_shift,
        .pkg_shift = t->pkg_shift,
        .apic_id = vcpu->apic_id,
    };
    struct kvm_cpuid2 *cpuid;
    int ret = cpuid_build(kvm->supported_cpuid, &topo, &cpuid);
    if (ret)
        return ret;
    ret = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
    free(cpuid);
    return ret;
}

int vcpu_create(struct vcpu *vcpu, struct kvm *kvm, int vm_fd, unsigned index,
                const struct topology *topo, struct vcpu_env *env)
{
    uint32_t apic_id = topo->apic_ids[index];
    int ret;
    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->index = index;
    vcpu->apic_id = apic_id;
    vcpu->env = env;
    vcpu->run_size = kvm->vcpu_mmap_size;
    vcpu->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)apic_id);
    if (vcpu->fd < 0) {
        ret = -errno;
        LOG_ERR("KVM_CREATE_VCPU %u (APIC ID %u) failed: %s", index, apic_id, strerror(errno));
        return ret;
    }
    vcpu->run = mmap(NULL, (size_t)vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (vcpu->run == MAP_FAILED) {
        ret = -errno;
        vcpu->run = NULL;
        LOG_ERR("vCPU %u: mmap of kvm_run failed: %s", index, strerror(errno));
        goto err_close;
    }
    ret = vcpu_set_cpuid(vcpu, kvm, topo);
    if (ret) {
        LOG_ERR("vCPU %u: KVM_SET_CPUID2 failed: %s", index, strerror(-ret));
        goto err_unmap;
    }
    ret = vcpu_set_msrs(vcpu);
    if (ret == 0 && topo->max_apic_id > TOPOLOGY_XAPIC_MAX_ID)
        ret = vcpu_enable_x2apic(vcpu);
    if (ret) {
        LOG_ERR("vCPU %u: KVM_SET_MSRS failed: %s", index, strerror(-ret));
        goto err_unmap;
    }
    return 0;

err_unmap:
    munmap(vcpu->run, (size_t)vcpu->run_size);
    vcpu->run = NULL;
err_close:
    close(vcpu->fd);
    vcpu->fd = -1;
    return ret;
}

int vcpu_set_registers(struct vcpu *vcpu, const struct kvm_regs *regs, const struct kvm_sregs *sregs)
{
    struct kvm_sregs current;
    /* Start from KVM's view so fields we do not set (APIC base, ...) stay valid. */
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &current) < 0)
        return -errno;
    current.cs = sregs->cs;
    current.ds = sregs->ds;
    current.es = sregs->es;
    current.fs = sregs->fs;
    current.gs = sregs->gs;
    current.ss = sregs->ss;
    current.tr = sregs->tr;
    current.ldt = sregs->ldt;
    current.gdt = sregs->gdt;
    current.idt = sregs->idt;
    current.cr0 = sregs->cr0;
    current.cr3 = sregs->cr3;
    current.cr4 = sregs->cr4;
    current.efer = sregs->efer;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &current) < 0)
        return -errno;
    if (ioctl(vcpu->fd, KVM_SET_REGS, regs) < 0)
        return -errno;
    return 0;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        if (run->io.direction == KVM_EXIT_IO_OUT)
            bus_write(vcpu->env->pio, run->io.port, data, run->io.size);
        else
            bus_read(vcpu->env->pio, run->io.port, data, run->io.size);
    }
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    if (run->mmio.is_write)
        bus_write(vcpu->env->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
    else
        bus_read(vcpu->env->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
}

static void vcpu_fatal(struct vcpu *vcpu, const char *what)
{
    LOG_ERR("vCPU %u: %s", vcpu->index, what);
    vcpu_dump_registers(vcpu);
    vm_control_stop(&vcpu->env->ctl, VM_STOP_ERROR);
}

static void vcpu_handle_system_event(struct vcpu *vcpu)
{
    switch (vcpu->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vm_control_stop(&vcpu->env->ctl, VM_STOP_POWEROFF);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        vm_control_stop(&vcpu->env->ctl, VM_STOP_RESET);
        break;
    case KVM_SYSTEM_EVENT_CRASH:
        vm_control_stop(&vcpu->env->ctl, VM_STOP_PANIC);
        break;
    default:
        LOG_RATELIMITED(LOG_LEVEL_WARN, "vCPU %u: unknown system event %u", vcpu->index,
                        vcpu->run->system_event.type);
        break;
    }
}

/* Handles one exit. Returns false when the thread must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        vcpu_handle_io(vcpu);
        return true;
    case KVM_EXIT_MMIO:
        vcpu_handle_mmio(vcpu);
        return true;
    case KVM_EXIT_IOAPIC_EOI:
        if (vcpu->env->ioapic_eoi)
            vcpu->env->ioapic_eoi(vcpu->env->ioapic_opaque, run->eoi.vector);
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_SYSTEM_EVENT:
        vcpu_handle_system_event(vcpu);
        return false;
    case KVM_EXIT_SHUTDOWN:
        vcpu_fatal(vcpu, "triple fault (KVM_EXIT_SHUTDOWN)");
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        LOG_ERR("vCPU %u: KVM internal error, suberror %u", vcpu->index, run->internal.suberror);
        vcpu_fatal(vcpu, "KVM internal error");
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        LOG_ERR("vCPU %u: VM entry failed, hardware reason 0x%llx", vcpu->index,
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        vcpu_fatal(vcpu, "VM entry failed");
        return false;
    case KVM_EXIT_HLT:
        /* Only reached without an in-kernel LAPIC; treat like an idle loop. */
        return true;
    default:
        LOG_ERR("vCPU %u: unexpected KVM exit reason %u", vcpu->index, run->exit_reason);
        vcpu_fatal(vcpu, "unexpected exit");
        return false;
    }
}

static void vcpu_count_exit(struct vcpu *vcpu)
{
    switch (vcpu->run->exit_reason) {
    case KVM_EXIT_IO:
        vcpu->exits_io++;
        break;
    case KVM_EXIT_MMIO:
        vcpu->exits_mmio++;
        break;
    default:
        vcpu->exits_other++;
        break;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    while (!atomic_load(&vcpu->env->stopping)) {
        if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            LOG_ERR("vCPU %u: KVM_RUN failed: %s", vcpu->index, strerror(errno));
            vm_control_stop(&vcpu->env->ctl, VM_STOP_ERROR);
            break;
        }
        vcpu_count_exit(vcpu);
        uint64_t t0 = monotonic_ns();
        bool go_on = vcpu_handle_exit(vcpu);
        vcpu->handle_ns += monotonic_ns() - t0;
        if (!go_on)
            break;
    }
    LOG_INFO("vCPU %u: %llu exits to sluice (%llu I/O port, %llu MMIO, %llu other), "
             "%.1f ms handling them",
             vcpu->index,
             (unsigned long long)(vcpu->exits_io + vcpu->exits_mmio + vcpu->exits_other),
             (unsigned long long)vcpu->exits_io, (unsigned long long)vcpu->exits_mmio,
             (unsigned long long)vcpu->exits_other, (double)vcpu->handle_ns / 1e6);
    return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
    char name[16];
    int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
    if (ret)
        return -ret;
    snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
    pthread_setname_np(vcpu->thread, name);
    vcpu->started = true;
    return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
    if (vcpu->run)
        __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (vcpu->started)
        pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
    if (vcpu->started)
        pthread_join(vcpu->thread, NULL);
    vcpu->started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
    if (vcpu->run)
        munmap(vcpu->run, (size_t)vcpu->run_size);
    if (vcpu->fd >= 0)
        close(vcpu->fd);
    vcpu->run = NULL;
    vcpu->fd = -1;
}

static void vcpu_log_segment(const char *name, const struct kvm_segment *s)
{
    LOG_ERR("  %-3s sel=0x%04x base=0x%016llx limit=0x%08x type=%u p=%u dpl=%u db=%u s=%u l=%u g=%u",
            name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->present, s->dpl,
            s->db, s->s, s->l, s->g);
}

void vcpu_dump_registers(struct vcpu *vcpu)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
        LOG_ERR("vCPU %u: cannot read registers: %s", vcpu->index, strerror(errno));
        return;
    }
#define R(x) ((unsigned long long)(x))
    LOG_ERR("vCPU %u registers:", vcpu->index);
    LOG_ERR("  rip=0x%016llx rsp=0x%016llx rflags=0x%016llx", R(r.rip), R(r.rsp), R(r.rflags));
    LOG_ERR("  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx", R(r.rax), R(r.rbx),
            R(r.rcx), R(r.rdx));
    LOG_ERR("  rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx r8 =0x%016llx", R(r.rsi), R(r.rdi),
            R(r.rbp), R(r.r8));
    LOG_ERR("  r9 =0x%016llx r10=0x%016llx r11=0x%016llx r12=0x%016llx", R(r.r9), R(r.r10),
            R(r.r11), R(r.r12));
    LOG_ERR("  r13=0x%016llx r14=0x%016llx r15=0x%016llx", R(r.r13), R(r.r14), R(r.r15));
    LOG_ERR("  cr0=0x%016llx cr2=0x%016llx cr3=0x%016llx cr4=0x%016llx efer=0x%llx", R(s.cr0),
            R(s.cr2), R(s.cr3), R(s.cr4), R(s.efer));
    LOG_ERR("  gdt base=0x%llx limit=0x%x idt base=0x%llx limit=0x%x", R(s.gdt.base), s.gdt.limit,
            R(s.idt.base), s.idt.limit);
#undef R
    vcpu_log_segment("cs", &s.cs);
    vcpu_log_segment("ss", &s.ss);
    vcpu_log_segment("ds", &s.ds);
    vcpu_log_segment("tr", &s.tr);
}
