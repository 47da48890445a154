/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over virtio-pci (virtio 1.2, 5.1) on a tap device: one queue
 * pair (rx 0, tx 1), the 12-byte virtio_net_hdr_v1 shared with the tap
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ), host offloads (checksum, TSO4/6, ECN)
 * passed through, mergeable receive buffers.
 *
 * All queue work runs on the device's I/O thread: the tap fd is watched there
 * while receive buffers are available (and not watched while the guest has
 * posted none, until it notifies the rx queue); transmit drains the tx queue
 * up to a budget per turn. The tap fd is non-blocking: the I/O thread never
 * blocks on it.
 *
 * Order: virtio_net_create -> pci_host_attach(virtio_pci_pci_device(virtio_net_virtio_pci())) ->
 * virtio_pci_start -> ... -> virtio_net_destroy (after the vCPUs stopped).
 * The device owns the tap fd and the virtio_pci function.
 */
#ifndef SLUICE_DEVICES_VIRTIO_NET_H
#define SLUICE_DEVICES_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtqueue.h"

/* PCI class code: network controller, Ethernet. */
#define VIRTIO_NET_PCI_CLASS_CODE 0x020000
#define VIRTIO_NET_QUEUE_SIZE 256
/* The header in front of every packet on the queues and on the tap. */
#define VIRTIO_NET_HDR_LEN sizeof(struct virtio_net_hdr_v1)
/* Largest packet read from the tap: header + 64 KiB GSO frame + Ethernet/VLAN. */
#define VIRTIO_NET_MAX_PACKET (VIRTIO_NET_HDR_LEN + 65536 + 18)

struct virtio_net_options {
    const char *tap;      /* interface name */
    uint8_t mac[6];
    bool mac_set;         /* else 52:54:00:xx:xx:xx with a random tail */
    unsigned queue_pairs; /* 0 or 1 (more are refused for now) */
};

struct virtio_net;

/*
 * Open /dev/net/tun and attach to the tap `o->tap` (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR), set the header size, probe the offloads, and build the
 * virtio-pci function from `transport` (.dev ignored and filled). Returns 0,
 * or -errno with one line in err naming the tap and the cause (no
 * /dev/net/tun, permission: needs CAP_NET_ADMIN or a tap owned by the user,
 * busy) and nothing left open.
 */
int virtio_net_create(const struct virtio_net_options *o, const struct virtio_pci_config *transport,
                      struct virtio_net **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
struct virtio_pci *virtio_net_virtio_pci(struct virtio_net *n);
/* NULL ok. */
void virtio_net_destroy(struct virtio_net *n);

/* ---- the queue paths, exposed for tests (no transport, any fd) ---- */

/* Scratch for delivering one received packet: two chains and the heads. */
struct virtio_net_rx_scratch {
    struct virtqueue_chain first, chain;
    uint16_t heads[VIRTQUEUE_MAX_SIZE];
    uint32_t lens[VIRTQUEUE_MAX_SIZE];
};

/*
 * Deliver one packet (`pkt`: the vnet header then the frame, len bytes, len
 * >= VIRTIO_NET_HDR_LEN) into receive chains popped from vq, with mergeable
 * buffers (`mrg`) spread over as many chains as needed, num_buffers set in
 * the header. Returns 1 delivered and pushed (no interrupt raised), 0 not
 * enough buffers (nothing consumed: the chains popped are given back),
 * -EMSGSIZE dropped because it does not fit one buffer without `mrg`
 * (nothing consumed), -EIO malformed queue or buffer (device error).
 */
int virtio_net_rx_deliver(struct virtqueue *vq, struct virtio_net_rx_scratch *s, uint8_t *pkt,
                          size_t len, bool mrg) __attribute__((warn_unused_result));

/* Send one popped transmit chain (vnet header then the frame, in its readable
 * part) to fd. Returns 0 sent, or -errno when it was dropped (short header,
 * fd error); the caller pushes the chain with 0 bytes written either way. */
int virtio_net_tx_chain(int fd, const struct virtqueue_chain *c);

#endif
