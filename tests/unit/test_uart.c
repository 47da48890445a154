/* SPDX-License-Identifier: MIT */
/* 16550A UART model, driven through its bus callbacks and public API. */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "devices/uart.h"
#include "tests/unit/check.h"

/* ---- fakes ---------------------------------------------------------------- */

struct fake_line {
    bool level;
    unsigned raises, lowers;
    unsigned pin;
};

static void fake_set_level(void *opaque, unsigned pin, bool level)
{
    struct fake_line *l = opaque;
    l->pin = pin;
    if (level && !l->level)
        l->raises++;
    if (!level && l->level)
        l->lowers++;
    l->level = level;
}

struct fake_out {
    uint8_t buf[256];
    size_t len;
    size_t room; /* how many more bytes it accepts */
};

static size_t fake_output(void *opaque, const uint8_t *buf, size_t len)
{
    struct fake_out *o = opaque;
    size_t n = 0;
    while (n < len && o->room && o->len < sizeof(o->buf)) {
        o->buf[o->len++] = buf[n++];
        o->room--;
    }
    return n;
}

static struct fake_line line;
static struct fake_out out;

static struct uart *make_uart(void)
{
    memset(&line, 0, sizeof(line));
    memset(&out, 0, sizeof(out));
    out.room = sizeof(out.buf);
    struct uart_config cfg = {
        .irq = { .set_level = fake_set_level, .opaque = &line, .pin = 4 },
        .output = fake_output,
        .output_opaque = &out,
    };
    struct uart *u = NULL;
    CHECK_EQ(uart_create(&cfg, &u), 0);
    return u;
}

static uint8_t rd(struct uart *u, unsigned off)
{
    uint8_t v = 0;
    uart_bus_ops.read(u, off, &v, 1);
    return v;
}

static void wr(struct uart *u, unsigned off, uint8_t v)
{
    uart_bus_ops.write(u, off, &v, 1);
}

static bool fd_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void drain_fd(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_reset_values(void)
{
    struct uart *u = make_uart();
    CHECK_EQ(rd(u, UART_IER), 0);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_NO_INT);
    CHECK_EQ(rd(u, UART_LCR), 0);
    CHECK_EQ(rd(u, UART_MCR), 0);
    CHECK_EQ(rd(u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    CHECK_EQ(rd(u, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
    CHECK_EQ(rd(u, UART_SCR), 0);
    CHECK(!line.level);
    wr(u, UART_SCR, 0xa5);
    CHECK_EQ(rd(u, UART_SCR), 0xa5);
    /* Bad sizes answer all-ones and change nothing. */
    uint16_t w = 0;
    uart_bus_ops.read(u, UART_SCR, &w, 2);
    CHECK_EQ(w, 0xffff);
    w = 0x1234;
    uart_bus_ops.write(u, UART_SCR, &w, 2);
    CHECK_EQ(rd(u, UART_SCR), 0xa5);
    uart_destroy(u);
}

static void test_dlab(void)
{
    struct uart *u = make_uart();
    wr(u, UART_IER, UART_IER_ERBFI);
    wr(u, UART_LCR, UART_LCR_DLAB | 0x03);
    wr(u, UART_DLL, 0x0c);
    wr(u, UART_DLM, 0x01);
    CHECK_EQ(rd(u, UART_DLL), 0x0c);
    CHECK_EQ(rd(u, UART_DLM), 0x01);
    CHECK_EQ(rd(u, UART_LCR), UART_LCR_DLAB | 0x03);
    CHECK_EQ(out.len, 0); /* a DLL write is not a transmission */
    wr(u, UART_LCR, 0x03);
    CHECK_EQ(rd(u, UART_IER), UART_IER_ERBFI); /* DLM write did not touch IER */
    wr(u, UART_THR, 'x');
    CHECK_EQ(out.len, 1);
    wr(u, UART_LCR, UART_LCR_DLAB);
    CHECK_EQ(rd(u, UART_DLL), 0x0c); /* THR write did not touch DLL */
    /* IIR/LCR/... do not depend on DLAB. */
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_NO_INT);
    uart_destroy(u);
}

static void test_ier_mask_and_linux_probe(void)
{
    struct uart *u = make_uart();
    /* serial8250 autoconfig: IER scratch test. */
    wr(u, UART_IER, 0);
    CHECK_EQ(rd(u, UART_IER) & UART_IER_MASK, 0);
    wr(u, UART_IER, 0x0f);
    CHECK_EQ(rd(u, UART_IER), 0x0f);
    wr(u, UART_IER, 0xff);
    CHECK_EQ(rd(u, UART_IER), 0x0f); /* UUE (bit 6) and friends do not stick */
    wr(u, UART_IER, 0);
    (void)rd(u, UART_IIR);
    /* Loopback test: MCR = LOOP | OUT2 | RTS must read CTS | DCD. */
    wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
    CHECK_EQ(rd(u, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
    wr(u, UART_MCR, 0);
    /* FIFO test: IIR[7:6] == 3 means 16550A. */
    wr(u, UART_LCR, 0);
    wr(u, UART_FCR, UART_FCR_FIFO_ENABLE);
    CHECK_EQ(rd(u, UART_IIR) >> 6, 3);
    /* EFR probes (LCR 0x80 / 0xBF) read IIR: not zero, so no 16650/EFR. */
    wr(u, UART_LCR, UART_LCR_DLAB);
    CHECK(rd(u, UART_IIR) != 0);
    wr(u, UART_LCR, 0xbf);
    CHECK(rd(u, UART_IIR) != 0);
    wr(u, UART_LCR, 0);
    /* The TX-enable test: IER = THRI with THR empty gives an interrupt at once. */
    wr(u, UART_IER, UART_IER_ETBEI);
    uint8_t lsr = rd(u, UART_LSR), iir = rd(u, UART_IIR);
    wr(u, UART_IER, 0);
    CHECK(lsr & UART_LSR_TEMT);
    CHECK(!(iir & UART_IIR_NO_INT)); /* no UART_BUG_TXEN */
    uart_destroy(u);
}

static void test_thre_interrupt(void)
{
    struct uart *u = make_uart();
    wr(u, UART_IER, UART_IER_ETBEI);
    CHECK(line.level);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_ID_THRE);
    CHECK(!line.level);                         /* IIR read cleared it */
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_NO_INT);
    /* Linux's UART_BUG_THRE probe: toggling ETBEI re-asserts THRE. */
    wr(u, UART_IER, 0);
    wr(u, UART_IER, UART_IER_ETBEI);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_ID_THRE);
    /* Rewriting IER with ETBEI already set does not re-arm it. */
    wr(u, UART_IER, UART_IER_ETBEI);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_NO_INT);
    /* A THR write clears it and, as the byte leaves at once, re-arms it. */
    wr(u, UART_THR, 'a');
    CHECK(line.level);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_ID_THRE);
    CHECK_EQ(rd(u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    /* LSR reads do not clear THRE. */
    wr(u, UART_THR, 'b');
    (void)rd(u, UART_LSR);
    CHECK(line.level);
    /* Disabling ETBEI drops the line. */
    wr(u, UART_IER, 0);
    CHECK(!line.level);
    CHECK_EQ(out.len, 2);
    CHECK_EQ(out.buf[0], 'a');
    CHECK_EQ(out.buf[1], 'b');
    CHECK_EQ(line.pin, 4);
    uart_destroy(u);
}

static void test_fifo_receive_and_backpressure(void)
{
    struct uart *u = make_uart();
    int efd = uart_rx_space_fd(u);
    CHECK(efd >= 0);
    wr(u, UART_FCR, UART_FCR_FIFO_ENABLE | FIELD_PREP(UART_FCR_RCVR_TRIGGER, 2)); /* 8 bytes */
    wr(u, UART_IER, UART_IER_ERBFI);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_FIFOS_ENABLED | UART_IIR_NO_INT);
    CHECK_EQ(uart_rx_space(u), UART_FIFO_SIZE);

    uint8_t data[20];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(0x40 + i);
    CHECK_EQ(uart_receive(u, data, 3), 3);
    CHECK(line.level);
    CHECK_EQ(rd(u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_FIFOS_ENABLED | UART_IIR_ID_CTI); /* below trigger */
    CHECK_EQ(uart_receive(u, data + 3, 5), 5);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_FIFOS_ENABLED | UART_IIR_ID_RDA); /* at trigger */
    /* Only free space is accepted; no overrun from the host side. */
    CHECK_EQ(uart_receive(u, data + 8, 12), 8);
    CHECK_EQ(uart_rx_space(u), 0);
    CHECK_EQ(uart_receive(u, data + 16, 4), 0);
    CHECK_EQ(rd(u, UART_LSR) & UART_LSR_OE, 0);
    CHECK(!fd_readable(efd));
    /* The guest makes room: the I/O thread is woken. */
    CHECK_EQ(rd(u, UART_RBR), 0x40);
    CHECK(fd_readable(efd));
    drain_fd(efd);
    CHECK_EQ(uart_rx_space(u), 1);
    CHECK_EQ(uart_receive(u, data + 16, 4), 1);
    for (unsigned i = 1; i < 17; i++)
        CHECK_EQ(rd(u, UART_RBR), 0x40 + i);
    CHECK_EQ(rd(u, UART_LSR) & UART_LSR_DR, 0);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_FIFOS_ENABLED | UART_IIR_NO_INT);
    CHECK(!line.level);
    CHECK(fd_readable(efd)); /* the short receive above armed it again */
    drain_fd(efd);
    CHECK_EQ(rd(u, UART_RBR), 0x50); /* empty receiver repeats the last byte */

    /* RX FIFO reset drops the contents. */
    CHECK_EQ(uart_receive(u, data, 5), 5);
    wr(u, UART_FCR, UART_FCR_FIFO_ENABLE | UART_FCR_RCVR_RESET);
    CHECK_EQ(rd(u, UART_LSR) & UART_LSR_DR, 0);
    CHECK_EQ(uart_rx_space(u), UART_FIFO_SIZE);
    /* Trigger level 1 after that write: one byte is RDA. */
    CHECK_EQ(uart_receive(u, data, 1), 1);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_FIFOS_ENABLED | UART_IIR_ID_RDA);

    /* Disabling the FIFO clears it and leaves a one-byte receiver. */
    wr(u, UART_FCR, 0);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_NO_INT);
    CHECK_EQ(uart_receive(u, data, 4), 1);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_ID_RDA);
    CHECK_EQ(rd(u, UART_RBR), 0x40);

    struct uart_stats st;
    uart_get_stats(u, &st);
    CHECK_EQ(st.rx_bytes, 3 + 5 + 8 + 1 + 5 + 1 + 1);
    uart_destroy(u);
}

static void test_loopback_and_overrun(void)
{
    struct uart *u = make_uart();
    int efd = uart_rx_space_fd(u);
    wr(u, UART_FCR, UART_FCR_FIFO_ENABLE | FIELD_PREP(UART_FCR_RCVR_TRIGGER, 2));
    wr(u, UART_MCR, UART_MCR_LOOP);
    /* Host input is held off in loopback. */
    uint8_t b = 'h';
    CHECK_EQ(uart_rx_space(u), 0);
    CHECK_EQ(uart_receive(u, &b, 1), 0);
    for (unsigned i = 0; i < UART_FIFO_SIZE + 1; i++)
        wr(u, UART_THR, (uint8_t)i);
    CHECK_EQ(out.len, 0); /* nothing leaves the chip in loopback */
    wr(u, UART_IER, UART_IER_ERBFI | UART_IER_ELSI);
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_FIFOS_ENABLED | UART_IIR_ID_RLS);
    uint8_t lsr = rd(u, UART_LSR);
    CHECK_EQ(lsr & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
    CHECK_EQ(rd(u, UART_LSR) & UART_LSR_OE, 0); /* read cleared OE */
    CHECK_EQ(rd(u, UART_IIR), UART_IIR_FIFOS_ENABLED | UART_IIR_ID_RDA);
    for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
        CHECK_EQ(rd(u, UART_RBR), i); /* the FIFO kept the first 16 */
    struct uart_stats st;
    uart_get_stats(u, &st);
    CHECK_EQ(st.rx_overruns, 1);
    CHECK_EQ(st.tx_bytes, 0);
    /* Leaving loopback reconnects the input and wakes the I/O thread. */
    CHECK(!fd_readable(efd));
    wr(u, UART_MCR, 0);
    CHECK(fd_readable(efd));
    CHECK_EQ(uart_receive(u, &b, 1), 1);

    /* Without FIFOs a second byte overwrites RBR. */
    struct uart *v = make_uart();
    wr(v, UART_MCR, UART_MCR_LOOP);
    wr(v, UART_THR, 1);
    wr(v, UART_THR, 2);
    CHECK_EQ(rd(v, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
    CHECK_EQ(rd(v, UART_RBR), 2);
    CHECK_EQ(rd(v, UART_LSR) & UART_LSR_DR, 0);
    uart_destroy(v);
    uart_destroy(u);
}

static void test_loopback_modem_lines(void)
{
    struct uart *u = make_uart();
    (void)rd(u, UART_MSR);
    wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
    /* CTS and DCD dropped; DSR stays (DTR); RI rose (no TERI on a rising edge). */
    CHECK_EQ(rd(u, UART_MSR), UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCTS | UART_MSR_DDCD);
    CHECK_EQ(rd(u, UART_MSR), UART_MSR_DSR | UART_MSR_RI); /* deltas cleared by the read */
    wr(u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
    CHECK_EQ(rd(u, UART_MSR), UART_MSR_CTS | UART_MSR_DCD | UART_MSR_DCTS | UART_MSR_DDSR |
                                  UART_MSR_TERI | UART_MSR_DDCD);
    wr(u, UART_MCR, 0xff);
    CHECK_EQ(rd(u, UART_MCR), UART_MCR_MASK); /* bits 7:5 read 0 */
    wr(u, UART_MCR, 0);
    CHECK_EQ(rd(u, UART_MSR) & 0xf0, UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
    uart_destroy(u);
}

static void test_iir_priorities(void)
{
    struct uart *u = make_uart();
    wr(u, UART_FCR, UART_FCR_FIFO_ENABLE); /* trigger 1 */
    wr(u, UART_MCR, UART_MCR_LOOP);        /* modem deltas pending now */
    for (unsigned i = 0; i < UART_FIFO_SIZE + 1; i++)
        wr(u, UART_THR, (uint8_t)i);       /* data + overrun */
    CHECK(!line.level);                    /* IER = 0: nothing */
    wr(u, UART_IER, UART_IER_MASK);
    CHECK(line.level);
    CHECK_EQ(line.raises, 1);
    CHECK_EQ(rd(u, UART_IIR) & 0x0f, UART_IIR_ID_RLS);
    (void)rd(u, UART_LSR);
    CHECK_EQ(rd(u, UART_IIR) & 0x0f, UART_IIR_ID_RDA);
    for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
        (void)rd(u, UART_RBR);
    CHECK_EQ(rd(u, UART_IIR) & 0x0f, UART_IIR_ID_THRE); /* read clears THRE... */
    CHECK_EQ(rd(u, UART_IIR) & 0x0f, UART_IIR_ID_MS);   /* ...exposing modem status */
    CHECK(line.level);
    (void)rd(u, UART_MSR);
    CHECK_EQ(rd(u, UART_IIR) & 0x0f, UART_IIR_NO_INT);
    CHECK(!line.level);
    CHECK_EQ(line.raises, 1); /* the line stayed high until everything was served */
    CHECK_EQ(line.lowers, 1);
    uart_destroy(u);
}

static void test_output_drops(void)
{
    struct uart *u = make_uart();
    out.room = 2;
    for (int i = 0; i < 5; i++)
        wr(u, UART_THR, (uint8_t)('0' + i));
    struct uart_stats st;
    uart_get_stats(u, &st);
    CHECK_EQ(st.tx_bytes, 5);
    CHECK_EQ(st.tx_dropped, 3);
    CHECK_EQ(out.len, 2);
    uart_destroy(u);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* An I/O thread feeds input using only uart_receive() and the rx-space
 * eventfd while the "guest" drains RBR: every byte arrives, in order. */
#define STREAM_LEN 20000

struct feeder {
    struct uart *u;
    unsigned waits;
    int result;
};

static void *feeder_main(void *arg)
{
    struct feeder *f = arg;
    static uint8_t data[STREAM_LEN];
    for (unsigned i = 0; i < STREAM_LEN; i++)
        data[i] = (uint8_t)(i * 7);
    size_t off = 0;
    int efd = uart_rx_space_fd(f->u);
    while (off < STREAM_LEN) {
        off += uart_receive(f->u, data + off, STREAM_LEN - off);
        if (off == STREAM_LEN)
            break;
        struct pollfd p = { .fd = efd, .events = POLLIN };
        if (poll(&p, 1, 5000) != 1) {
            f->result = -1; /* lost wake-up */
            return NULL;
        }
        drain_fd(efd);
        f->waits++;
    }
    return NULL;
}

static void test_rx_threads(void)
{
    struct uart *u = make_uart();
    wr(u, UART_FCR, UART_FCR_FIFO_ENABLE);
    struct feeder f = { .u = u };
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, feeder_main, &f), 0);
    unsigned got = 0, bad = 0;
    double deadline = now_s() + 20;
    while (got < STREAM_LEN && now_s() < deadline) {
        if (!(rd(u, UART_LSR) & UART_LSR_DR))
            continue;
        if (rd(u, UART_RBR) != (uint8_t)(got * 7))
            bad++;
        got++;
    }
    pthread_join(th, NULL);
    CHECK_EQ(f.result, 0);
    CHECK_EQ(got, STREAM_LEN);
    CHECK_EQ(bad, 0);
    CHECK(f.waits > 0);
    uart_destroy(u);
}

int main(void)
{
    test_reset_values();
    test_dlab();
    test_ier_mask_and_linux_probe();
    test_thre_interrupt();
    test_fifo_receive_and_backpressure();
    test_loopback_and_overrun();
    test_loopback_modem_lines();
    test_iir_priorities();
    test_output_drops();
    test_rx_threads();
    return check_result("test_uart");
}
