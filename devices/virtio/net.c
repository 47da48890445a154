/* SPDX-License-Identifier: MIT */
/*
 * virtio-net device on a tap: receive from the tap into the rx queue,
 * transmit from the tx queue to the tap, everything on the I/O thread.
 */
#define LOG_MODULE "virtio-net"

#include "devices/virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_ids.h>

#include "devices/bits.h"
#include "vmm/log.h"

#define NET_RX_QUEUE 0
#define NET_TX_QUEUE 1
#define NET_NQUEUES 2
/* Packets handled per I/O-thread turn before yielding to other fds. */
#define NET_RX_BUDGET 256
#define NET_TX_BUDGET 256
#define NET_TUN_PATH "/dev/net/tun"
/* QEMU's OUI with the locally administered use: 52:54:00:xx:xx:xx. */
static const uint8_t net_mac_prefix[3] = { 0x52, 0x54, 0x00 };
/* Offloads asked of the tap, in preference order of the probe. */
#define NET_TUN_OFFLOADS_ALL (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

struct virtio_net {
    struct virtio_pci *vp;
    char name[32];
    char tap[IFNAMSIZ];
    int tap_fd;
    int tx_kick;                    /* eventfd: transmit budget ran out, go on */
    unsigned tap_offloads;          /* TUN_F_* the tap accepts */
    struct virtio_net_config cfg;   /* little endian, constant after create */

    bool active;                    /* DRIVER_OK seen, not reset since */
    bool broken;                    /* device error reported */
    bool mrg_rxbuf;
    bool rx_watching;               /* tap fd watched for EPOLLIN */
    size_t rx_pending;              /* bytes of a packet read, not delivered */
    uint8_t rx_buf[VIRTIO_NET_MAX_PACKET];
    struct virtio_net_rx_scratch rx;
    struct virtqueue_chain tx_chain;
};

static atomic_uint net_count;

/* ---- queue paths (no device state) ---- */

/* Give back `n` chains popped but not pushed. */
static void unpop(struct virtqueue *vq, unsigned n)
{
    vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - n);
}

int virtio_net_rx_deliver(struct virtqueue *vq, struct virtio_net_rx_scratch *s, uint8_t *pkt,
                          size_t len, bool mrg)
{
    size_t off = 0;
    unsigned n = 0;
    __virtio16 nb;

    while (off < len) {
        struct virtqueue_chain *c = n == 0 ? &s->first : &s->chain;
        size_t room, chunk;
        int ret;

        if (n == VIRTQUEUE_MAX_SIZE) {
            unpop(vq, n);
            return -EMSGSIZE;
        }
        ret = virtqueue_pop(vq, c);
        if (ret < 0)
            return -EIO;
        if (ret == 0) {
            unpop(vq, n);
            return 0;
        }
        if (c->in_len == 0 || (n == 0 && c->in_len < VIRTIO_NET_HDR_LEN)) {
            LOG_RATELIMITED(LOG_LEVEL_WARN, "receive buffer of %llu bytes",
                            (unsigned long long)c->in_len);
            return -EIO;
        }
        room = c->in_len < len - off ? (size_t)c->in_len : len - off;
        if (!mrg && room < len) {
            LOG_RATELIMITED(LOG_LEVEL_WARN,
                            "packet of %zu bytes dropped: receive buffer of %zu bytes", len,
                            room);
            unpop(vq, 1);
            return -EMSGSIZE;
        }
        chunk = virtqueue_chain_write(c, 0, pkt + off, room);
        s->heads[n] = c->head;
        s->lens[n] = (uint32_t)chunk;
        off += chunk;
        n++;
    }
    /* The tap leaves num_buffers alone: fill it in, now that it is known. */
    nb = htole16((uint16_t)n);
    virtqueue_chain_write(&s->first, offsetof(struct virtio_net_hdr_v1, num_buffers), &nb,
                          sizeof(nb));
    for (unsigned i = 0; i < n; i++)
        if (virtqueue_push(vq, s->heads[i], s->lens[i]) < 0)
            return -EIO;
    return 1;
}

int virtio_net_tx_chain(int fd, const struct virtqueue_chain *c)
{
    ssize_t ret;

    if (c->out_len < VIRTIO_NET_HDR_LEN) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "transmit buffer of %llu bytes dropped",
                        (unsigned long long)c->out_len);
        return -EINVAL;
    }
    do {
        ret = writev(fd, c->iov, (int)c->out_num);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        int err = errno;
        /* A full tap queue drops, as a wire would. */
        if (err != EAGAIN && err != ENOBUFS)
            LOG_RATELIMITED(LOG_LEVEL_WARN, "tap write: %s", strerror(err));
        return -err;
    }
    return 0;
}

/* ---- receive ---- */

static void net_fail(struct virtio_net *n, const char *why)
{
    n->broken = true;
    virtio_pci_device_error(n->vp, why);
}

static void rx_watch(struct virtio_net *n, bool on)
{
    if (n->rx_watching == on)
        return;
    if (io_thread_modify(virtio_pci_io_thread(n->vp), n->tap_fd, on ? EPOLLIN : 0) < 0)
        LOG_ERR("%s: cannot %s watching tap %s", n->name, on ? "start" : "stop", n->tap);
    n->rx_watching = on;
}

/* Read the next packet into rx_buf unless one is pending. Returns true when
 * one is there. */
static bool rx_fetch(struct virtio_net *n)
{
    while (!n->rx_pending) {
        ssize_t got = read(n->tap_fd, n->rx_buf, sizeof(n->rx_buf));

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            if (errno != EAGAIN)
                LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: tap read: %s", n->name, strerror(errno));
            return false;
        }
        if ((size_t)got < VIRTIO_NET_HDR_LEN)
            continue; /* runt: drop */
        n->rx_pending = (size_t)got;
    }
    return true;
}

/* Deliver the pending packet; when out of buffers, ask for a notification,
 * look again, and stop watching the tap if there still are none.
 * Returns 1 delivered, 0 stalled, -EIO broken. */
static int rx_deliver_pending(struct virtio_net *n, struct virtqueue *vq)
{
    int ret = virtio_net_rx_deliver(vq, &n->rx, n->rx_buf, n->rx_pending, n->mrg_rxbuf);

    if (ret == 0) {
        virtqueue_set_notification(vq, true);
        ret = virtio_net_rx_deliver(vq, &n->rx, n->rx_buf, n->rx_pending, n->mrg_rxbuf);
        if (ret == 0) {
            rx_watch(n, false);
            return 0;
        }
        virtqueue_set_notification(vq, false);
    }
    if (ret == -EIO)
        return -EIO;
    n->rx_pending = 0; /* delivered or dropped */
    return 1;
}

static void rx_process(struct virtio_net *n)
{
    struct virtqueue *vq = virtio_pci_queue(n->vp, NET_RX_QUEUE);
    bool pushed = false;

    if (!n->active || n->broken || !vq || !vq->ready)
        return;
    for (unsigned budget = NET_RX_BUDGET; budget > 0; budget--) {
        int ret;

        if (!rx_fetch(n))
            break;
        ret = rx_deliver_pending(n, vq);
        if (ret < 0) {
            net_fail(n, "malformed receive queue");
            break;
        }
        if (ret == 0)
            break;
        pushed = true;
    }
    if (pushed)
        virtio_pci_queue_interrupt(n->vp, NET_RX_QUEUE);
}

static void on_tap(void *opaque, uint32_t events)
{
    rx_process(opaque);
}

/* ---- transmit ---- */

/* Pop, send and push one chain: 1 done, 0 queue empty, -EIO broken. */
static int tx_one(struct virtio_net *n, struct virtqueue *vq)
{
    int ret = virtqueue_pop(vq, &n->tx_chain);

    if (ret <= 0)
        return ret < 0 ? -EIO : 0;
    (void)virtio_net_tx_chain(n->tap_fd, &n->tx_chain);
    return virtqueue_push(vq, n->tx_chain.head, 0) < 0 ? -EIO : 1;
}

static void tx_process(struct virtio_net *n)
{
    struct virtqueue *vq = virtio_pci_queue(n->vp, NET_TX_QUEUE);
    unsigned budget = NET_TX_BUDGET;
    bool pushed = false;
    int ret = 0;

    if (!n->active || n->broken || !vq || !vq->ready)
        return;
    virtqueue_set_notification(vq, false);
    while (budget > 0) {
        ret = tx_one(n, vq);
        if (ret > 0) {
            pushed = true;
            budget--;
            continue;
        }
        if (ret < 0)
            break;
        /* empty: re-enable, then look again so no buffer waits for a kick */
        virtqueue_set_notification(vq, true);
        ret = tx_one(n, vq);
        if (ret <= 0)
            break;
        pushed = true;
        budget--;
        virtqueue_set_notification(vq, false);
    }
    if (ret < 0)
        net_fail(n, "malformed transmit queue");
    else if (budget == 0 && eventfd_write(n->tx_kick, 1) < 0)
        LOG_ERR("%s: tx kick: %s", n->name, strerror(errno));
    if (pushed)
        virtio_pci_queue_interrupt(n->vp, NET_TX_QUEUE);
}

static void on_tx_kick(void *opaque, uint32_t events)
{
    struct virtio_net *n = opaque;
    eventfd_t v;

    (void)eventfd_read(n->tx_kick, &v);
    tx_process(n);
}

/* ---- virtio device ops ---- */

static void net_config_read(void *opaque, uint32_t off, void *data, unsigned size)
{
    struct virtio_net *n = opaque;

    if (off > sizeof(n->cfg) || size > sizeof(n->cfg) - off) {
        memset(data, 0xff, size);
        return;
    }
    memcpy(data, (const uint8_t *)&n->cfg + off, size);
}

static void net_config_write(void *opaque, uint32_t off, const void *data, unsigned size)
{
    struct virtio_net *n = opaque;

    LOG_RATELIMITED(LOG_LEVEL_DEBUG, "%s: config write at 0x%x dropped", n->name, off);
}

/* TUN_F_* for the guest offloads the driver accepted. A driver may accept
 * combinations the spec forbids (5.1.3.1: TSO needs GUEST_CSUM, ECN needs
 * TSO) and tun refuses: those offloads are dropped, so the tap simply sends
 * plain packets, which every driver accepts. */
static unsigned guest_offloads(uint64_t f)
{
    unsigned o = 0;

    if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
        return 0;
    o |= TUN_F_CSUM;
    if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
        o |= TUN_F_TSO4;
    if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
        o |= TUN_F_TSO6;
    if ((f & BIT(VIRTIO_NET_F_GUEST_ECN)) && (o & (TUN_F_TSO4 | TUN_F_TSO6)))
        o |= TUN_F_TSO_ECN;
    return o;
}

static int net_activate(void *opaque)
{
    struct virtio_net *n = opaque;
    uint64_t f = virtio_pci_driver_features(n->vp);
    unsigned offloads = guest_offloads(f) & n->tap_offloads;
    struct virtqueue *rx = virtio_pci_queue(n->vp, NET_RX_QUEUE);

    if (ioctl(n->tap_fd, TUNSETOFFLOAD, offloads) < 0) {
        int ret = -errno;
        LOG_RATELIMITED(LOG_LEVEL_WARN, "%s: tap %s: TUNSETOFFLOAD 0x%x: %s", n->name, n->tap,
                        offloads, strerror(-ret));
        return ret;
    }
    n->mrg_rxbuf = f & BIT(VIRTIO_NET_F_MRG_RXBUF);
    n->broken = false;
    n->rx_pending = 0;
    n->active = true;
    /* rx notifications only matter once the buffers ran out */
    if (rx && rx->ready)
        virtqueue_set_notification(rx, false);
    rx_watch(n, true);
    return 0;
}

static void net_queue_notify(void *opaque, unsigned q)
{
    struct virtio_net *n = opaque;
    struct virtqueue *rx;

    if (q == NET_TX_QUEUE) {
        tx_process(n);
        return;
    }
    if (q != NET_RX_QUEUE || !n->active || n->broken)
        return;
    /* new receive buffers: quiet the queue again, resume reading the tap */
    rx = virtio_pci_queue(n->vp, NET_RX_QUEUE);
    if (rx && rx->ready)
        virtqueue_set_notification(rx, false);
    rx_watch(n, true);
    rx_process(n);
}

static void net_reset(void *opaque)
{
    struct virtio_net *n = opaque;

    n->active = false;
    n->broken = false;
    n->rx_pending = 0;
    rx_watch(n, false);
    if (ioctl(n->tap_fd, TUNSETOFFLOAD, 0) < 0)
        LOG_WARN("%s: tap %s: clearing offloads: %s", n->name, n->tap, strerror(errno));
}

static const struct virtio_device_ops net_ops = {
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

/* ---- the tap ---- */

static const char *tap_cause(int err)
{
    switch (err) {
    case ENOENT:
    case ENODEV:
        return "no " NET_TUN_PATH " (is the tun module loaded?)";
    case EPERM:
    case EACCES:
        return "permission denied: needs CAP_NET_ADMIN, or a tap created for this user "
               "(ip tuntap add NAME mode tap user USER)";
    case EBUSY:
        return "busy: attached to another process";
    case EINVAL:
        return "exists but is not a tap with a vnet header (or has other flags)";
    default:
        return strerror(err);
    }
}

/* Which offloads does the tap take? Leaves them off. */
static unsigned probe_offloads(int fd)
{
    static const unsigned tries[] = { NET_TUN_OFFLOADS_ALL, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
                                      TUN_F_CSUM };
    unsigned found = 0;

    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        if (ioctl(fd, TUNSETOFFLOAD, tries[i]) == 0) {
            found = tries[i];
            break;
        }
    }
    if (ioctl(fd, TUNSETOFFLOAD, 0) < 0)
        LOG_WARN("clearing tap offloads: %s", strerror(errno));
    return found;
}

static int tap_open(struct virtio_net *n, const char *name, char *err, size_t errlen)
{
    struct ifreq ifr;
    int hdr_len = VIRTIO_NET_HDR_LEN;
    int ret;

    if (!name || !name[0] || strlen(name) >= IFNAMSIZ) {
        snprintf(err, errlen, "net tap '%s': name must be 1..%d characters", name ? name : "",
                 IFNAMSIZ - 1);
        return -EINVAL;
    }
    snprintf(n->tap, sizeof(n->tap), "%s", name);
    n->tap_fd = open(NET_TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (n->tap_fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "net tap %s: cannot open " NET_TUN_PATH ": %s", name,
                 tap_cause(-ret));
        return ret;
    }
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, n->tap, sizeof(ifr.ifr_name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(n->tap_fd, TUNSETIFF, &ifr) < 0) {
        ret = -errno;
        snprintf(err, errlen, "net tap %s: %s", name, tap_cause(-ret));
        goto close_fd;
    }
    if (ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
        ret = -errno;
        snprintf(err, errlen, "net tap %s: cannot set the vnet header size: %s", name,
                 strerror(-ret));
        goto close_fd;
    }
    n->tap_offloads = probe_offloads(n->tap_fd);
    return 0;

close_fd:
    close(n->tap_fd);
    n->tap_fd = -1;
    return ret;
}

/* ---- lifetime ---- */

static uint64_t net_features(const struct virtio_net *n)
{
    /* The tap takes checksum and segmentation work from the guest whenever it
     * has a vnet header; what it hands the guest depends on its offloads. */
    uint64_t f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
                 BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
                 BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN);

    if (n->tap_offloads & TUN_F_CSUM)
        f |= BIT(VIRTIO_NET_F_GUEST_CSUM);
    if (n->tap_offloads & TUN_F_TSO4)
        f |= BIT(VIRTIO_NET_F_GUEST_TSO4);
    if (n->tap_offloads & TUN_F_TSO6)
        f |= BIT(VIRTIO_NET_F_GUEST_TSO6);
    if (n->tap_offloads & TUN_F_TSO_ECN)
        f |= BIT(VIRTIO_NET_F_GUEST_ECN);
    return f;
}

static int build_config(struct virtio_net *n, const struct virtio_net_options *o)
{
    struct virtio_net_config *c = &n->cfg;

    memset(c, 0, sizeof(*c));
    if (o->mac_set) {
        memcpy(c->mac, o->mac, sizeof(c->mac));
    } else {
        memcpy(c->mac, net_mac_prefix, sizeof(net_mac_prefix));
        if (getrandom(c->mac + sizeof(net_mac_prefix), sizeof(c->mac) - sizeof(net_mac_prefix),
                      0) != (ssize_t)(sizeof(c->mac) - sizeof(net_mac_prefix)))
            return -errno;
    }
    c->status = htole16(VIRTIO_NET_S_LINK_UP);
    c->max_virtqueue_pairs = htole16(1);
    return 0;
}

static int watch_fds(struct virtio_net *n)
{
    struct io_thread *t = virtio_pci_io_thread(n->vp);
    int ret = io_thread_add(t, n->tx_kick, EPOLLIN, on_tx_kick, n);

    if (ret < 0)
        return ret;
    /* the tap is watched from activation on, while there are rx buffers */
    ret = io_thread_add(t, n->tap_fd, 0, on_tap, n);
    if (ret < 0)
        io_thread_remove(t, n->tx_kick);
    return ret;
}

int virtio_net_create(const struct virtio_net_options *o, const struct virtio_pci_config *transport,
                      struct virtio_net **out, char *err, size_t errlen)
{
    struct virtio_pci_config cfg = *transport;
    struct virtio_net *n;
    int ret;

    if (o->queue_pairs > 1) {
        snprintf(err, errlen, "net tap %s: %u queue pairs requested, only 1 is supported",
                 o->tap ? o->tap : "", o->queue_pairs);
        return -EINVAL;
    }
    n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, errlen, "net tap %s: out of memory", o->tap ? o->tap : "");
        return -ENOMEM;
    }
    snprintf(n->name, sizeof(n->name), "virtio-net%u", atomic_fetch_add(&net_count, 1));
    n->tx_kick = -1;
    ret = tap_open(n, o->tap, err, errlen);
    if (ret < 0)
        goto free_n;
    n->tx_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (n->tx_kick < 0) {
        ret = -errno;
        snprintf(err, errlen, "net tap %s: eventfd: %s", o->tap, strerror(-ret));
        goto close_tap;
    }
    ret = build_config(n, o);
    if (ret < 0) {
        snprintf(err, errlen, "net tap %s: random MAC: %s", o->tap, strerror(-ret));
        goto close_kick;
    }
    cfg.dev = (struct virtio_device_desc){
        .name = n->name,
        .device_id = VIRTIO_ID_NET,
        .class_code = VIRTIO_NET_PCI_CLASS_CODE,
        .features = net_features(n),
        .nqueues = NET_NQUEUES,
        .queue_max_size = VIRTIO_NET_QUEUE_SIZE,
        .config_size = sizeof(n->cfg),
        .ops = &net_ops,
        .opaque = n,
    };
    ret = virtio_pci_create(&cfg, &n->vp);
    if (ret < 0) {
        snprintf(err, errlen, "net tap %s: cannot create the virtio-pci function: %s", o->tap,
                 strerror(-ret));
        goto close_kick;
    }
    ret = watch_fds(n);
    if (ret < 0) {
        snprintf(err, errlen, "net tap %s: cannot watch the tap: %s", o->tap, strerror(-ret));
        goto destroy_vp;
    }
    LOG_INFO("%s: tap %s, mac %02x:%02x:%02x:%02x:%02x:%02x, offloads 0x%x", n->name, n->tap,
             n->cfg.mac[0], n->cfg.mac[1], n->cfg.mac[2], n->cfg.mac[3], n->cfg.mac[4],
             n->cfg.mac[5], n->tap_offloads);
    *out = n;
    return 0;

destroy_vp:
    virtio_pci_destroy(n->vp);
close_kick:
    close(n->tx_kick);
close_tap:
    close(n->tap_fd);
free_n:
    free(n);
    return ret;
}

struct virtio_pci *virtio_net_virtio_pci(struct virtio_net *n)
{
    return n->vp;
}

void virtio_net_destroy(struct virtio_net *n)
{
    if (!n)
        return;
    virtio_pci_destroy(n->vp); /* joins the I/O thread */
    close(n->tx_kick);
    close(n->tap_fd);
    free(n);
}
