/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi interrupt remapping (spec pub. 48882, 2.2.5 "Interrupt Remapping
 * Tables"): the MSI path's view of the IOMMU.
 *
 * An interrupt request from `devid` (the requester id; IOAPIC messages carry
 * the IOAPIC's IVRS SPECIAL devid, IRQ_SOURCE_ID_IOAPIC = 00:14.0) is looked
 * up in that device's DTE (q2: IV, IntTabLen, IntTableRootPtr, IntCtl and the
 * INIT/EINT/NMI/LINT0/LINT1 pass bits) and, for fixed / lowest-priority
 * (arbitrated) messages, in the interrupt remapping table the DTE points to.
 *
 * Index rule (spec 2.2.5.1, "Interrupt Remapping Table index"): the IRTE
 * offset is MSI data[10:0], whatever the address says. Linux writes exactly
 * that: for MSI/MSI-X, fill_msi_msg() sets data = index, address =
 * 0xfee00000; for the IOAPIC the RTE is built from the same message (vector
 * field = index[7:0], delivery mode = index[10:8], and Linux uses index =
 * pin < 32, so the IOAPIC's MSI data[10:0] is again the index). So callers
 * pass the raw MSI (address, data) as the device or the IOAPIC sent it.
 * data[10:8] is also the message type, and only fixed / arbitrated requests
 * are looked up, so indices 0..511 are reachable (Linux's
 * MAX_IRQS_PER_TABLE is 512 for this reason).
 *
 * Handling of the message type (MSI data[10:8] as sent, spec Table 19 /
 * 2.2.5): fixed (0) and arbitrated (1) go through IntCtl: 2 remaps through
 * the IRTE, 1 forwards the message unmapped, 0 aborts it, 3 (reserved) is an
 * illegal DTE. NMI (4) / INIT (5) / ExtINT (7) pass unchanged when the DTE's
 * NMIPass / INITPass / EIntPass bit is set and are blocked otherwise. SMI (2)
 * and the reserved types (3, 6) are blocked.
 *
 * IRTE formats (the IOMMU's Control GAEn / XTEn, read at translation time):
 *   GAEn = 0: 32-bit IRTE at root + 4 * index: RemapEn 0, SupIOPF 1,
 *     IntType 4:2, RqEoi 5, DM 6, GuestMode 7, Destination 15:8, Vector 23:16.
 *   GAEn = 1: 128-bit IRTE at root + 16 * index (non-guest-mode layout):
 *     lo: RemapEn 0, SupIOPF 1, IntType 4:2, RqEoi 5, DM 6, GuestMode 7,
 *     Destination[23:0] 31:8; hi: Vector 7:0, Destination[31:24] 63:56.
 *     Without XTEn only Destination[7:0] is used.
 *   XTEn = 1 (only meaningful with GAEn): 32-bit x2APIC destination.
 *   IRTE IntType must be fixed (0) or arbitrated (1).
 * The translated message (amdvi_ir_msi_addr): address 0xfee00000 |
 * dest[7:0] << 12 | DM << 2, dest[31:8] in address bits 63:40 (KVM's
 * KVM_X2APIC_API_USE_32BIT_IDS encoding sluice enables, see vmm/kvm.c);
 * data = vector | IntType << 8, edge-triggered.
 *
 * Blocked interrupts are dropped (never the VMM) and log, rate-limited and
 * deduplicated per (devid, event, index) like DMA faults, an event with the
 * interrupt flag I = 1 (plus RW = 1: an interrupt is a write), devid and
 * address = the MSI address (spec 2.5.3):
 *   IO_PAGE_FAULT: IRTE RemapEn = 0 (not logged when its SupIOPF is set);
 *     index >= 2^IntTabLen; IRTE GuestMode = 1 (vAPIC posting: GAMSup is not
 *     advertised) or reserved IntType (PR = 1, RZ = 1); IntCtl = 0 (target
 *     abort); a special type (SMI/NMI/INIT/ExtINT, reserved) not passed.
 *   ILLEGAL_DEV_TABLE_ENTRY: IntCtl = 3, IntTabLen > 11, devid beyond the
 *     device table.
 *   DEV_TAB_HARDWARE_ERROR / PAGE_TAB_HARDWARE_ERROR: DTE / IRTE not in RAM
 *     (address = the DTE / IRTE address).
 */
#ifndef SLUICE_IOMMU_AMD_AMDVI_IR_H
#define SLUICE_IOMMU_AMD_AMDVI_IR_H

#include <stdbool.h>
#include <stdint.h>

struct amdvi;

/* Result of remapping one MSI. */
enum amdvi_ir_result {
    AMDVI_IR_REMAPPED,      /* out_addr / out_data hold the translated message */
    AMDVI_IR_PASSTHROUGH,   /* not remapped (IOMMU off, intremap off, DTE V=0 or IV=0,
                             * IntCtl = 1 forward, or a passed NMI/INIT/ExtINT):
                             * out_addr / out_data = the message unchanged */
    AMDVI_IR_BLOCKED,       /* dropped; an event was logged (or suppressed by rate
                             * limiting / SupIOPF / target abort) */
};

/* Remap one interrupt request (MSI address/data) from `devid`. Thread-safe;
 * reads the DTE (through the DTE cache) and the IRTE from guest RAM, never
 * takes the register lock except to log an event. Never crashes on any
 * guest-controlled content. out_addr / out_data are always written (with
 * the input message unless REMAPPED). */
enum amdvi_ir_result amdvi_ir_translate(struct amdvi *a, uint16_t devid, uint64_t addr,
                                        uint32_t data, uint64_t *out_addr, uint32_t *out_data)
    __attribute__((warn_unused_result));

/* Notification of interrupt-table invalidations, so users that translated
 * at setup (KVM GSI routes) re-translate. Called outside the IOMMU's locks
 * (it may call amdvi_ir_translate), from the vCPU thread whose MMIO write
 * triggered it:
 *   invalidate(opaque, devid, false) after INVALIDATE_INTERRUPT_TABLE(devid)
 *   and INVALIDATE_DEVTAB_ENTRY(devid) (the DTE holds IV / the table root);
 *   invalidate(opaque, 0, true) after INVALIDATE_IOMMU_ALL, or when an
 *   IR-relevant Control bit (IOMMUEn, GAEn, XTEn) or the device table base
 *   register changes. */
struct amdvi_ir_listener {
    void (*invalidate)(void *opaque, uint16_t devid, bool all);
    void *opaque;
};

/* Install (or with NULL remove) the single listener (copied). Set it before
 * the guest runs; replacing it while commands run is not supported. */
void amdvi_ir_set_listener(struct amdvi *a, const struct amdvi_ir_listener *l);

/* True when a DTE could remap: IR configured (cfg.intremap) and IOMMUEn set. */
bool amdvi_ir_enabled(struct amdvi *a);

/* An x86 MSI address for `dest` (0..2^32-1) with logical (DM) / redirection
 * hint bits, in the encoding KVM expects with KVM_X2APIC_API_USE_32BIT_IDS:
 * dest[7:0] in bits 19:12, dest[31:8] in bits 63:40. */
uint64_t amdvi_ir_msi_addr(uint32_t dest, bool logical, bool redir_hint);

#endif
