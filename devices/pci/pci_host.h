/* SPDX-License-Identifier: MIT */
/*
 * The PCIe host bridge (a q35-like root complex): configuration access
 * through ECAM (MMIO) and mechanism #1 (0xCF8/0xCFC), PCIe root ports
 * (type-1 headers whose bus numbers and windows gate forwarding), BAR
 * placement on the pio/mmio buses, INTx routing to the IOAPIC, and a
 * firmware-like resource assignment run before boot.
 *
 * Topology: bus 0 holds the host bridge (00:00.0, Intel Q35 MCH ids),
 * root ports and any devices attached directly. Each root port forwards
 * configuration cycles for buses secondary..subordinate; on its secondary bus
 * only device 0 (functions 0..7) is reachable (ARI-less downstream port).
 * There are no switches: nothing sits more than one bridge deep.
 *
 * BAR placement rule ("decoding off is not on the bus"): a BAR is registered
 * on the pio/mmio bus exactly when its function's command IO/MEM bit is set,
 * its address is non-zero, and it lies entirely inside the window that
 * forwards it at every level (a root port's IO, memory or prefetchable
 * window with that root port's command IO/MEM bit set; at the top, one of
 * the host's windows). Placement is recomputed after every config write that
 * touches a command register, a BAR or a bridge's bus/window/control
 * registers; dev->ops->bar_placed runs on every change. A BAR that would
 * overlap another registration stays unmapped (rate-limited log) until the
 * conflict goes away.
 *
 * INTx: a function's pin is swizzled through root ports ((slot + pin) % 4),
 * then bus-0 slot s, pin p (0 = INTA) drives cfg->intx[(s + p) % 4]. Lines
 * are wired-OR: each line counts its asserting functions.
 *
 * Order: pci_host_create -> pci_host_add_root_port / pci_host_attach (devices
 * fully set up: BARs declared, capabilities added) -> pci_host_assign_resources
 * -> guest runs -> all vCPUs and I/O threads stopped -> pci_host_destroy ->
 * the devices are destroyed by their creators. Attaching after boot
 * (hotplug) is not supported.
 *
 * Thread safety: one host mutex serialises configuration accesses (from any
 * number of vCPUs) and BAR placement. Device hooks (config_written,
 * bar_placed) run with it held. pci_set_intx / pci_send_msi may be called
 * from any thread without it.
 */
#ifndef SLUICE_DEVICES_PCI_PCI_HOST_H
#define SLUICE_DEVICES_PCI_PCI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/pci/pci.h"
#include "vmm/layout.h"

/* ECAM: 1 MiB of configuration space per bus, 4 KiB per function. */
#define PCI_ECAM_BUS_SHIFT 20
#define PCI_ECAM_DEVFN_SHIFT 12
#define PCI_ECAM_BUS_SIZE (1ULL << PCI_ECAM_BUS_SHIFT)
#define PCI_ECAM_REG_MASK 0xfffu

/* Configuration mechanism #1 address register (0xCF8). */
#define PCI_CONF1_ENABLE 0x80000000u
#define PCI_CONF1_BUS_SHIFT 16
#define PCI_CONF1_DEVFN_SHIFT 8
#define PCI_CONF1_REG_MASK 0xfcu            /* bits 7:2; 27:24 (extended) ignored */
#define PCI_CONF1_ADDR_WRITABLE 0x8ffffffcu /* bits 30:28 and 1:0 read zero */
#define PCI_CONF1_PORT_LEN 4

/* Resource assignment granularity (PCI-to-PCI bridge windows). */
#define PCI_BRIDGE_MEM_GRANULARITY LAYOUT_MiB
#define PCI_BRIDGE_IO_GRANULARITY (4 * LAYOUT_KiB)

struct pci_host_config {
    struct bus *pio, *mmio;          /* borrowed; outlive the host */
    const struct msi_sink *sink;     /* borrowed; MSIs of every function */
    struct irq_line intx[LAYOUT_PCI_INTX_PINS]; /* INTA..INTD of bus 0 after swizzling */
    uint64_t ecam_base;
    unsigned ecam_buses;             /* 1..256, 1 MiB each */
    uint64_t mmio32_base, mmio32_size;
    uint64_t mmio64_base, mmio64_size;
    uint64_t io_base, io_size;       /* must stay below 64 KiB */
};

struct pci_host;
struct pci_bridge;

/*
 * Create the host: the host bridge function at 00:00.0, the ECAM window on
 * cfg->mmio and 0xCF8 (address) + 0xCFC..0xCFF (data) on cfg->pio. `cfg` is
 * copied. Returns 0, -EINVAL (bad config), -EEXIST (a range already taken on
 * a bus) or -ENOMEM; nothing is left registered on failure.
 */
int pci_host_create(const struct pci_host_config *cfg, struct pci_host **out)
    __attribute__((warn_unused_result));

/*
 * Add a PCIe root port (1b36:000c, class 060400, PCIe capability v2, Root
 * Port, slot implemented, link up x1 at 2.5 GT/s) at bus-0 `devfn`. The host
 * owns it. Returns 0 (*out set), -EEXIST (devfn taken, 00.0 is the host
 * bridge) or -ENOMEM.
 */
int pci_host_add_root_port(struct pci_host *h, uint8_t devfn, struct pci_bridge **out)
    __attribute__((warn_unused_result));

/*
 * Attach `dev` (initialised with pci_device_init, BARs declared) at `devfn`
 * on bus 0 (parent NULL) or on the secondary bus of root port `parent`.
 * Behind a root port only device 0 is reachable: devfn must be 0..7 there.
 * The device stays owned by its creator and must outlive the host.
 * Returns 0, -EINVAL (bad devfn, dev already attached, parent not of this
 * host) or -EEXIST (devfn taken).
 */
int pci_host_attach(struct pci_host *h, struct pci_bridge *parent, uint8_t devfn,
                    struct pci_device *dev) __attribute__((warn_unused_result));

/*
 * Firmware-like assignment, once, before boot: root ports in devfn order get
 * primary 0 and secondary = subordinate = 1, 2, ...; every BAR gets a
 * naturally aligned address (IO BARs in the IO window, 32-bit memory BARs in
 * mmio32, 64-bit BARs in mmio64, except non-prefetchable 64-bit BARs behind a
 * root port, which a bridge can only forward below 4 GiB: mmio32); each root
 * port's IO / memory / prefetchable (64-bit) windows cover exactly what sits
 * behind it (4 KiB / 1 MiB granularity) and are closed when empty; root ports
 * get command IO|MEM|MASTER, endpoints keep command 0. Returns 0 or -ENOSPC
 * (a host window is too small; config space is then partly programmed).
 */
int pci_host_assign_resources(struct pci_host *h) __attribute__((warn_unused_result));

/*
 * Unregister the ECAM and 0xCF8/0xCFC regions and every BAR the host placed
 * (without calling bar_placed), detach the devices (their host link is
 * cleared) and free the root ports. Call after all vCPUs and I/O threads
 * stopped and before the attached devices are destroyed. NULL is a no-op.
 */
void pci_host_destroy(struct pci_host *h);

/* --- for describers (ACPI) and tests --- */

/* The root port's own function (type-1 header), e.g. for its devfn. */
struct pci_device *pci_bridge_device(struct pci_bridge *br);
/* The function currently reachable at (bus, devfn) as the guest numbers
 * buses, or NULL. Takes the host lock. */
struct pci_device *pci_host_find(struct pci_host *h, uint8_t bus, uint8_t devfn);
/* Root ports in devfn order: fills up to `max` and returns how many exist. */
unsigned pci_host_root_ports(struct pci_host *h, struct pci_bridge **out, unsigned max);
/* Index into cfg->intx (0..3) that the function's INTx pin reaches after
 * swizzling (its GSI is LAYOUT_PCI_INTX_GSI_BASE + index), or -ENOENT when it
 * has no pin or is not attached. */
int pci_host_intx_index(const struct pci_device *dev);

#endif
