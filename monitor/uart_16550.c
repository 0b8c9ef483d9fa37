/*
 * A 16550A UART, after bhyve's uart_emul.c: divisor latch, a 16-byte
 * receive FIFO with trigger levels, the four interrupt sources with their
 * priorities, loopback mode and the modem status lines.
 *
 * The transmitter is infinitely fast: a byte written to THR goes to the
 * console backend at once, so THRE and TEMT are always set and there is no
 * transmit FIFO to model.  Bytes from the backend wait in a host-side queue
 * and enter the receive FIFO as the guest drains it (flow control, as bhyve
 * stops reading the tty while the FIFO is full), so host input never
 * overruns; only loopback writes can overrun the FIFO and set LSR.OE.
 *
 * vCPU threads call uart_read()/uart_write(), the event thread delivers
 * input: everything runs under the softc's mutex, including the interrupt
 * callbacks, which must not call back into the UART.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

/* Register offsets. */
#define UART_RBR        0 /* read: receive buffer; DLAB: divisor low */
#define UART_THR        0 /* write: transmit holding */
#define UART_DLL        0
#define UART_IER        1 /* DLAB: divisor high */
#define UART_DLH        1
#define UART_IIR        2 /* read */
#define UART_FCR        2 /* write */
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_MSR        6
#define UART_SCR        7
#define UART_NREGS      8

#define IER_ERXRDY      0x01 /* received data available */
#define IER_ETXRDY      0x02 /* THR empty */
#define IER_ERLS        0x04 /* receiver line status */
#define IER_EMSC        0x08 /* modem status */
#define IER_MASK        0x0f

#define IIR_NOPEND      0x01 /* no interrupt pending */
#define IIR_MLSC        0x00 /* modem status */
#define IIR_TXRDY       0x02 /* THR empty */
#define IIR_RXRDY       0x04 /* received data at the trigger level */
#define IIR_RLS         0x06 /* receiver line status */
#define IIR_RXTOUT      0x0c /* character timeout: data below the trigger */
#define IIR_FIFOS       0xc0 /* FIFOs enabled */

#define FCR_ENABLE      0x01
#define FCR_RCV_RST     0x02
#define FCR_XMT_RST     0x04
#define FCR_DMA         0x08
#define FCR_RX_SHIFT    6
#define FCR_KEEP        (FCR_ENABLE | FCR_DMA | 0xc0) /* bits FCR keeps */

#define LCR_DLAB        0x80

#define MCR_DTR         0x01
#define MCR_RTS         0x02
#define MCR_OUT1        0x04
#define MCR_OUT2        0x08
#define MCR_LOOPBACK    0x10
#define MCR_MASK        0x1f

#define LSR_DR          0x01 /* data ready */
#define LSR_OE          0x02 /* overrun */
#define LSR_THRE        0x20
#define LSR_TEMT        0x40

#define MSR_DCTS        0x01
#define MSR_DDSR        0x02
#define MSR_TERI        0x04
#define MSR_DDCD        0x08
#define MSR_CTS         0x10
#define MSR_DSR         0x20
#define MSR_RI          0x40
#define MSR_DCD         0x80
#define MSR_DELTA_MASK  0x0f
#define MSR_STATUS_MASK 0xf0

#define UART_FIFOSZ     16
#define UART_RXQSZ      4096 /* host input waiting for room in the FIFO */
#define UART_RCLK       1843200
#define UART_DEF_BAUD   115200

struct uart_softc {
	pthread_mutex_t mtx;
	uint8_t ier, lcr, mcr, lsr, msr, fcr, scr;
	uint8_t dll, dlh;
	bool thre_int_pending; /* THRE interrupt not yet acknowledged */
	bool intr_line;        /* state last given to the callbacks */
	struct {
		uint8_t buf[UART_FIFOSZ];
		int rindex, num, size; /* size 1 with the FIFO disabled */
	} rxfifo;
	struct {
		uint8_t buf[UART_RXQSZ];
		size_t rindex, num;
	} rxq;
	uint64_t rx_dropped; /* host input lost to a full queue */
	unsigned int unit;   /* COM unit for the record, from the label */
	struct console *con;
	uart_intr_func_t intr_assert, intr_deassert;
	void *intr_arg;
};

static const int uart_trigger_levels[4] = { 1, 4, 8, 14 };

static void
uart_rxfifo_reset(struct uart_softc *sc, int size)
{
	sc->rxfifo.rindex = 0;
	sc->rxfifo.num = 0;
	sc->rxfifo.size = size;
}

static bool
uart_rxfifo_full(const struct uart_softc *sc)
{
	return sc->rxfifo.num >= sc->rxfifo.size;
}

/* A byte arriving at the receiver; a full FIFO drops it and sets OE. */
static void
uart_rxfifo_put(struct uart_softc *sc, uint8_t ch)
{
	if (uart_rxfifo_full(sc)) {
		sc->lsr |= LSR_OE;
		return;
	}
	sc->rxfifo.buf[(sc->rxfifo.rindex + sc->rxfifo.num) % UART_FIFOSZ] = ch;
	sc->rxfifo.num++;
}

static int
uart_rxfifo_get(struct uart_softc *sc)
{
	uint8_t ch;

	if (sc->rxfifo.num == 0)
		return -1;
	ch = sc->rxfifo.buf[sc->rxfifo.rindex];
	sc->rxfifo.rindex = (sc->rxfifo.rindex + 1) % UART_FIFOSZ;
	sc->rxfifo.num--;
	return ch;
}

/* Move queued host input into the receive FIFO while it has room. */
static void
uart_rxq_drain(struct uart_softc *sc)
{
	while (sc->rxq.num > 0 && !uart_rxfifo_full(sc)) {
		uart_rxfifo_put(sc, sc->rxq.buf[sc->rxq.rindex]);
		sc->rxq.rindex = (sc->rxq.rindex + 1) % UART_RXQSZ;
		sc->rxq.num--;
	}
}

/*
 * The modem status lines: in loopback mode they mirror the MCR outputs,
 * otherwise DCD, DSR and CTS are always asserted so that a guest's open()
 * does not wait for carrier and hardware flow control never stalls.
 */
static uint8_t
uart_modem_status(uint8_t mcr)
{
	uint8_t msr = 0;

	if ((mcr & MCR_LOOPBACK) == 0)
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

/* New status lines; delta bits accumulate until MSR is read. */
static void
uart_set_msr(struct uart_softc *sc, uint8_t status)
{
	uint8_t old = sc->msr & MSR_STATUS_MASK;
	uint8_t delta = sc->msr & MSR_DELTA_MASK;
	uint8_t changed = old ^ status;

	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(status & MSR_RI))
		delta |= MSR_TERI; /* trailing edge only */
	sc->msr = status | delta;
}

/* The highest-priority pending interrupt, as IIR bits 3:0. */
static uint8_t
uart_intr_reason(const struct uart_softc *sc)
{
	int trigger = 1;

	if (sc->fcr & FCR_ENABLE)
		trigger = uart_trigger_levels[sc->fcr >> FCR_RX_SHIFT];
	if ((sc->lsr & LSR_OE) && (sc->ier & IER_ERLS))
		return IIR_RLS;
	/*
	 * There is no timer behind the character timeout: data below the
	 * trigger level reports it at once, which is what a driver sees once
	 * the line has been idle for four character times.
	 */
	if (sc->rxfifo.num > 0 && (sc->ier & IER_ERXRDY))
		return sc->rxfifo.num >= trigger ? IIR_RXRDY : IIR_RXTOUT;
	if (sc->thre_int_pending && (sc->ier & IER_ETXRDY))
		return IIR_TXRDY;
	if ((sc->msr & MSR_DELTA_MASK) && (sc->ier & IER_EMSC))
		return IIR_MLSC;
	return IIR_NOPEND;
}

/* Drive the interrupt line; the callbacks see changes only. */
static void
uart_toggle_intr(struct uart_softc *sc)
{
	bool line = uart_intr_reason(sc) != IIR_NOPEND;

	if (line == sc->intr_line)
		return;
	sc->intr_line = line;
	if (line && sc->intr_assert != NULL)
		sc->intr_assert(sc->intr_arg);
	else if (!line && sc->intr_deassert != NULL)
		sc->intr_deassert(sc->intr_arg);
}

static void
uart_reset(struct uart_softc *sc)
{
	uint16_t divisor = UART_RCLK / UART_DEF_BAUD / 16;

	sc->dll = divisor & 0xff;
	sc->dlh = divisor >> 8;
	sc->ier = sc->lcr = sc->mcr = sc->fcr = sc->scr = 0;
	sc->lsr = LSR_THRE | LSR_TEMT;
	sc->msr = uart_modem_status(0);
	sc->thre_int_pending = false;
	uart_rxfifo_reset(sc, 1);
}

/* Input from the console backend (event thread). */
static void
uart_rx(void *arg, const uint8_t *buf, size_t len)
{
	struct uart_softc *sc = arg;

	/* A replay's guest reads what the recording's got: drop this. */
	if (rhyve_replaying())
		return;
	rhyve_record_input(sc->unit, buf, len);
	pthread_mutex_lock(&sc->mtx);
	/* In loopback mode the receiver is cut off from the line. */
	if ((sc->mcr & MCR_LOOPBACK) == 0) {
		for (size_t i = 0; i < len; i++) {
			if (sc->rxq.num == UART_RXQSZ) {
				sc->rx_dropped += len - i;
				break;
			}
			sc->rxq
			    .buf[(sc->rxq.rindex + sc->rxq.num) % UART_RXQSZ] =
			    buf[i];
			sc->rxq.num++;
		}
		uart_rxq_drain(sc);
		uart_toggle_intr(sc);
	}
	pthread_mutex_unlock(&sc->mtx);
}

struct uart_softc *
uart_init(uart_intr_func_t intr_assert, uart_intr_func_t intr_deassert,
	  void *arg)
{
	struct uart_softc *sc;

	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	pthread_mutex_init(&sc->mtx, NULL);
	sc->intr_assert = intr_assert;
	sc->intr_deassert = intr_deassert;
	sc->intr_arg = arg;
	uart_reset(sc);
	return sc;
}

void
uart_deinit(struct uart_softc *sc)
{
	if (sc == NULL)
		return;
	/* Not under the mutex: closing waits for a running uart_rx(). */
	console_close(sc->con);
	pthread_mutex_destroy(&sc->mtx);
	free(sc);
}

int
uart_set_backend(struct uart_softc *sc, const char *spec, const char *label,
		 char *errbuf, size_t errlen)
{
	struct console *con = NULL, *old;

	/* "com2": unit 2, what the record calls this input's source. */
	if (label != NULL && strncmp(label, "com", 3) == 0)
		sc->unit = (unsigned int)strtoul(label + 3, NULL, 10);
	if (spec != NULL) {
		con = console_open(spec, label, uart_rx, sc, errbuf, errlen);
		if (con == NULL)
			return -1;
	}
	pthread_mutex_lock(&sc->mtx);
	old = sc->con;
	sc->con = con;
	pthread_mutex_unlock(&sc->mtx);
	console_close(old);
	return 0;
}

uint8_t
uart_read(struct uart_softc *sc, int offset)
{
	uint8_t reg;
	int ch;

	pthread_mutex_lock(&sc->mtx);
	if ((sc->lcr & LCR_DLAB) && offset == UART_DLL) {
		reg = sc->dll;
		goto done;
	}
	if ((sc->lcr & LCR_DLAB) && offset == UART_DLH) {
		reg = sc->dlh;
		goto done;
	}
	switch (offset) {
	case UART_RBR:
		ch = uart_rxfifo_get(sc);
		reg = ch < 0 ? 0 : (uint8_t)ch;
		uart_rxq_drain(sc);
		break;
	case UART_IER:
		reg = sc->ier;
		break;
	case UART_IIR:
		reg = uart_intr_reason(sc);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (reg == IIR_TXRDY)
			sc->thre_int_pending = false;
		if (sc->fcr & FCR_ENABLE)
			reg |= IIR_FIFOS;
		break;
	case UART_LCR:
		reg = sc->lcr;
		break;
	case UART_MCR:
		reg = sc->mcr;
		break;
	case UART_LSR:
		if (sc->rxfifo.num > 0)
			sc->lsr |= LSR_DR;
		else
			sc->lsr &= ~LSR_DR;
		reg = sc->lsr;
		sc->lsr &= ~LSR_OE; /* cleared by reading LSR */
		break;
	case UART_MSR:
		reg = sc->msr;
		sc->msr &= ~MSR_DELTA_MASK; /* cleared by reading MSR */
		break;
	case UART_SCR:
		reg = sc->scr;
		break;
	default:
		reg = 0xff;
		break;
	}
done:
	uart_toggle_intr(sc);
	pthread_mutex_unlock(&sc->mtx);
	return reg;
}

void
uart_write(struct uart_softc *sc, int offset, uint8_t value)
{
	int size;

	pthread_mutex_lock(&sc->mtx);
	if ((sc->lcr & LCR_DLAB) && offset == UART_DLL) {
		sc->dll = value;
		goto done;
	}
	if ((sc->lcr & LCR_DLAB) && offset == UART_DLH) {
		sc->dlh = value;
		goto done;
	}
	switch (offset) {
	case UART_THR:
		if (sc->mcr & MCR_LOOPBACK)
			uart_rxfifo_put(sc, value);
		else if (sc->con != NULL)
			console_write(sc->con, &value, 1);
		/* Sent at once: THR is empty again. */
		sc->thre_int_pending = true;
		break;
	case UART_IER:
		/* Enabling the THRE interrupt raises it if THR is empty. */
		if (!(sc->ier & IER_ETXRDY) && (value & IER_ETXRDY))
			sc->thre_int_pending = true;
		sc->ier = value & IER_MASK;
		break;
	case UART_FCR:
		/* Toggling the enable bit clears the FIFOs, as a reset. */
		size = (value & FCR_ENABLE) ? UART_FIFOSZ : 1;
		if ((value ^ sc->fcr) & FCR_ENABLE || (value & FCR_RCV_RST)) {
			uart_rxfifo_reset(sc, size);
			sc->lsr &= ~LSR_OE;
		}
		/* No transmit FIFO: FCR_XMT_RST has nothing to clear. */
		sc->fcr = (value & FCR_ENABLE) ? value & FCR_KEEP : 0;
		if ((sc->mcr & MCR_LOOPBACK) == 0)
			uart_rxq_drain(sc);
		break;
	case UART_LCR:
		sc->lcr = value;
		break;
	case UART_MCR:
		sc->mcr = value & MCR_MASK;
		uart_set_msr(sc, uart_modem_status(sc->mcr));
		if ((sc->mcr & MCR_LOOPBACK) == 0)
			uart_rxq_drain(sc);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Factory test registers: writes are ignored. */
		break;
	case UART_SCR:
		sc->scr = value;
		break;
	default:
		break;
	}
done:
	uart_toggle_intr(sc);
	pthread_mutex_unlock(&sc->mtx);
}

int
uart_legacy_alloc(int unit, int *ioaddr, int *irq)
{
	static const struct {
		int ioaddr, irq;
	} legacy[4] = {
		{ 0x3f8, 4 }, /* COM1 */
		{ 0x2f8, 3 }, /* COM2 */
		{ 0x3e8, 4 }, /* COM3 */
		{ 0x2e8, 3 }, /* COM4 */
	};

	if (unit < 0 || unit >= 4)
		return -1;
	*ioaddr = legacy[unit].ioaddr;
	*irq = legacy[unit].irq;
	return 0;
}
