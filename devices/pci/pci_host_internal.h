/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by pci.c, pci_host.c, root_port.c and pci_assign.c. Not for
 * devices: they use pci.h and pci_host.h.
 *
 * Locks, outermost first:
 *   host->lock      config accesses, placement, topology (pci_host.c)
 *   pci_cfg_lock    config-space bytes of every function during a guest
 *                   read/merge, the INTx level and the host's per-line counts
 *                   (pci.c; a leaf except for the irq_line it drives)
 */
#ifndef SLUICE_DEVICES_PCI_PCI_HOST_INTERNAL_H
#define SLUICE_DEVICES_PCI_PCI_HOST_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "devices/pci/pci_host.h"

#define PCI_MAX_DEVFN 256
#define PCI_FUNCS_PER_SLOT 8
/* Length of a v2 PCIe capability with the slot and root registers (through
 * Slot Status 2), as a root port carries it. */
#define PCI_CAP_EXP_ROOT_PORT_SIZEOF_V2 0x3c
#define PCI_EXP_FLAGS_VERS_2 2
#define PCI_EXP_LNKCAP_MLW_X1 0x00000010
/* Bridge IO window registers: address bits 15:12 in bits 7:4. */
#define PCI_BRIDGE_IO_SHIFT 8
/* Bridge memory window registers: address bits 31:20 in bits 15:4. */
#define PCI_BRIDGE_MEM_SHIFT 16
#define PCI_BRIDGE_IO_MAX 0xffffULL         /* 16-bit IO addressing only */
/* ISA enable: the bridge does not forward IO addresses with bits 9:8 != 0. */
#define PCI_BRIDGE_ISA_ALIAS_MASK 0x300ULL
#define PCI_BRIDGE_ISA_SPAN 0x100ULL     /* forwarded: the first 256 bytes of each 1 KiB */

/* A root port: its function plus what sits on its secondary bus. */
struct pci_bridge {
    struct pci_device dev;                          /* type-1 header, first */
    struct pci_device *children[PCI_FUNCS_PER_SLOT]; /* device 0, functions 0..7 */
};

struct pci_host {
    struct pci_host_config cfg;
    pthread_mutex_t lock;
    struct pci_device hostbridge;
    struct pci_device *bus0[PCI_MAX_DEVFN];
    uint32_t conf1_addr;                   /* 0xCF8 latch */
    unsigned intx_count[LAYOUT_PCI_INTX_PINS]; /* under pci_cfg_lock */
    bool ecam_registered, conf1_addr_registered, conf1_data_registered;
};

/* An address range [base, limit]; closed (empty) when limit < base. */
struct pci_window {
    uint64_t base, limit;
};

static inline bool pci_window_contains(struct pci_window w, uint64_t first, uint64_t last)
{
    return w.base <= w.limit && first >= w.base && last <= w.limit;
}

/* pci.c -> pci_host.c: a command/BAR/bridge register changed. host->lock held. */
void pci_host_config_changed_locked(struct pci_host *h);
/* pci.c -> pci_host.c: the function's INTx wire changed level. pci_cfg_lock held. */
void pci_host_intx_wire_locked(struct pci_host *h, struct pci_device *dev, bool level);
/* The sink every MSI goes through (NULL before create). */
const struct msi_sink *pci_host_sink(const struct pci_host *h);

/* pci.c: the leaf lock (see above). */
void pci_cfg_lock(void);
void pci_cfg_unlock(void);
/* Level the function currently drives on its INTx wire. pci_cfg_lock held. */
bool pci_intx_wire_level_locked(const struct pci_device *dev);

/* root_port.c */
void pci_root_port_init(struct pci_bridge *br, uint8_t devfn);
/* Secondary bus presence (PCIe slot status): call when a child is attached. */
void pci_root_port_set_presence(struct pci_bridge *br, bool present);
uint8_t pci_bridge_secondary(const struct pci_bridge *br);
uint8_t pci_bridge_subordinate(const struct pci_bridge *br);
struct pci_window pci_bridge_io_window(const struct pci_bridge *br);
struct pci_window pci_bridge_mem_window(const struct pci_bridge *br);
struct pci_window pci_bridge_pref_window(const struct pci_bridge *br);
/* Program the windows (a closed window when limit < base). */
void pci_bridge_set_io_window(struct pci_bridge *br, struct pci_window w);
void pci_bridge_set_mem_window(struct pci_bridge *br, struct pci_window w);
void pci_bridge_set_pref_window(struct pci_bridge *br, struct pci_window w);
void pci_bridge_set_buses(struct pci_bridge *br, uint8_t primary, uint8_t secondary,
                          uint8_t subordinate);
/* Does the bridge forward [first, last] of this BAR type downstream? */
bool pci_bridge_forwards(const struct pci_bridge *br, const struct pci_bar *bar, uint64_t first,
                         uint64_t last);

/* pci_host.c: iteration over every attached function (not the host bridge). */
typedef void (*pci_host_fn_cb)(struct pci_host *h, struct pci_device *dev, void *ctx);
void pci_host_for_each_function(struct pci_host *h, pci_host_fn_cb cb, void *ctx);
/* pci_assign.c, host->lock held. */
int pci_assign_resources_locked(struct pci_host *h);

/* Config offset of BAR `idx`. */
#define PCI_BAR_REG(idx) (PCI_BASE_ADDRESS_0 + 4 * (idx))

/* Is BAR `idx` the upper half of a 64-bit BAR? */
static inline bool pci_bar_is_upper_half(const struct pci_device *dev, unsigned idx)
{
    return idx > 0 && dev->bars[idx - 1].type == PCI_BAR_MEM64;
}

#endif
