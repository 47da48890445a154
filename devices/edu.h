/* SPDX-License-Identifier: MIT */
/*
 * The "edu" DMA test device (QEMU's educational PCI device, 1234:11e8,
 * register layout in devices/edu_regs.h): a conventional PCI function with a
 * 1 MiB MMIO BAR 0, INTx pin A and a one-vector 64-bit MSI capability. It
 * exists so DMA through a vIOMMU can be driven from guest userspace and from
 * tests: liveness and factorial registers, an interrupt raise/acknowledge
 * pair, and a DMA engine between guest memory and a 4 KiB internal buffer.
 *
 * Behaviour: factorials and DMA transfers complete synchronously inside the
 * guest's register write, so a guest never sees COMPUTING or START set when
 * it polls. Interrupts: IRQ_STATUS != 0 asserts INTx, or, when the guest
 * enabled MSI, sends the MSI (each raise); an acknowledge that clears
 * IRQ_STATUS deasserts INTx.
 *
 * DMA: every transfer goes through the function's dma_space (edu_dma), with
 * the requester id refreshed from the PCI function at each start, and only
 * while bus mastering is enabled. A transfer is all or nothing: the EDU-side
 * range must lie inside the buffer, and the RAM-side range must translate
 * (vIOMMU) and lie in guest RAM as a whole, else nothing is copied,
 * EDU_REG_DMA_ERROR says why and a rate-limited line is logged. The completion
 * interrupt is raised whenever it was requested, transfer or not (hardware
 * that got an abort still completes the command). Bad guest programming never
 * terminates sluice.
 *
 * Order: edu_create -> install a translator on edu_dma() if a vIOMMU sits
 * above it -> pci_host_attach(edu_pci_device()) -> guest runs -> all vCPUs
 * stopped -> pci_host_destroy -> edu_destroy.
 *
 * Thread safety: BAR accesses may come from any number of vCPU threads (one
 * device mutex serialises them); config hooks run under the host's config
 * lock and do not take the device mutex.
 */
#ifndef SLUICE_DEVICES_EDU_H
#define SLUICE_DEVICES_EDU_H

#include "devices/pci/pci.h"
#include "iommu/dma.h"

struct edu;

struct edu_config {
    const struct dma_ram_region *ram; /* guest RAM (vmm/ owns the mappings) */
    unsigned nram;                    /* <= DMA_MAX_RAM_REGIONS */
};

/*
 * Create the device: PCI function initialised (ids, BAR 0 declared, MSI
 * capability, INTx pin A) but not attached, DMA space the identity over
 * cfg->ram. `cfg` is copied. Returns 0 (*out set; free with edu_destroy),
 * -EINVAL (bad RAM description) or -ENOMEM.
 */
int edu_create(const struct edu_config *cfg, struct edu **out)
    __attribute__((warn_unused_result));

/* The device's PCI function, to attach to a host. Owned by the edu. */
struct pci_device *edu_pci_device(struct edu *e);

/* The device's DMA address space, for a vIOMMU to put behind its translator.
 * Owned by the edu; its rid follows the function's requester id. */
struct dma_space *edu_dma(struct edu *e);

/* Free the device. Call after the host it was attached to is destroyed.
 * NULL is a no-op. */
void edu_destroy(struct edu *e);

#endif
