/* SPDX-License-Identifier: MIT */
/*
 * A PCI function's configuration space and BARs: the generic model every
 * emulated (and later passthrough) function is built on.
 *
 * Config space is a shadow byte array with per-byte masks: `wmask` bits are
 * guest-writable, `w1cmask` bits are write-1-to-clear, everything else is
 * read-only. Every guest write goes through one merge
 *     new = (old & ~wmask) | (val & wmask);  new &= ~(val & w1cmask)
 * then side effects: BAR registers and the command register make the host
 * re-place BARs on the bus (pci_host.h), then the device's config_written
 * hook runs. BAR sizing is just the masks: a BAR's address bits below its size
 * are read-only zero, so writing all-ones reads back the size mask.
 *
 * Capabilities (standard list from 0x40, extended list from 0x100 on PCIe
 * functions) are appended with pci_add_capability / pci_add_ext_capability,
 * which link them and return their offset; the caller fills fields and masks.
 *
 * Order: pci_device_init -> declare BARs, add capabilities, set ids -> attach
 * to the host (pci_host_attach) -> guest runs. The struct is embedded in the
 * device's own state and must outlive the host.
 *
 * Thread safety: the host serialises config accesses (one lock for all
 * config space and BAR placement). BAR accesses run on vCPU threads through
 * the bus, without that lock.
 */
#ifndef SLUICE_DEVICES_PCI_PCI_H
#define SLUICE_DEVICES_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/pci/pci_regs.h"

#define PCI_NUM_BARS 6
#define PCI_CFG_SIZE 256
#define PCI_CFG_SIZE_EXP 4096

struct pci_host;
struct pci_bridge;
struct pci_device;

enum pci_bar_type { PCI_BAR_UNUSED = 0, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
    enum pci_bar_type type;
    bool prefetchable;
    uint64_t size;              /* power of two: IO >= 4, memory >= 4096 */
    const struct bus_ops *ops;  /* accesses see offsets inside the BAR */
    void *opaque;
    unsigned sizes;             /* BUS_SIZE_* accepted */
    bool aligned;
    /* placement, kept by the host */
    bool mapped;
    uint64_t mapped_addr;
};

struct pci_device_ops {
    /* Optional. After the generic merge of a guest write of `size` bytes at
     * `off` (and after BAR re-placement). Runs with the host config lock held:
     * must not call back into the host's config path. */
    void (*config_written)(struct pci_device *dev, unsigned off, unsigned size);
    /* Optional. Fill `data` for a guest read instead of the shadow; return
     * false to read the shadow (passthrough functions). */
    bool (*config_read)(struct pci_device *dev, unsigned off, void *data, unsigned size);
    /* Optional. BAR `bar` was placed on the bus at `addr` (mapped) or removed
     * (!mapped): ioeventfds and memory slots follow it here. */
    void (*bar_placed)(struct pci_device *dev, unsigned bar, bool mapped, uint64_t addr);
};

struct pci_device {
    const char *name;                  /* static or owned by the device, for logs */
    bool pcie;                         /* 4 KiB config space, extended capabilities */
    uint8_t cfg[PCI_CFG_SIZE_EXP];
    uint8_t wmask[PCI_CFG_SIZE_EXP];
    uint8_t w1cmask[PCI_CFG_SIZE_EXP];
    struct pci_bar bars[PCI_NUM_BARS];
    const struct pci_device_ops *ops;
    void *opaque;                      /* the device's own state */
    /* capability list bookkeeping */
    uint8_t cap_last, cap_free;        /* last linked capability, next free byte */
    uint16_t ext_cap_last, ext_cap_free;
    /* filled by pci_host_attach */
    struct pci_host *host;
    struct pci_bridge *parent;         /* NULL on bus 0 */
    uint8_t devfn;
    struct pci_bridge *bridge;         /* set when this function is a bridge (root port) */
    bool intx_asserted;
};

/* Type-0 header with the given ids; class_code is the 24-bit class/subclass/prog-if.
 * Command (IO, MEM, MASTER, INTX_DISABLE, SERR, PARITY) is writable, status
 * error bits are RW1C, the capability list bit is set by the first capability. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor_id,
                     uint16_t device_id, uint32_t class_code, uint8_t revision, bool pcie,
                     const struct pci_device_ops *ops, void *opaque);
void pci_set_subsystem(struct pci_device *dev, uint16_t vendor_id, uint16_t id);
/* INTx pin 1..4 (INTA..INTD), 0 for none. Interrupt Line stays guest-writable. */
void pci_set_intx_pin(struct pci_device *dev, uint8_t pin);

/* Declare BAR `idx` (a 64-bit BAR also takes idx+1). Returns 0 or -EINVAL
 * (bad index/size/type, slot already used). */
int pci_declare_bar(struct pci_device *dev, unsigned idx, enum pci_bar_type type,
                    bool prefetchable, uint64_t size, const struct bus_ops *ops, void *opaque,
                    unsigned sizes, bool aligned) __attribute__((warn_unused_result));
/* Current guest-programmed base of a BAR (type bits masked). */
uint64_t pci_bar_address(const struct pci_device *dev, unsigned idx);
/* Would the guest see this BAR's decoding on (command IO/MEM bit)? */
bool pci_bar_decode_enabled(const struct pci_device *dev, unsigned idx);

/* Append a capability of `len` bytes (>= 2, header included). Returns its
 * offset or -ENOSPC. The body is zeroed and read-only until the caller sets masks. */
int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned len);
/* Same for the extended list (PCIe only). Returns offset, -ENOSPC or -EINVAL. */
int pci_add_ext_capability(struct pci_device *dev, uint16_t id, uint8_t version, unsigned len);
/* Offset of the first capability with `id`, or 0. */
unsigned pci_find_capability(const struct pci_device *dev, uint8_t id);

/* Little-endian accessors on the shadow and its masks (device setup). */
uint8_t pci_cfg_get8(const struct pci_device *dev, unsigned off);
uint16_t pci_cfg_get16(const struct pci_device *dev, unsigned off);
uint32_t pci_cfg_get32(const struct pci_device *dev, unsigned off);
void pci_cfg_set8(struct pci_device *dev, unsigned off, uint8_t val);
void pci_cfg_set16(struct pci_device *dev, unsigned off, uint16_t val);
void pci_cfg_set32(struct pci_device *dev, unsigned off, uint32_t val);
void pci_cfg_set_wmask16(struct pci_device *dev, unsigned off, uint16_t mask);
void pci_cfg_set_wmask32(struct pci_device *dev, unsigned off, uint32_t mask);
void pci_cfg_set_w1cmask16(struct pci_device *dev, unsigned off, uint16_t mask);

/* The guest path (called by the host with its config lock held). Accesses
 * past the function's config size read all-ones / are dropped. */
void pci_config_read(struct pci_device *dev, unsigned off, void *data, unsigned size);
void pci_config_write(struct pci_device *dev, unsigned off, const void *data, unsigned size);

/* Requester id (bus << 8 | devfn) as the guest currently numbers it. */
uint16_t pci_requester_id(const struct pci_device *dev);
/* Bus master enable (devices check it before DMA and MSI). */
bool pci_bus_master(const struct pci_device *dev);
/* Raise one MSI through the host's sink with this function's requester id.
 * Every MSI an emulated function sends goes through here (or through an
 * irq_vector route installed with the same requester id). */
int pci_send_msi(struct pci_device *dev, uint64_t addr, uint32_t data);
/* Drive the function's INTx (ignored when pin is 0 or Interrupt Disable is
 * set; the status register's interrupt bit follows the level). */
void pci_set_intx(struct pci_device *dev, bool level);

#endif
