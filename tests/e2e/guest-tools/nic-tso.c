/* SPDX-License-Identifier: MIT */
/*
 * nic-tso IFNAME [on|off]: show or set a NIC's TCP segmentation offload
 * (the ETHTOOL_GTSO / ETHTOOL_STSO ioctls; busybox has no ethtool).
 * Prints "NIC-TSO IFNAME on|off" (the state after any change) and exits 0;
 * 1 when the ioctl fails (explained on stderr), 2 for a usage error.
 *
 * Why the e2e scenarios need it: the VFIO test bed's e1000e is QEMU 7.2's
 * model with a UDP socket backend (no virtio-net header), and that model
 * turns a TSO frame into IP fragments or sends it unsegmented (seen in a
 * capture on the test host), which stalls a TCP upload. Segmenting in the
 * guest's stack avoids the emulated NIC's software path.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int tso_ioctl(int sock, const char *ifname, struct ethtool_value *ev)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)ev;
    return ioctl(sock, SIOCETHTOOL, &ifr);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || strlen(argv[1]) >= IFNAMSIZ ||
        (argc == 3 && strcmp(argv[2], "on") && strcmp(argv[2], "off"))) {
        fprintf(stderr, "usage: nic-tso IFNAME [on|off]\n");
        return 2;
    }
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0) {
        perror("nic-tso: socket");
        return 1;
    }
    int rc = 0;
    struct ethtool_value ev = { .cmd = ETHTOOL_STSO };
    if (argc == 3) {
        ev.data = strcmp(argv[2], "on") == 0;
        if (tso_ioctl(sock, argv[1], &ev)) {
            fprintf(stderr, "nic-tso: %s: ETHTOOL_STSO: %s\n", argv[1], strerror(errno));
            rc = 1;
        }
    }
    ev.cmd = ETHTOOL_GTSO;
    ev.data = 0;
    if (!rc && tso_ioctl(sock, argv[1], &ev)) {
        fprintf(stderr, "nic-tso: %s: ETHTOOL_GTSO: %s\n", argv[1], strerror(errno));
        rc = 1;
    }
    if (!rc)
        printf("NIC-TSO %s %s\n", argv[1], ev.data ? "on" : "off");
    close(sock);
    return rc;
}
