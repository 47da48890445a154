/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "vm"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "vmm/boot_linux.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/mem_report.h"
#include "vmm/reset_vector.h"
#include "vmm/topology.h"
#include "vmm/vcpu_boot.h"

void vm_request_stop(void *opaque, enum vm_stop_reason reason)
{
    struct vm *vm = opaque;
    int expected = VM_NO_STOP;
    if (!atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason))
        return; /* the first reason wins */
    atomic_store(&vm->env.stopping, true);
    uint64_t one = 1;
    if (write(vm->stop_fd, &one, sizeof(one)) < 0)
        LOG_ERR("cannot wake the main loop: %s", strerror(errno));
}

static void vm_on_stop_fd(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    uint64_t v;
    (void)events;
    if (read(vm->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        LOG_ERR("reading the stop eventfd failed: %s", strerror(errno));
    event_loop_quit(&vm->loop);
}

static void vm_on_signal(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    struct signalfd_siginfo si;
    (void)events;
    if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (atomic_load(&vm->stop_reason) == VM_NO_STOP)
        vm->stop_signal = (int)si.ssi_signo;
    LOG_INFO("received signal %u, stopping the VM", si.ssi_signo);
    vm_request_stop(vm, VM_STOP_SIGNAL);
}

/* Block the stop signals in every thread (vCPU threads inherit the mask) and
 * receive them through a signalfd in the main loop instead. */
static int vm_setup_signals(struct vm *vm)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, VCPU_KICK_SIGNAL); /* unblocked by vCPU threads only */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL))
        return -EINVAL;
    signal(SIGPIPE, SIG_IGN);
    sigdelset(&set, VCPU_KICK_SIGNAL);
    vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (vm->signal_fd < 0)
        return -errno;
    return vcpu_install_kick_handler();
}

static void vm_init_fields(struct vm *vm, const struct cli_options *opts)
{
    memset(vm, 0, sizeof(*vm));
    vm->opts = opts;
    vm->kvm.fd = -1;
    vm->vm_fd = -1;
    vm->mem.fd = -1;
    vm->stop_fd = -1;
    vm->signal_fd = -1;
    vm->loop.epfd = -1;
    vm->serial.in_fd = vm->serial.out_fd = -1;
    atomic_init(&vm->stop_reason, VM_NO_STOP);
    atomic_init(&vm->env.stopping, false);
    vm->env.ctl = (struct vm_control){.request_stop = vm_request_stop, .opaque = vm};
}

static int vm_check_host_memory(const struct cli_options *o, char *err, size_t errlen)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && o->memory > (uint64_t)pages * (uint64_t)page) {
        snprintf(err, errlen, "--memory %lluM is more than this host's %lluM of RAM",
                 (unsigned long long)(o->memory >> 20),
                 (unsigned long long)(((uint64_t)pages * (uint64_t)page) >> 20));
        return -E2BIG;
    }
    return 0;
}

static int vm_create_memory(struct vm *vm, char *err, size_t errlen)
{
    int ret = guest_mem_create(&vm->mem, vm->opts->memory, vm->opts->hugepages);
    if (ret) {
        snprintf(err, errlen, "cannot allocate %lluM of guest RAM%s: %s",
                 (unsigned long long)(vm->opts->memory >> 20),
                 vm->opts->hugepages ? " from huge pages (check /proc/sys/vm/nr_hugepages)" : "",
                 strerror(-ret));
        return ret;
    }
    ret = kvm_vm_set_memory(vm->vm_fd, &vm->mem);
    if (ret) {
        snprintf(err, errlen, "cannot register guest RAM with KVM: %s", strerror(-ret));
        return ret;
    }
    ret = kvm_mem_slots_init(&vm->slots, vm->vm_fd, vm->mem.nregions);
    if (ret)
        snprintf(err, errlen, "cannot set up device memory slots: %s", strerror(-ret));
    vm->slots_ready = ret == 0;
    return ret;
}

static int vm_create_loop(struct vm *vm, char *err, size_t errlen)
{
    int ret = event_loop_init(&vm->loop);
    if (ret)
        goto fail;
    vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->stop_fd < 0) {
        ret = -errno;
        goto fail;
    }
    ret = event_loop_add(&vm->loop, vm->stop_fd, EPOLLIN, vm_on_stop_fd, vm);
    if (ret)
        goto fail;
    ret = event_loop_add(&vm->loop, vm->signal_fd, EPOLLIN, vm_on_signal, vm);
    if (ret)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot set up the event loop: %s", strerror(-ret));
    return ret;
}

static int vm_create_interrupts(struct vm *vm, char *err, size_t errlen)
{
    int ret = irq_routing_init(&vm->irq, vm->vm_fd);
    if (ret) {
        snprintf(err, errlen, "cannot set up interrupt routing: %s", strerror(-ret));
        return ret;
    }
    vm->irq_ready = true;
    struct msi_sink kvm_sink = irq_routing_sink(&vm->irq);
    ret = ir_sink_init(&vm->ir, &kvm_sink);
    if (ret) {
        snprintf(err, errlen, "cannot set up interrupt remapping: %s", strerror(-ret));
        return ret;
    }
    vm->ir_ready = true;
    return 0;
}

static int vm_create_buses(struct vm *vm, char *err, size_t errlen)
{
    int ret = bus_init(&vm->pio, "pio");
    if (ret == 0) {
        ret = bus_init(&vm->mmio, "mmio");
        if (ret)
            bus_destroy(&vm->pio);
    }
    if (ret) {
        snprintf(err, errlen, "cannot create the I/O buses: %s", strerror(-ret));
        return ret;
    }
    vm->buses_ready = true;
    vm->env.pio = &vm->pio;
    vm->env.mmio = &vm->mmio;
    return 0;
}

static int vm_create_machine(struct vm *vm, char *err, size_t errlen)
{
    struct machine_config cfg = {
        .pio = &vm->pio,
        .mmio = &vm->mmio,
        .sink = ir_sink_msi_sink(&vm->ir),
        .ctl = vm->env.ctl,
        .serial = &vm->serial,
        .loop = &vm->loop,
        .start = vm->start,
    };
    int ret = machine_create(&vm->machine, &cfg, err, errlen);
    if (ret)
        return ret;
    vm->machine_ready = true;
    vm->env.ioapic_eoi = machine_ioapic_eoi;
    vm->env.ioapic_opaque = &vm->machine;
    return 0;
}

static int vm_create_pci(struct vm *vm, bool *user_error, char *err, size_t errlen)
{
    int ret = kvm_ioevent_init(&vm->ioevent, vm->vm_fd);
    if (ret) {
        snprintf(err, errlen, "KVM has no ioeventfd support: %s", strerror(-ret));
        return ret;
    }
    struct machine_pci_config cfg = {
        .pio = &vm->pio,
        .mmio = &vm->mmio,
        .sink = ir_sink_msi_sink(&vm->ir),
        .ir = &vm->ir,
        .ioev = kvm_ioevent_sink(&vm->ioevent),
        .slots = kvm_mem_slots_sink(&vm->slots),
        .ioapic = vm->machine.ioapic,
        .mmio64_base = layout_pci_mmio64_start(guest_mem_end(&vm->mem)),
        .opts = vm->opts,
    };
    for (unsigned i = 0; i < vm->mem.nregions && i < DMA_MAX_RAM_REGIONS; i++) {
        const struct guest_mem_region *r = &vm->mem.regions[i];
        cfg.ram[cfg.nram++] = (struct dma_ram_region){.gpa = r->gpa, .size = r->size, .host = r->host};
    }
    ret = machine_pci_create(&vm->pci, &cfg, user_error, err, errlen);
    if (ret)
        return ret;
    vm->pci_ready = true;
    return machine_pci_start(&vm->pci, err, errlen);
}

static int vm_build_acpi(struct vm *vm, const struct topology *topo, uint64_t *rsdp, char *err,
                         size_t errlen)
{
    struct acpi_machine am;
    acpi_machine_init(&am, topo->ncpus, topo->apic_ids);
    acpi_machine_init_pci(&am, guest_mem_end(&vm->mem));
    int ret = machine_pci_describe(&vm->pci, &am, err, errlen);
    if (ret)
        return ret;
    void *buf = guest_mem_ptr(&vm->mem, LAYOUT_ACPI_ADDR, LAYOUT_ACPI_SIZE);
    ret = buf ? acpi_build(&am, buf, LAYOUT_ACPI_ADDR, LAYOUT_ACPI_SIZE, rsdp) : -EFAULT;
    if (ret)
        snprintf(err, errlen, "cannot build the ACPI tables: %s", strerror(-ret));
    return ret;
}

/* What a guest that jumps to the reset vector finds there: the write to
 * the ACPI reset register that the FADT describes. */
static int vm_write_reset_vector(struct vm *vm, char *err, size_t errlen)
{
    uint8_t *dst = guest_mem_ptr(&vm->mem, LAYOUT_RESET_VECTOR_ADDR, RESET_VECTOR_LEN);
    if (!dst) {
        snprintf(err, errlen, "no guest RAM at the reset vector 0x%llx",
                 (unsigned long long)LAYOUT_RESET_VECTOR_ADDR);
        return -EFAULT;
    }
    reset_vector_build(dst, LAYOUT_PORT_ACPI_RESET, LAYOUT_ACPI_RESET_VALUE);
    return 0;
}

/* KVM makes the vCPU whose id is 0 the bootstrap processor unless told
 * otherwise; sluice boots vCPU 0, whatever its APIC ID. */
static int vm_set_boot_cpu(struct vm *vm, const struct topology *topo, char *err, size_t errlen)
{
    if (topo->apic_ids[0] == 0)
        return 0;
    if (ioctl(vm->vm_fd, KVM_SET_BOOT_CPU_ID, (unsigned long)topo->apic_ids[0]) < 0) {
        int ret = -errno;
        snprintf(err, errlen, "KVM_SET_BOOT_CPU_ID %u failed: %s (give vCPU 0 APIC ID 0)",
                 topo->apic_ids[0], strerror(errno));
        return ret;
    }
    return 0;
}

static int vm_create_vcpus(struct vm *vm, const struct topology *topo, char *err, size_t errlen)
{
    unsigned n = topo->ncpus;
    int ret = vm_set_boot_cpu(vm, topo, err, errlen);
    if (ret)
        return ret;
    vm->vcpus = calloc(n, sizeof(*vm->vcpus));
    if (!vm->vcpus) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        ret = vcpu_create(&vm->vcpus[i], &vm->kvm, vm->vm_fd, i, topo, &vm->env);
        if (ret) {
            snprintf(err, errlen, "cannot create vCPU %u: %s", i, strerror(-ret));
            return ret;
        }
        vm->nvcpus_created++;
    }
    return 0;
}

/* The RSDP sits at the start of the ACPI area (acpi_build places it first),
 * so the kernel can be loaded before the tables are built. */
#define VM_RSDP_ADDR LAYOUT_ACPI_ADDR

static int vm_load_kernel(struct vm *vm, struct boot_linux_result *res, char *err, size_t errlen)
{
    /* The ECAM window is reserved in e820 as firmware does, so Linux trusts MCFG. */
    static const struct boot_e820_extra reserved[] = {
        {.addr = LAYOUT_ECAM_BASE, .size = LAYOUT_ECAM_SIZE, .type = BP_E820_TYPE_RESERVED},
    };
    struct boot_linux_config cfg = {
        .e820_extra = reserved,
        .n_e820_extra = sizeof(reserved) / sizeof(reserved[0]),
        .kernel_path = vm->opts->kernel,
        .initrd_path = vm->opts->initrd,
        .cmdline = vm->opts->cmdline,
        .acpi_rsdp_addr = VM_RSDP_ADDR,
    };
    int ret = boot_linux_load(&vm->mem, &cfg, res, err, errlen);
    if (ret)
        return ret;
    LOG_INFO("kernel loaded at 0x%llx, entry 0x%llx", (unsigned long long)res->kernel.load_addr,
             (unsigned long long)res->kernel.entry);
    return 0;
}

/* The host's KVM must take this many vCPUs and vCPU ids (= APIC IDs) this large. */
static int vm_check_kvm_cpus(struct vm *vm, const struct topology *topo, char *err, size_t errlen)
{
    if (topo->ncpus > vm->kvm.max_vcpus) {
        snprintf(err, errlen, "--cpus %u: this host's KVM allows at most %u vCPUs", topo->ncpus,
                 vm->kvm.max_vcpus);
        return -EINVAL;
    }
    int max_id = ioctl(vm->kvm.fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
    uint64_t limit = max_id > 0 ? (uint64_t)max_id : vm->kvm.max_vcpus;
    if (topo->max_apic_id >= limit) {
        snprintf(err, errlen, "APIC ID %u: this host's KVM allows vCPU (APIC) IDs below %llu",
                 topo->max_apic_id, (unsigned long long)limit);
        return -EINVAL;
    }
    if (topo->apic_ids[0] != 0 &&
        ioctl(vm->kvm.fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_BOOT_CPU_ID) <= 0) {
        snprintf(err, errlen, "APIC ID %u for vCPU 0: this host's KVM cannot boot from a vCPU "
                 "other than APIC ID 0; give vCPU 0 APIC ID 0", topo->apic_ids[0]);
        return -EINVAL;
    }
    return 0;
}

/* Everything the user can get wrong is checked before anything is created
 * outside this process (the --serial file). */
static int vm_create_checked_inputs(struct vm *vm, const struct topology *topo,
                                    struct boot_linux_result *boot, char *err, size_t errlen)
{
    const struct cli_options *opts = vm->opts;
    int ret = vm_check_host_memory(opts, err, errlen);
    if (ret)
        return ret;
    ret = kvm_open(&vm->kvm, opts->kvm_path, err, errlen);
    if (ret)
        return ret;
    ret = vm_check_kvm_cpus(vm, topo, err, errlen);
    if (ret)
        return ret;
    vm->vm_fd = kvm_vm_create(&vm->kvm, err, errlen);
    if (vm->vm_fd < 0)
        return vm->vm_fd;
    if ((ret = vm_create_memory(vm, err, errlen)) || (ret = vm_load_kernel(vm, boot, err, errlen)))
        return ret;
    return serial_backend_open(&vm->serial, opts->serial, opts->serial_path, err, errlen);
}

/* The vCPUs' APIC IDs from the (already validated) options; *out is malloc'd. */
static int vm_compute_topology(const struct cli_options *opts, struct topology **out, char *err,
                               size_t errlen)
{
    struct topology_request req;
    struct topology *t = malloc(sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    cli_topology_request(opts, &req);
    int ret = topology_compute(&req, t, err, errlen);
    if (ret) {
        free(t);
        return ret;
    }
    *out = t;
    return 0;
}

/* Builds everything; the topology is only read while building (ACPI, vCPUs). */
static int vm_create_with(struct vm *vm, const struct topology *topo, bool *user_error, char *err,
                          size_t errlen)
{
    struct boot_linux_result boot;
    uint64_t rsdp = 0;
    int ret;

    *user_error = true;
    ret = vm_create_checked_inputs(vm, topo, &boot, err, errlen);
    if (ret)
        return ret;

    *user_error = false;
    ret = vm_setup_signals(vm);
    if (ret) {
        snprintf(err, errlen, "cannot set up signal handling: %s", strerror(-ret));
        return ret;
    }
    if ((ret = vm_create_buses(vm, err, errlen)) || (ret = vm_create_interrupts(vm, err, errlen)) ||
        (ret = vm_create_loop(vm, err, errlen)) || (ret = vm_create_machine(vm, err, errlen)) ||
        (ret = vm_create_pci(vm, user_error, err, errlen)))
        return ret;

    if ((ret = vm_build_acpi(vm, topo, &rsdp, err, errlen)) ||
        (ret = vm_write_reset_vector(vm, err, errlen)) ||
        (ret = vm_create_vcpus(vm, topo, err, errlen)))
        return ret;
    if (rsdp != VM_RSDP_ADDR) {
        snprintf(err, errlen, "ACPI RSDP at 0x%llx, expected 0x%llx", (unsigned long long)rsdp,
                 (unsigned long long)VM_RSDP_ADDR);
        return -EINVAL;
    }
    ret = vcpu_load_boot_state(&vm->vcpus[0], &boot.cpu);
    if (ret)
        snprintf(err, errlen, "cannot set the boot vCPU registers: %s", strerror(-ret));
    return ret;
}

int vm_create(struct vm *vm, const struct cli_options *opts, const struct timespec *start,
              bool *user_error, char *err, size_t errlen)
{
    struct topology *topo = NULL;

    vm_init_fields(vm, opts);
    vm->start = *start;
    *user_error = true;
    int ret = vm_compute_topology(opts, &topo, err, errlen);
    if (ret)
        return ret;
    ret = vm_create_with(vm, topo, user_error, err, errlen);
    free(topo);
    return ret;
}

static int vm_exit_status(const struct vm *vm)
{
    switch (atomic_load(&vm->stop_reason)) {
    case VM_STOP_POWEROFF:
        LOG_INFO("guest powered off");
        return SLUICE_EXIT_OK;
    case VM_STOP_RESET:
        LOG_INFO("guest rebooted; exiting");
        return SLUICE_EXIT_OK;
    case VM_STOP_PANIC:
        LOG_ERR("guest kernel panicked");
        return SLUICE_EXIT_GUEST_PANIC;
    case VM_STOP_SIGNAL:
        return 128 + vm->stop_signal;
    case VM_STOP_ERROR:
    default:
        return SLUICE_EXIT_ERROR;
    }
}

/* One line for the boot benchmark: sluice's own footprint besides guest RAM. */
static void vm_log_memory_usage(void)
{
    struct mem_report r;
    if (mem_report_read(&r))
        return;
    LOG_INFO("memory: peak RSS %llu KiB, guest RAM resident %llu KiB, overhead %lld KiB",
             (unsigned long long)r.peak_rss_kib, (unsigned long long)r.rss_shmem_kib,
             (long long)r.peak_rss_kib - (long long)r.rss_shmem_kib);
}

int vm_run(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus_created; i++) {
        int ret = vcpu_start(&vm->vcpus[i]);
        if (ret) {
            LOG_ERR("cannot start vCPU %u: %s", i, strerror(-ret));
            vm_request_stop(vm, VM_STOP_ERROR);
            break;
        }
    }
    if (event_loop_run(&vm->loop))
        vm_request_stop(vm, VM_STOP_ERROR);
    atomic_store(&vm->env.stopping, true);
    for (unsigned i = 0; i < vm->nvcpus_created; i++)
        vcpu_kick(&vm->vcpus[i]);
    for (unsigned i = 0; i < vm->nvcpus_created; i++)
        vcpu_join(&vm->vcpus[i]);
    vm_log_memory_usage();
    return vm_exit_status(vm);
}

void vm_destroy(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus_created; i++)
        vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    vm->vcpus = NULL;
    vm->nvcpus_created = 0;
    if (vm->pci_ready)
        machine_pci_destroy(&vm->pci);
    vm->pci_ready = false;
    if (vm->slots_ready)
        kvm_mem_slots_destroy(&vm->slots);
    vm->slots_ready = false;
    if (vm->machine_ready)
        machine_destroy(&vm->machine);
    vm->machine_ready = false;
    event_loop_destroy(&vm->loop);
    if (vm->stop_fd >= 0)
        close(vm->stop_fd);
    if (vm->signal_fd >= 0)
        close(vm->signal_fd);
    vm->stop_fd = vm->signal_fd = -1;
    if (vm->ir_ready)
        ir_sink_destroy(&vm->ir);
    vm->ir_ready = false;
    if (vm->irq_ready)
        irq_routing_destroy(&vm->irq);
    vm->irq_ready = false;
    if (vm->buses_ready) {
        bus_destroy(&vm->mmio);
        bus_destroy(&vm->pio);
    }
    vm->buses_ready = false;
    guest_mem_destroy(&vm->mem);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    vm->vm_fd = -1;
    kvm_close(&vm->kvm);
    serial_backend_close(&vm->serial);
}
