/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (the PC's COM port): registers in devices/uart_regs.h.
 *
 * Register it on the PIO bus at LAYOUT_PORT_COM1 with
 *     bus_register(pio, LAYOUT_PORT_COM1, UART_BUS_LEN, &uart_bus_ops, uart,
 *                  UART_BUS_SIZES, UART_BUS_ALIGNED, "com1")
 * i.e. 8 one-byte registers, byte accesses only. Its interrupt output drives
 * the irq_line given at create (IOAPIC pin LAYOUT_IRQ_COM1); the line is high
 * while IIR reports an interrupt (not gated by MCR.OUT2, like QEMU/kvmtool).
 *
 * Model: transmission is instantaneous (THRE and TEMT are always set after a
 * THR write; the THRE interrupt is raised again at once), the receiver has a
 * 16-byte FIFO (1 byte with FIFOs disabled). The character-timeout
 * indication is immediate: input arrives in bursts through uart_receive(),
 * so once it returns the line is idle and data below the trigger level is
 * reported as IIR "character timeout" rather than waiting 4 character times.
 * Host input never overruns: uart_receive() accepts only what fits and the
 * I/O thread waits on uart_rx_space_fd(). Only loopback traffic can overrun.
 *
 * Threads: the bus callbacks may run on any vCPU thread, uart_receive() and
 * the other helpers on any thread; one mutex inside serialises them. The irq
 * line and the output callback are called with that mutex held (lock order:
 * uart -> ioapic -> msi sink); neither may call back into the uart.
 */
#ifndef SLUICE_DEVICES_UART_H
#define SLUICE_DEVICES_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/uart_regs.h"

struct uart;

/*
 * Where transmitted bytes go: `output` (NULL: discarded) is called with the
 * uart mutex held, must not block for long, and returns how many bytes it took
 * (the rest are counted as dropped). Buffering and the host fd are the
 * caller's business (sluice uses vmm/console_out.h).
 */
struct uart_config {
    struct irq_line irq;  /* copied; irq.opaque must outlive the uart */
    size_t (*output)(void *opaque, const uint8_t *buf, size_t len);
    void *output_opaque;
};

struct uart_stats {
    uint64_t tx_bytes;    /* bytes the guest transmitted (not in loopback) */
    uint64_t tx_dropped;  /* of those, bytes the output could not take */
    uint64_t rx_bytes;    /* bytes accepted by uart_receive() */
    uint64_t rx_overruns; /* loopback bytes lost to a full receiver (LSR.OE) */
};

/*
 * Create a UART in its reset state (IER=0, LCR=0, MCR=0, FIFOs off, THR empty,
 * CTS/DSR/DCD asserted). `cfg` is copied. On success stores the new uart in
 * *out and returns 0; returns -EINVAL (cfg/out NULL), -ENOMEM, or -errno from
 * eventfd()/pthread_mutex_init(). Nothing is left allocated on failure.
 */
int uart_create(const struct uart_config *cfg, struct uart **out)
    __attribute__((warn_unused_result));

/* Free the uart and close its rx-space eventfd. It must already be
 * unregistered from the bus and no thread may call into it. NULL is a no-op. */
void uart_destroy(struct uart *uart);

/* Bus callbacks; opaque is the struct uart *. */
extern const struct bus_ops uart_bus_ops;
#define UART_BUS_LEN UART_REGS_LEN
#define UART_BUS_SIZES BUS_SIZE_1
#define UART_BUS_ALIGNED true

/*
 * Host input for the guest: push up to `len` bytes into the receiver. Returns
 * how many were accepted (0 .. len), limited by the free receiver space; 0
 * while the UART is in loopback mode (the serial input is disconnected).
 * When fewer than `len` were accepted, uart_rx_space_fd() becomes readable
 * once the guest makes room (reads RBR, resets/toggles the FIFO, leaves
 * loopback); the caller then drains it and calls uart_receive() again.
 */
size_t uart_receive(struct uart *uart, const uint8_t *buf, size_t len);

/* Bytes uart_receive() would accept right now. */
size_t uart_rx_space(struct uart *uart);

/*
 * An eventfd (EFD_NONBLOCK, owned by the uart, valid until uart_destroy) that
 * is signalled when receive space appears after a uart_receive() that could
 * not take everything. The I/O thread polls it for POLLIN and read()s it to
 * reset it. Spurious wake-ups are possible: check uart_rx_space().
 */
int uart_rx_space_fd(const struct uart *uart);

/* Snapshot of the counters. */
void uart_get_stats(struct uart *uart, struct uart_stats *stats);

#endif
