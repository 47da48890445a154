/* SPDX-License-Identifier: MIT */
#define LOG_MODULE "uart"
#include "devices/uart.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

/* Receiver trigger levels selected by FCR[7:6] (PC16550D table "FCR bits"). */
static const unsigned uart_rx_trigger_levels[] = { 1, 4, 8, 14 };

/* Reset value of the divisor latch: 115200 baud with the PC's 1.8432 MHz clock. */
#define UART_RESET_DIVISOR 1

struct uart {
    pthread_mutex_t lock;

    /* Wiring, fixed at create. */
    struct irq_line irq;
    size_t (*output)(void *opaque, const uint8_t *buf, size_t len);
    void *output_opaque;
    int rx_space_fd;

    /* Register file. lsr holds only the sticky error bits (OE/PE/FE/BI): DR
     * follows the FIFO and THRE/TEMT are always set. msr holds the status bits
     * and the latched delta bits. */
    uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
    bool thr_ipending;     /* THRE interrupt armed (cleared by IIR read / THR write) */

    /* Receiver FIFO (ring). */
    uint8_t rx_fifo[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
    uint8_t rbr_last;      /* what RBR reads when the receiver is empty */

    bool irq_level;        /* last level driven on the irq line */
    bool rx_waiting;       /* uart_receive() was short: signal rx_space_fd */
    struct uart_stats stats;
};

/* ---- receiver ---------------------------------------------------------- */

static bool uart_fifo_enabled(const struct uart *u)
{
    return u->fcr & UART_FCR_FIFO_ENABLE;
}

static unsigned uart_rx_capacity(const struct uart *u)
{
    return uart_fifo_enabled(u) ? UART_FIFO_SIZE : 1;
}

static unsigned uart_rx_trigger(const struct uart *u)
{
    return uart_rx_trigger_levels[FIELD_GET(UART_FCR_RCVR_TRIGGER, u->fcr)];
}

/* Tell the I/O thread there is room again, if it is waiting for that. */
static void uart_rx_space_notify(struct uart *u)
{
    if (!u->rx_waiting || uart_rx_capacity(u) == u->rx_count || (u->mcr & UART_MCR_LOOP))
        return;
    u->rx_waiting = false;
    uint64_t one = 1;
    /* Non-blocking: EAGAIN only if the counter is saturated, i.e. already signalled. */
    if (write(u->rx_space_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        LOG_RATELIMITED(LOG_LEVEL_WARN, "rx-space eventfd write failed: %s", strerror(errno));
}

static void uart_rx_clear(struct uart *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
    uart_rx_space_notify(u);
}

static void uart_rx_put(struct uart *u, uint8_t byte)
{
    u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
    u->rx_count++;
}

/* A byte arrives from the (loopback) serial input: may overrun. */
static void uart_rx_from_line(struct uart *u, uint8_t byte)
{
    if (u->rx_count < uart_rx_capacity(u)) {
        uart_rx_put(u, byte);
        return;
    }
    u->lsr |= UART_LSR_OE;
    u->stats.rx_overruns++;
    /* Without FIFOs the new character overwrites RBR; with FIFOs the one in
     * the shift register is lost and the FIFO is kept. */
    if (!uart_fifo_enabled(u))
        u->rx_fifo[u->rx_head] = byte;
}

/* ---- transmitter --------------------------------------------------------- */

static void uart_emit(struct uart *u, uint8_t byte)
{
    u->stats.tx_bytes++;
    if (!u->output)
        return;
    if (u->output(u->output_opaque, &byte, 1) != 1)
        u->stats.tx_dropped++;
}

/* ---- modem lines --------------------------------------------------------- */

/* MSR[7:4] as the modem inputs currently drive them. */
static uint8_t uart_msr_inputs(const struct uart *u)
{
    if (!(u->mcr & UART_MCR_LOOP))
        return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD; /* a cable that is always ready */
    /* Loopback: the outputs are wired back to the inputs. */
    uint8_t v = 0;
    if (u->mcr & UART_MCR_RTS)
        v |= UART_MSR_CTS;
    if (u->mcr & UART_MCR_DTR)
        v |= UART_MSR_DSR;
    if (u->mcr & UART_MCR_OUT1)
        v |= UART_MSR_RI;
    if (u->mcr & UART_MCR_OUT2)
        v |= UART_MSR_DCD;
    return v;
}

static void uart_msr_update(struct uart *u)
{
    uint8_t old = u->msr, now = uart_msr_inputs(u);
    uint8_t changed = old ^ now;
    uint8_t delta = 0;
    if (changed & UART_MSR_CTS)
        delta |= UART_MSR_DCTS;
    if (changed & UART_MSR_DSR)
        delta |= UART_MSR_DDSR;
    if (changed & UART_MSR_DCD)
        delta |= UART_MSR_DDCD;
    if ((old & UART_MSR_RI) && !(now & UART_MSR_RI)) /* trailing edge only */
        delta |= UART_MSR_TERI;
    u->msr = (uint8_t)(now | (old & UART_MSR_DELTA) | delta);
}

/* ---- interrupts ---------------------------------------------------------- */

/* The pending interrupt of highest priority, as IIR[3:0] reports it. */
static uint8_t uart_iir_id(const struct uart *u)
{
    if ((u->ier & UART_IER_ELSI) && (u->lsr & UART_LSR_INT_ANY))
        return UART_IIR_ID_RLS;
    if ((u->ier & UART_IER_ERBFI) && u->rx_count) {
        if (!uart_fifo_enabled(u) || u->rx_count >= uart_rx_trigger(u))
            return UART_IIR_ID_RDA;
        return UART_IIR_ID_CTI;
    }
    if ((u->ier & UART_IER_ETBEI) && u->thr_ipending)
        return UART_IIR_ID_THRE;
    if ((u->ier & UART_IER_EDSSI) && (u->msr & UART_MSR_DELTA))
        return UART_IIR_ID_MS;
    return UART_IIR_NO_INT;
}

static void uart_update_irq(struct uart *u)
{
    bool level = uart_iir_id(u) != UART_IIR_NO_INT;
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    irq_line_set(&u->irq, level);
}

/* ---- registers ------------------------------------------------------------ */

struct uart_reg;
typedef uint8_t (*uart_read_fn)(struct uart *u, const struct uart_reg *r);
typedef void (*uart_write_fn)(struct uart *u, const struct uart_reg *r, uint8_t val);

/*
 * One row per (DLAB, offset). Plain registers are a shadow byte (`field`)
 * with a writable mask and an optional side effect after the merge; the
 * others have their own read/write handlers.
 */
struct uart_reg {
    const char *name;
    size_t field;          /* offsetof(struct uart, x), for the shadow handlers */
    uint8_t wmask;
    uart_read_fn read;
    uart_write_fn write;
    void (*after_write)(struct uart *u, uint8_t old);
};

static uint8_t *uart_field(struct uart *u, const struct uart_reg *r)
{
    return (uint8_t *)u + r->field;
}

static uint8_t uart_shadow_read(struct uart *u, const struct uart_reg *r)
{
    return *uart_field(u, r);
}

static void uart_shadow_write(struct uart *u, const struct uart_reg *r, uint8_t val)
{
    uint8_t *f = uart_field(u, r);
    uint8_t old = *f;
    *f = (uint8_t)((old & ~r->wmask) | (val & r->wmask));
    if (r->after_write)
        r->after_write(u, old);
}

static uint8_t uart_rbr_read(struct uart *u, const struct uart_reg *r)
{
    if (!u->rx_count)
        return u->rbr_last;
    u->rbr_last = u->rx_fifo[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
    u->rx_count--;
    uart_rx_space_notify(u);
    return u->rbr_last;
}

static void uart_thr_write(struct uart *u, const struct uart_reg *r, uint8_t val)
{
    u->thr_ipending = false;
    if (u->mcr & UART_MCR_LOOP)
        uart_rx_from_line(u, val);
    else
        uart_emit(u, val);
    /* The byte left at once: THR is empty again, which re-arms THRE. */
    u->thr_ipending = u->ier & UART_IER_ETBEI;
}

static void uart_ier_after_write(struct uart *u, uint8_t old)
{
    /* Enabling ETBEI while THR is empty raises THRE (even if an IIR read had
     * cleared it before): Linux's UART_BUG_THRE probe and Windows rely on it. */
    if (!(u->ier & UART_IER_ETBEI))
        u->thr_ipending = false;
    else if (!(old & UART_IER_ETBEI))
        u->thr_ipending = true;
}

static uint8_t uart_iir_read(struct uart *u, const struct uart_reg *r)
{
    uint8_t id = uart_iir_id(u);
    if (id == UART_IIR_ID_THRE)
        u->thr_ipending = false; /* reading IIR with THRE as the source clears it */
    return (uint8_t)(id | (uart_fifo_enabled(u) ? UART_IIR_FIFOS_ENABLED : 0));
}

static void uart_fcr_write(struct uart *u, const struct uart_reg *r, uint8_t val)
{
    /* Changing FIFO enable clears both FIFOs; with FIFO enable clear the other
     * bits are not programmed. Reset bits self-clear; the TX FIFO is always
     * empty here. */
    if ((val ^ u->fcr) & UART_FCR_FIFO_ENABLE) {
        u->fcr = 0;
        uart_rx_clear(u);
    }
    if (!(val & UART_FCR_FIFO_ENABLE))
        return;
    u->fcr = (uint8_t)(val & r->wmask);
    if (val & UART_FCR_RCVR_RESET)
        uart_rx_clear(u);
}

static void uart_mcr_after_write(struct uart *u, uint8_t old)
{
    uart_msr_update(u);
    if ((old & UART_MCR_LOOP) && !(u->mcr & UART_MCR_LOOP))
        uart_rx_space_notify(u); /* the serial input is connected again */
}

static uint8_t uart_lsr_read(struct uart *u, const struct uart_reg *r)
{
    uint8_t v = (uint8_t)(u->lsr | UART_LSR_THRE | UART_LSR_TEMT);
    if (u->rx_count)
        v |= UART_LSR_DR;
    u->lsr &= (uint8_t)~UART_LSR_INT_ANY; /* reading LSR clears the error bits */
    return v;
}

static uint8_t uart_msr_read(struct uart *u, const struct uart_reg *r)
{
    uint8_t v = u->msr;
    u->msr &= (uint8_t)~UART_MSR_DELTA;
    return v;
}

static void uart_ignore_write(struct uart *u, const struct uart_reg *r, uint8_t val)
{
    LOG_RATELIMITED(LOG_LEVEL_DEBUG, "write 0x%02x to read-only %s ignored", val, r->name);
}

#define UART_SHADOW(nm, fld, mask, after)                                                    \
    { .name = nm, .field = offsetof(struct uart, fld), .wmask = (uint8_t)(mask),             \
      .read = uart_shadow_read, .write = uart_shadow_write, .after_write = after }

/* Registers at offsets 2..7 do not depend on DLAB. */
#define UART_COMMON_REGS                                                                     \
    [UART_IIR] = { .name = "IIR/FCR", .wmask = (uint8_t)(UART_FCR_FIFO_ENABLE |             \
                   UART_FCR_DMA_MODE | UART_FCR_RCVR_TRIGGER),                               \
                   .read = uart_iir_read, .write = uart_fcr_write },                         \
    [UART_LCR] = UART_SHADOW("LCR", lcr, 0xff, NULL),                                       \
    [UART_MCR] = UART_SHADOW("MCR", mcr, UART_MCR_MASK, uart_mcr_after_write),              \
    [UART_LSR] = { .name = "LSR", .read = uart_lsr_read, .write = uart_ignore_write },       \
    [UART_MSR] = { .name = "MSR", .read = uart_msr_read, .write = uart_ignore_write },       \
    [UART_SCR] = UART_SHADOW("SCR", scr, 0xff, NULL)

static const struct uart_reg uart_regs[2][UART_REG_COUNT] = {
    [0] = { /* DLAB = 0 */
        [UART_RBR] = { .name = "RBR/THR", .read = uart_rbr_read, .write = uart_thr_write },
        [UART_IER] = UART_SHADOW("IER", ier, UART_IER_MASK, uart_ier_after_write),
        UART_COMMON_REGS,
    },
    [1] = { /* DLAB = 1 */
        [UART_DLL] = UART_SHADOW("DLL", dll, 0xff, NULL),
        [UART_DLM] = UART_SHADOW("DLM", dlm, 0xff, NULL),
        UART_COMMON_REGS,
    },
};

static const struct uart_reg *uart_reg_at(const struct uart *u, uint64_t offset)
{
    return &uart_regs[(u->lcr & UART_LCR_DLAB) ? 1 : 0][offset];
}

static void uart_bus_read(void *opaque, uint64_t offset, void *data, unsigned size)
{
    struct uart *u = opaque;
    memset(data, 0xff, size);
    if (size != 1 || offset >= UART_REGS_LEN) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "bad read of size %u at offset 0x%llx", size,
                        (unsigned long long)offset);
        return;
    }
    pthread_mutex_lock(&u->lock);
    const struct uart_reg *r = uart_reg_at(u, offset);
    *(uint8_t *)data = r->read(u, r);
    uart_update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

static void uart_bus_write(void *opaque, uint64_t offset, const void *data, unsigned size)
{
    struct uart *u = opaque;
    if (size != 1 || offset >= UART_REGS_LEN) {
        LOG_RATELIMITED(LOG_LEVEL_WARN, "bad write of size %u at offset 0x%llx", size,
                        (unsigned long long)offset);
        return;
    }
    pthread_mutex_lock(&u->lock);
    const struct uart_reg *r = uart_reg_at(u, offset);
    r->write(u, r, *(const uint8_t *)data);
    uart_update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

const struct bus_ops uart_bus_ops = {
    .read = uart_bus_read,
    .write = uart_bus_write,
};

/* ---- public API ------------------------------------------------------------ */

int uart_create(const struct uart_config *cfg, struct uart **out)
{
    int ret;
    if (!cfg || !out)
        return -EINVAL;

    struct uart *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->irq = cfg->irq;
    u->output = cfg->output;
    u->output_opaque = cfg->output_opaque;
    u->dll = UART_RESET_DIVISOR;
    u->msr = uart_msr_inputs(u);

    u->rx_space_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (u->rx_space_fd < 0) {
        ret = -errno;
        goto free_uart;
    }
    ret = -pthread_mutex_init(&u->lock, NULL);
    if (ret)
        goto close_eventfd;

    *out = u;
    return 0;

close_eventfd:
    close(u->rx_space_fd);
free_uart:
    free(u);
    return ret;
}

void uart_destroy(struct uart *uart)
{
    if (!uart)
        return;
    pthread_mutex_destroy(&uart->lock);
    close(uart->rx_space_fd);
    free(uart);
}

size_t uart_receive(struct uart *uart, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    pthread_mutex_lock(&uart->lock);
    if (!(uart->mcr & UART_MCR_LOOP)) {
        while (n < len && uart->rx_count < uart_rx_capacity(uart))
            uart_rx_put(uart, buf[n++]);
    }
    uart->stats.rx_bytes += n;
    if (n < len)
        uart->rx_waiting = true;
    uart_update_irq(uart);
    pthread_mutex_unlock(&uart->lock);
    return n;
}

size_t uart_rx_space(struct uart *uart)
{
    pthread_mutex_lock(&uart->lock);
    size_t space = (uart->mcr & UART_MCR_LOOP) ? 0 : uart_rx_capacity(uart) - uart->rx_count;
    pthread_mutex_unlock(&uart->lock);
    return space;
}

int uart_rx_space_fd(const struct uart *uart)
{
    return uart->rx_space_fd;
}

void uart_get_stats(struct uart *uart, struct uart_stats *stats)
{
    pthread_mutex_lock(&uart->lock);
    *stats = uart->stats;
    pthread_mutex_unlock(&uart->lock);
}
