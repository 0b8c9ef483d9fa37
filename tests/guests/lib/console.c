/*
 * Console output on COM1, a 16550 UART, by polling: wait for the transmit
 * holding register to be empty (LSR bit 5), then write the byte.  Plus a
 * small printf: %s %c %d %i %u %x %X %p %%, the length modifiers l, ll,
 * z and h, a field width and the '0' and '-' flags.  Numbers are converted
 * without division so that 32-bit guests need no libgcc.
 */
#include "guest.h"

#define UART_THR         0 /* transmit holding register (DLAB=0) */
#define UART_DLL         0 /* divisor latch, low (DLAB=1) */
#define UART_IER         1 /* interrupt enable (DLAB=0) */
#define UART_DLM         1 /* divisor latch, high (DLAB=1) */
#define UART_FCR         2 /* FIFO control */
#define UART_LCR         3 /* line control */
#define UART_MCR         4 /* modem control */
#define UART_LSR         5 /* line status */

#define LCR_8N1          0x03
#define LCR_DLAB         0x80
#define MCR_DTR          0x01
#define MCR_RTS          0x02
#define FCR_ENABLE_CLEAR 0x07
#define LSR_THRE         0x20

/* Polls of LSR before writing anyway: a broken UART must not hang us. */
#define UART_POLL_MAX 10000

static bool uart_ready;

static void
uart_init(void)
{
	outb(COM1_PORT + UART_IER, 0); /* no interrupts */
	outb(COM1_PORT + UART_LCR, LCR_DLAB);
	outb(COM1_PORT + UART_DLL, 1); /* 115200 baud */
	outb(COM1_PORT + UART_DLM, 0);
	outb(COM1_PORT + UART_LCR, LCR_8N1);
	outb(COM1_PORT + UART_FCR, FCR_ENABLE_CLEAR);
	outb(COM1_PORT + UART_MCR, MCR_DTR | MCR_RTS);
	uart_ready = true;
}

void
guest_putc(char c)
{
	int i;

	if (!uart_ready)
		uart_init();
	for (i = 0; i < UART_POLL_MAX; i++) {
		if (inb(COM1_PORT + UART_LSR) & LSR_THRE)
			break;
	}
	outb(COM1_PORT + UART_THR, (uint8_t)c);
}

void
guest_puts(const char *s)
{
	while (*s != '\0')
		guest_putc(*s++);
}

static const uint64_t pow10[] = {
	10000000000000000000ULL,
	1000000000000000000ULL,
	100000000000000000ULL,
	10000000000000000ULL,
	1000000000000000ULL,
	100000000000000ULL,
	10000000000000ULL,
	1000000000000ULL,
	100000000000ULL,
	10000000000ULL,
	1000000000ULL,
	100000000ULL,
	10000000ULL,
	1000000ULL,
	100000ULL,
	10000ULL,
	1000ULL,
	100ULL,
	10ULL,
	1ULL,
};

/* Digits of 'v' into buf (at least 21 bytes), most significant first. */
static int
fmt_dec(char *buf, uint64_t v)
{
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
		char d = '0';

		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		if (d != '0' || n > 0 ||
		    i == sizeof(pow10) / sizeof(pow10[0]) - 1)
			buf[n++] = d;
	}
	return n;
}

static int
fmt_hex(char *buf, uint64_t v, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int shift, n = 0;

	for (shift = 60; shift >= 0; shift -= 4) {
		unsigned int d = (unsigned int)(v >> shift) & 0xf;

		if (d != 0 || n > 0 || shift == 0)
			buf[n++] = digits[d];
	}
	return n;
}

struct out {
	int count;
};

static void
out_char(struct out *o, char c)
{
	guest_putc(c);
	o->count++;
}

static void
out_field(struct out *o, const char *prefix, const char *s, int len, int width,
	  bool left, bool zero)
{
	int plen = (int)strlen(prefix);
	int pad = width - len - plen;
	int i;

	if (!left && !zero) {
		for (i = 0; i < pad; i++)
			out_char(o, ' ');
	}
	for (i = 0; i < plen; i++)
		out_char(o, prefix[i]);
	if (!left && zero) {
		for (i = 0; i < pad; i++)
			out_char(o, '0');
	}
	for (i = 0; i < len; i++)
		out_char(o, s[i]);
	if (left) {
		for (i = 0; i < pad; i++)
			out_char(o, ' ');
	}
}

int
guest_vprintf(const char *fmt, va_list ap)
{
	struct out o = { 0 };
	char buf[24];

	for (; *fmt != '\0'; fmt++) {
		bool left = false, zero = false;
		int width = 0, lng = 0, len;
		const char *prefix = "";
		const char *s;
		uint64_t u;
		int64_t d;

		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z')
				lng = sizeof(size_t) == sizeof(long) ? 1 : 0;
			else if (*fmt != 'h')
				break;
		}
		switch (*fmt) {
		case 'c':
			buf[0] = (char)va_arg(ap, int);
			out_field(&o, "", buf, 1, width, left, false);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			out_field(&o, "", s, (int)strlen(s), width, left,
				  false);
			break;
		case 'd':
		case 'i':
			if (lng >= 2)
				d = va_arg(ap, long long);
			else if (lng == 1)
				d = va_arg(ap, long);
			else
				d = va_arg(ap, int);
			if (d < 0) {
				prefix = "-";
				u = -(uint64_t)d;
			} else {
				u = (uint64_t)d;
			}
			len = fmt_dec(buf, u);
			out_field(&o, prefix, buf, len, width, left, zero);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (lng >= 2)
				u = va_arg(ap, unsigned long long);
			else if (lng == 1)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			if (*fmt == 'u')
				len = fmt_dec(buf, u);
			else
				len = fmt_hex(buf, u, *fmt == 'X');
			out_field(&o, "", buf, len, width, left, zero);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			len = fmt_hex(buf, u, false);
			out_field(&o, "0x", buf, len, width, left, zero);
			break;
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			fmt--; /* a lone '%' at the end */
			break;
		default: /* unknown: print it as it was */
			out_char(&o, '%');
			out_char(&o, *fmt);
			break;
		}
	}
	return o.count;
}

int
guest_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vprintf(fmt, ap);
	va_end(ap);
	return n;
}
