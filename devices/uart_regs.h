/* SPDX-License-Identifier: MIT */
/*
 * Register layout of the National Semiconductor PC16550D UART ("16550A"),
 * names as in the datasheet (RBR, THR, IER, IIR, FCR, LCR, MCR, LSR, MSR, SCR,
 * DLL, DLM and their bit names).
 */
#ifndef SLUICE_DEVICES_UART_REGS_H
#define SLUICE_DEVICES_UART_REGS_H

#include "devices/bits.h"

/* Register offsets (8 one-byte registers). DLAB = LCR bit 7 selects DLL/DLM. */
#define UART_RBR 0 /* receiver buffer (read, DLAB=0) */
#define UART_THR 0 /* transmitter holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch LSB (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch MSB (DLAB=1) */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */
#define UART_MSR 6 /* modem status */
#define UART_SCR 7 /* scratch */
#define UART_REG_COUNT 8

/* IER */
#define UART_IER_ERBFI BIT(0) /* received data available */
#define UART_IER_ETBEI BIT(1) /* transmitter holding register empty */
#define UART_IER_ELSI BIT(2)  /* receiver line status */
#define UART_IER_EDSSI BIT(3) /* modem status */
#define UART_IER_MASK GENMASK(3, 0) /* bits 7:4 are always 0 on a 16550A */

/* IIR */
#define UART_IIR_NO_INT BIT(0)          /* "interrupt pending" is active low */
#define UART_IIR_ID GENMASK(3, 1)       /* with bit 0: the interrupt identification */
#define UART_IIR_ID_RLS 0x06            /* receiver line status (highest) */
#define UART_IIR_ID_RDA 0x04            /* received data available */
#define UART_IIR_ID_CTI 0x0c            /* character timeout indication */
#define UART_IIR_ID_THRE 0x02           /* THR empty */
#define UART_IIR_ID_MS 0x00             /* modem status (lowest) */
#define UART_IIR_FIFOS_ENABLED GENMASK(7, 6)

/* FCR (write only) */
#define UART_FCR_FIFO_ENABLE BIT(0)
#define UART_FCR_RCVR_RESET BIT(1)
#define UART_FCR_XMIT_RESET BIT(2)
#define UART_FCR_DMA_MODE BIT(3)
#define UART_FCR_RCVR_TRIGGER GENMASK(7, 6) /* 1, 4, 8, 14 bytes */

/* LCR */
#define UART_LCR_WLS GENMASK(1, 0)
#define UART_LCR_STB BIT(2)
#define UART_LCR_PEN BIT(3)
#define UART_LCR_EPS BIT(4)
#define UART_LCR_STICK_PARITY BIT(5)
#define UART_LCR_SET_BREAK BIT(6)
#define UART_LCR_DLAB BIT(7)

/* MCR */
#define UART_MCR_DTR BIT(0)
#define UART_MCR_RTS BIT(1)
#define UART_MCR_OUT1 BIT(2)
#define UART_MCR_OUT2 BIT(3)
#define UART_MCR_LOOP BIT(4)
#define UART_MCR_MASK GENMASK(4, 0) /* bits 7:5 are always 0 on a 16550A */

/* LSR */
#define UART_LSR_DR BIT(0)   /* data ready */
#define UART_LSR_OE BIT(1)   /* overrun error */
#define UART_LSR_PE BIT(2)   /* parity error */
#define UART_LSR_FE BIT(3)   /* framing error */
#define UART_LSR_BI BIT(4)   /* break interrupt */
#define UART_LSR_THRE BIT(5) /* THR (TX FIFO) empty */
#define UART_LSR_TEMT BIT(6) /* transmitter empty */
#define UART_LSR_RCVR_FIFO_ERR BIT(7)
#define UART_LSR_INT_ANY (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

/* MSR */
#define UART_MSR_DCTS BIT(0)
#define UART_MSR_DDSR BIT(1)
#define UART_MSR_TERI BIT(2)
#define UART_MSR_DDCD BIT(3)
#define UART_MSR_DELTA GENMASK(3, 0)
#define UART_MSR_CTS BIT(4)
#define UART_MSR_DSR BIT(5)
#define UART_MSR_RI BIT(6)
#define UART_MSR_DCD BIT(7)

/* Sizes. */
#define UART_FIFO_SIZE 16
#define UART_REGS_LEN 8

#endif
