/* SPDX-License-Identifier: MIT */
/*
 * The interrupt-remapping sink: the single MSI entry point of the machine
 * when one or more interrupt-remapping units (AMD-Vi, later VT-d) exist.
 *
 * An ir_sink wraps the downstream struct msi_sink (the KVM one from
 * vmm/irq_routing.h) and up to IR_SINK_MAX_REMAPPERS remappers. Devices and
 * the IOAPIC are given ir_sink_msi_sink() instead of the KVM sink:
 *
 *  - send_msi(rid, addr, data): the first remapper whose owns(rid) is true
 *    translates the message, which is then sent downstream. A blocked
 *    message is dropped and send_msi returns 0 (hardware drops it; the
 *    remapper has already logged its event). A rid no remapper owns goes
 *    downstream unchanged.
 *  - set_route(gsi, enabled, rid, addr, data): the untranslated message is
 *    recorded per GSI; the translated one is installed downstream. Blocked
 *    -> the downstream route is removed (interrupts on that GSI are dropped)
 *    but the record is kept, so a later invalidation can bring it back.
 *    Returns 0 for a blocked route too; -EINVAL for gsi >= IR_SINK_MAX_GSI;
 *    otherwise the downstream set_route's result.
 *  - alloc_gsi / irqfd pass through unchanged (NULL when the downstream's
 *    are NULL); free_gsi passes through and forgets the GSI's record.
 *
 * Translation happens at setup, never per irqfd interrupt: when a remapper's
 * guest invalidates interrupt-table state, the remapper tells the sink
 * (ir_sink_invalidate, or ir_sink_remapper_invalidated as a listener
 * callback), which re-translates exactly the recorded routes it owns (of one
 * rid, or all of them) and re-installs downstream only those whose result
 * changed.
 *
 * Remappers: translate(opaque, rid, addr, data, &out_addr, &out_data)
 * returns 0 with out_* filled (remapped, or passthrough = the input copied)
 * or -EPERM when the interrupt is blocked (any other negative value is
 * treated as blocked too). owns(opaque, rid) says whether the requester
 * sits behind that remapper; its answer must not change while the sink
 * lives (a route's owner is decided when the route is set).
 *
 * Lifecycle: ir_sink_init, then ir_sink_add_remapper for every remapper,
 * then hand out ir_sink_msi_sink(). Remappers are never added after the
 * sink is in use. The sink, the downstream sink and every remapper must
 * outlive all users; ir_sink_destroy does not touch the downstream routes.
 *
 * Thread safety: every msi_sink callback and ir_sink_invalidate may run
 * concurrently from any thread. One mutex guards the route table; lock
 * order: ir_sink mutex -> remapper internals (translate) -> downstream
 * sink. So a remapper must not call set_route or ir_sink_invalidate while
 * holding a lock its translate takes (AMD-Vi calls its invalidation
 * listener outside its own locks). send_msi takes no ir_sink lock, so a
 * remapper may send its own event interrupts through the sink from inside
 * translate (rid not owned -> straight downstream).
 */
#ifndef SLUICE_IOMMU_IR_SINK_H
#define SLUICE_IOMMU_IR_SINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"

#define IR_SINK_MAX_REMAPPERS 4
/* Same capacity as vmm/irq_routing.h IRQ_ROUTING_MAX_GSI. */
#define IR_SINK_MAX_GSI 1024

struct ir_remapper {
    /* 0: out_* filled (remapped or passthrough); -EPERM: blocked. */
    int (*translate)(void *opaque, uint16_t rid, uint64_t addr, uint32_t data,
                     uint64_t *out_addr, uint32_t *out_data);
    /* Is requester `rid` behind this remapper? */
    bool (*owns)(void *opaque, uint16_t rid);
    void *opaque;
};

/* Private state; fields are not part of the contract. */
struct ir_sink_route {
    bool recorded;        /* set_route seen since alloc/free */
    bool enabled;         /* what the device asked for */
    int owner;            /* remapper index, or -1 (not remapped) */
    uint16_t rid;
    uint64_t addr;
    uint32_t data;
    bool installed;       /* a route is installed downstream */
    bool dirty;           /* last downstream call failed: state unknown */
    uint64_t out_addr;    /* the installed (translated) message */
    uint32_t out_data;
};

struct ir_sink;

/* Handle for one registered remapper; its address is a valid opaque for
 * ir_sink_remapper_invalidated. */
struct ir_sink_slot {
    struct ir_sink *sink;
    int index;
    struct ir_remapper r;
};

struct ir_sink_stats {
    uint64_t msis_remapped, msis_blocked, msis_passthrough;
    uint64_t routes_installed, routes_removed, retranslations;
};

struct ir_sink {
    struct msi_sink down;
    unsigned nr_remappers;
    struct ir_sink_slot slots[IR_SINK_MAX_REMAPPERS];
    pthread_mutex_t lock;  /* guards routes[] and stats route counters */
    struct ir_sink_route routes[IR_SINK_MAX_GSI];
    struct ir_sink_stats stats;
};

/* `down` is copied; it needs send_msi and set_route. Returns 0 or -EINVAL. */
int ir_sink_init(struct ir_sink *s, const struct msi_sink *down)
    __attribute__((warn_unused_result));
void ir_sink_destroy(struct ir_sink *s);

/* Register a remapper (translate and owns required). Returns its index
 * (>= 0), -EINVAL or -ENOSPC. Only while no other thread uses the sink
 * (before vCPUs and I/O threads run); routes recorded before it was added
 * are translated by the next ir_sink_invalidate(.., all). */
int ir_sink_add_remapper(struct ir_sink *s, const struct ir_remapper *r)
    __attribute__((warn_unused_result));

/* The listener opaque for remapper `index` (NULL if out of range), e.g.
 * struct amdvi_ir_listener l = { ir_sink_remapper_invalidated,
 *                                ir_sink_remapper_slot(s, idx) }; */
void *ir_sink_remapper_slot(struct ir_sink *s, int index);

/* The msi_sink to hand to devices and the IOAPIC; valid while `s` lives. */
struct msi_sink ir_sink_msi_sink(struct ir_sink *s);

/* Re-translate the recorded routes owned by remapper `index`: those of
 * requester `rid`, or every one when `all`. Routes whose translation
 * changed are re-installed (or removed when now blocked) downstream.
 * Returns 0, -EINVAL (bad index) or the first downstream error (the
 * remaining routes are still processed). */
int ir_sink_invalidate(struct ir_sink *s, int index, uint16_t rid, bool all);

/* Listener-shaped wrapper: `slot` from ir_sink_remapper_slot. Errors are
 * logged (rate-limited). Matches amdvi_ir_listener.invalidate. */
void ir_sink_remapper_invalidated(void *slot, uint16_t rid, bool all);

/* Snapshot of the counters (under the lock). */
struct ir_sink_stats ir_sink_get_stats(struct ir_sink *s);

#endif
