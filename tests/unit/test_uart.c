/*
 * The 16550 model at register level, its console backends as the guest
 * sees them (file, pty), COM1-COM4 on LPC and -l parsing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cunit.h"
#include "rhyve.h"

#define REG_DATA 0
#define REG_IER  1
#define REG_IIR  2
#define REG_FCR  2
#define REG_LCR  3
#define REG_MCR  4
#define REG_LSR  5
#define REG_MSR  6
#define REG_SCR  7

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

struct intr_count {
	int asserts, deasserts;
	bool line;
};

static void
count_assert(void *arg)
{
	struct intr_count *ic = arg;

	CU_ASSERT_FALSE(ic->line); /* only changes are reported */
	ic->asserts++;
	ic->line = true;
}

static void
count_deassert(void *arg)
{
	struct intr_count *ic = arg;

	CU_ASSERT_TRUE(ic->line);
	ic->deasserts++;
	ic->line = false;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
make_tmpdir(void)
{
	char *dir = strdup("/tmp/rhyve-uart-XXXXXX");

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	return dir;
}

/* The file at 'path' holds exactly 'want' (less than 64 bytes). */
static void
check_file(const char *path, const char *want)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	CU_ASSERT_FATAL(n >= 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void
test_divisor_latch(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
	/* Reset: 115200 baud from the 1.8432 MHz clock, divisor 1. */
	uart_write(sc, REG_LCR, 0x83);
	CU_ASSERT_EQUAL(uart_read(sc, REG_LCR), 0x83);
	CU_ASSERT_EQUAL(uart_read(sc, 0), 0x01);
	CU_ASSERT_EQUAL(uart_read(sc, 1), 0x00);
	uart_write(sc, 0, 0x0c); /* 9600 baud */
	uart_write(sc, 1, 0x02);
	CU_ASSERT_EQUAL(uart_read(sc, 0), 0x0c);
	CU_ASSERT_EQUAL(uart_read(sc, 1), 0x02);
	/* DLAB does not hide the other registers. */
	uart_write(sc, REG_SCR, 0x11);
	CU_ASSERT_EQUAL(uart_read(sc, REG_SCR), 0x11);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x01);
	uart_write(sc, REG_LCR, 0x03);
	/* Without DLAB, offsets 0/1 are data and IER again. */
	CU_ASSERT_EQUAL(uart_read(sc, REG_IER), 0x00);
	uart_write(sc, REG_IER, 0xff);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IER), 0x0f); /* 4 bits */
	uart_write(sc, REG_IER, 0);
	uart_write(sc, REG_LCR, 0x80);
	CU_ASSERT_EQUAL(uart_read(sc, 0), 0x0c);
	CU_ASSERT_EQUAL(uart_read(sc, 1), 0x02);
	uart_deinit(sc);
}

static void
test_scratch(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);

	CU_ASSERT_EQUAL(uart_read(sc, REG_SCR), 0);
	for (int v = 0; v < 256; v += 0x55) {
		uart_write(sc, REG_SCR, (uint8_t)v);
		CU_ASSERT_EQUAL(uart_read(sc, REG_SCR), v);
	}
	/* Out-of-range offsets read as 0xff and ignore writes. */
	uart_write(sc, 8, 0);
	CU_ASSERT_EQUAL(uart_read(sc, 8), 0xff);
	uart_deinit(sc);
}

static void
test_lsr_msr(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);

	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_THRE | LSR_TEMT);
	for (int i = 0; i < 100; i++)
		uart_write(sc, REG_DATA, 'x'); /* no backend: dropped */
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_THRE | LSR_TEMT);
	CU_ASSERT_EQUAL(uart_read(sc, REG_DATA), 0); /* nothing received */
	/* Outside loopback: DCD, DSR and CTS asserted, no deltas. */
	CU_ASSERT_EQUAL(uart_read(sc, REG_MSR), 0xb0);
	CU_ASSERT_EQUAL(uart_read(sc, REG_MCR), 0);
	uart_write(sc, REG_MCR, 0xff);
	CU_ASSERT_EQUAL(uart_read(sc, REG_MCR), 0x1f);
	uart_deinit(sc);
}

static void
test_loopback(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	const char *msg = "loop";

	uart_write(sc, REG_FCR, 0x07);
	uart_write(sc, REG_MCR, 0x10);
	for (const char *p = msg; *p; p++)
		uart_write(sc, REG_DATA, (uint8_t)*p);
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	for (const char *p = msg; *p; p++)
		CU_ASSERT_EQUAL(uart_read(sc, REG_DATA), (uint8_t)*p);
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_THRE | LSR_TEMT);

	/* Modem lines mirror MCR: Linux's probe wants 0x90 for RTS|OUT2. */
	(void)uart_read(sc, REG_MSR); /* deltas from entering loopback */
	uart_write(sc, REG_MCR, 0x10 | 0x0a);
	CU_ASSERT_EQUAL(uart_read(sc, REG_MSR) & 0xf0, 0x90);
	uart_write(sc, REG_MCR, 0x10 | 0x01); /* DTR -> DSR */
	/* CTS and DCD dropped, DSR rose: DCTS|DDSR|DDCD. */
	CU_ASSERT_EQUAL(uart_read(sc, REG_MSR), 0x20 | 0x0b);
	CU_ASSERT_EQUAL(uart_read(sc, REG_MSR), 0x20); /* deltas cleared */
	uart_write(sc, REG_MCR, 0x10 | 0x04);          /* OUT1 -> RI */
	CU_ASSERT_EQUAL(uart_read(sc, REG_MSR), 0x40 | 0x02);
	uart_write(sc, REG_MCR, 0x10); /* RI falls: TERI */
	CU_ASSERT_EQUAL(uart_read(sc, REG_MSR), 0x04);
	/* Leaving loopback: the line signals are back. */
	uart_write(sc, REG_MCR, 0);
	CU_ASSERT_EQUAL(uart_read(sc, REG_MSR) & 0xf0, 0xb0);
	uart_deinit(sc);
}

static void
test_fifo_overrun(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);

	/* FIFO enabled: 16 bytes fit, the 17th overruns and is lost. */
	uart_write(sc, REG_FCR, 0x01);
	uart_write(sc, REG_MCR, 0x10);
	for (int i = 0; i < 16; i++)
		uart_write(sc, REG_DATA, (uint8_t)('A' + i));
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	uart_write(sc, REG_DATA, '!');
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR),
			LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
	/* Reading LSR clears OE. */
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	for (int i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(uart_read(sc, REG_DATA), 'A' + i);
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_THRE | LSR_TEMT);

	/* FIFO disabled (16450 mode): one byte of buffer. */
	uart_write(sc, REG_FCR, 0x00);
	uart_write(sc, REG_DATA, 'a');
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR) & LSR_OE, 0);
	uart_write(sc, REG_DATA, 'b');
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR),
			LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
	CU_ASSERT_EQUAL(uart_read(sc, REG_DATA), 'a');
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_THRE | LSR_TEMT);
	uart_deinit(sc);
}

static void
test_fcr(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);

	/* IIR bits 7:6 say whether the FIFOs are on (16550A: both). */
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x01);
	uart_write(sc, REG_FCR, 0x01);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc1);
	/* Under DLAB (Linux's EFR probe) offset 2 is still IIR/FCR. */
	uart_write(sc, REG_LCR, 0xbf);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc1);
	uart_write(sc, REG_LCR, 0x03);

	/* RX reset empties the FIFO. */
	uart_write(sc, REG_MCR, 0x10);
	for (int i = 0; i < 5; i++)
		uart_write(sc, REG_DATA, 'x');
	CU_ASSERT_TRUE(uart_read(sc, REG_LSR) & LSR_DR);
	uart_write(sc, REG_FCR, 0x01 | 0x02);
	CU_ASSERT_FALSE(uart_read(sc, REG_LSR) & LSR_DR);
	/* TX reset alone leaves received data alone. */
	uart_write(sc, REG_DATA, 'y');
	uart_write(sc, REG_FCR, 0x01 | 0x04);
	CU_ASSERT_TRUE(uart_read(sc, REG_LSR) & LSR_DR);
	/* Turning the FIFOs off clears them too. */
	uart_write(sc, REG_FCR, 0x00);
	CU_ASSERT_FALSE(uart_read(sc, REG_LSR) & LSR_DR);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x01);
	uart_deinit(sc);
}

static void
test_iir_priorities(void)
{
	struct intr_count ic = { 0 };
	struct uart_softc *sc = uart_init(count_assert, count_deassert, &ic);

	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x01);
	CU_ASSERT_EQUAL(ic.asserts, 0);

	/* Enabling the THRE interrupt raises it; reading IIR acks it. */
	uart_write(sc, REG_IER, 0x02);
	CU_ASSERT_EQUAL(ic.asserts, 1);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x02);
	CU_ASSERT_EQUAL(ic.deasserts, 1);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x01);
	/* Linux's THRE test: IER off and on again re-raises it. */
	uart_write(sc, REG_IER, 0);
	uart_write(sc, REG_IER, 0x02);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x02);
	/* Writing THR empties it again at once: the interrupt is back. */
	uart_write(sc, REG_DATA, 'x');
	CU_ASSERT_EQUAL(ic.asserts, 3);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0x02);
	CU_ASSERT_EQUAL(ic.deasserts, 3);

	/* FIFO with trigger level 4, loopback, every source enabled. */
	uart_write(sc, REG_FCR, 0x41);
	uart_write(sc, REG_MCR, 0x10); /* modem lines change: deltas */
	CU_ASSERT_EQUAL(ic.asserts, 3);
	uart_write(sc, REG_IER, 0x0f);
	CU_ASSERT_EQUAL(ic.asserts, 4);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc0); /* modem status */
	/* Data below the trigger: character timeout, above THRE. */
	uart_write(sc, REG_DATA, 0);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xcc);
	for (int i = 1; i < 4; i++)
		uart_write(sc, REG_DATA, (uint8_t)i);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc4); /* trigger reached */
	for (int i = 4; i < 17; i++)
		uart_write(sc, REG_DATA, (uint8_t)i);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc6); /* overrun on top */
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR) & LSR_OE, LSR_OE);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc4);
	for (int i = 0; i < 13; i++)
		CU_ASSERT_EQUAL(uart_read(sc, REG_DATA), i);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xcc); /* 3 left */
	for (int i = 13; i < 16; i++)
		CU_ASSERT_EQUAL(uart_read(sc, REG_DATA), i);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc2); /* THRE, acked */
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc0); /* modem status */
	CU_ASSERT_EQUAL(ic.deasserts, 3);
	(void)uart_read(sc, REG_MSR);
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc1);
	CU_ASSERT_EQUAL(ic.asserts, 4);
	CU_ASSERT_EQUAL(ic.deasserts, 4);
	CU_ASSERT_FALSE(ic.line);

	/* Masked sources do not interrupt. */
	uart_write(sc, REG_IER, 0);
	uart_write(sc, REG_DATA, 'z');
	CU_ASSERT_EQUAL(uart_read(sc, REG_IIR), 0xc1);
	CU_ASSERT_EQUAL(ic.asserts, 4);
	uart_write(sc, REG_IER, 0x01);
	CU_ASSERT_EQUAL(ic.asserts, 5);
	CU_ASSERT_EQUAL(uart_read(sc, REG_DATA), 'z');
	CU_ASSERT_EQUAL(ic.deasserts, 5);
	uart_deinit(sc);
}

static void
test_file_backend(void)
{
	char *dir = make_tmpdir();
	char path[256], spec[300], errbuf[256];
	const char *msg = "hello, file\r\n";
	struct uart_softc *sc;
	int fd;

	snprintf(path, sizeof(path), "%s/com1.log", dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	/* Output is appended to what is there. */
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "old\n", 4), 4);
	close(fd);

	sc = uart_init(NULL, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(
	    uart_set_backend(sc, spec, "com1", errbuf, sizeof(errbuf)), 0);
	for (const char *p = msg; *p; p++)
		uart_write(sc, REG_DATA, (uint8_t)*p);
	/* Loopback output stays inside the UART. */
	uart_write(sc, REG_MCR, 0x10);
	uart_write(sc, REG_DATA, '#');
	uart_deinit(sc);

	check_file(path, "old\nhello, file\r\n");
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void
test_backend_errors(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char errbuf[256];

	CU_ASSERT_EQUAL(
	    uart_set_backend(sc, "bogus", "com1", errbuf, sizeof(errbuf)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "bogus"));
	CU_ASSERT_EQUAL(uart_set_backend(sc, "file:/nonexistent/dir/x", "com1",
					 errbuf, sizeof(errbuf)),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "/nonexistent/dir/x"));
	CU_ASSERT_EQUAL(
	    uart_set_backend(sc, NULL, "com1", errbuf, sizeof(errbuf)), 0);
	uart_deinit(sc);
}

/* Wait for 'fd' to be readable; false on timeout. */
static bool
wait_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

static void
test_pty_backend(void)
{
	char *dir = make_tmpdir();
	char link[256], spec[300], errbuf[256], buf[256];
	struct uart_softc *sc;
	size_t got;
	double t0;
	ssize_t n;
	int fd;

	CU_ASSERT_EQUAL_FATAL(mevent_start(), 0);
	snprintf(link, sizeof(link), "%s/com1", dir);
	snprintf(spec, sizeof(spec), "pty:%s", link);
	sc = uart_init(NULL, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(
	    uart_set_backend(sc, spec, "com1", errbuf, sizeof(errbuf)), 0);
	fd = open(link, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);

	/* Host to guest: more than the FIFO holds arrives in full. */
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 100; i++)
		buf[i] = (char)('0' + i % 64);
	uart_write(sc, REG_FCR, 0x01); /* before: enabling clears the FIFO */
	CU_ASSERT_EQUAL(write(fd, buf, 100), 100);
	got = 0;
	t0 = now();
	while (got < 100 && now() - t0 < 5) {
		if (uart_read(sc, REG_LSR) & LSR_DR) {
			uint8_t ch = uart_read(sc, REG_DATA);

			CU_ASSERT_EQUAL(ch, (uint8_t)('0' + got % 64));
			got++;
		} else {
			usleep(1000);
		}
	}
	CU_ASSERT_EQUAL(got, 100);
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR) & LSR_OE, 0);

	/* Guest to host. */
	for (const char *p = "guest says hi"; *p; p++)
		uart_write(sc, REG_DATA, (uint8_t)*p);
	got = 0;
	while (got < 13 && wait_readable(fd, 5000)) {
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "guest says hi");

	/* Closing removes the link. */
	close(fd);
	uart_deinit(sc);
	CU_ASSERT_EQUAL(access(link, F_OK), -1);
	mevent_stop();
	rmdir(dir);
	free(dir);
}

static void
test_pty_no_reader(void)
{
	struct uart_softc *sc = uart_init(NULL, NULL, NULL);
	char errbuf[256];

	CU_ASSERT_EQUAL_FATAL(
	    uart_set_backend(sc, "pty", "com2", errbuf, sizeof(errbuf)), 0);
	/*
	 * Nobody has the slave open: output must not block the guest.  256
	 * KiB is well past what the pty buffers; a write that blocked would
	 * hang here until the alarm kills the test.
	 */
	alarm(60);
	for (int i = 0; i < 256 << 10; i++)
		uart_write(sc, REG_DATA, (uint8_t)i);
	alarm(0);
	CU_ASSERT_EQUAL(uart_read(sc, REG_LSR), LSR_THRE | LSR_TEMT);
	uart_deinit(sc);
}

/* ---- LPC ------------------------------------------------------------ */

static int testdev_inits, testdev_order[8];
static int testdev_log_len;

static int
testdev_init(struct vm *vm, const struct config_node *node)
{
	CU_ASSERT_STRING_EQUAL(config_node_name(node), "test-dev");
	testdev_inits++;
	testdev_order[testdev_log_len++] = 1;
	return 0;
}

static void
testdev_deinit(void)
{
	testdev_order[testdev_log_len++] = -1;
}

static const struct lpc_dev testdev = {
	.name = "test-dev",
	.help = "a device of the unit test",
	.init = testdev_init,
	.deinit = testdev_deinit,
};
LPC_DEV_REGISTER(testdev)

static void
test_lpc_parse(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	init_config();
	CU_ASSERT_EQUAL(lpc_device_parse("com1,stdio"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.com1.path"), "stdio");
	CU_ASSERT_EQUAL(lpc_device_parse("COM2,file:/tmp/x,y/z.log"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.com2.path"),
			       "file:/tmp/x,y/z.log");
	CU_ASSERT_EQUAL(lpc_device_parse("com3,pty:/tmp/link"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.com3.path"),
			       "pty:/tmp/link");
	CU_ASSERT_EQUAL(lpc_device_parse("com4"), 0);
	CU_ASSERT_PTR_NOT_NULL(find_config_node("lpc.com4"));
	CU_ASSERT_PTR_NULL(get_config_value("lpc.com4.path"));

	CU_ASSERT_EQUAL(lpc_device_parse("test-dev,a=1,flag,,b=x=y"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.test-dev.a"), "1");
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.test-dev.flag"), "true");
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.test-dev.b"), "x=y");
	CU_ASSERT_EQUAL(lpc_device_parse("test-dev,=1"), -1);
	CU_ASSERT_EQUAL(lpc_device_parse("nosuchdev"), -1);
	CU_ASSERT_EQUAL(lpc_device_parse("nosuchdev,stdio"), -1);
	CU_ASSERT_EQUAL(lpc_device_parse(""), -1);

	fp = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	lpc_print_supported(fp);
	fclose(fp);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "com1 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "com4 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "test-dev "));
	CU_ASSERT_TRUE(strstr(buf, "com1 ") < strstr(buf, "com2 "));
	free(buf);
	free_config();
}

/* One port access through the port table, as a vCPU exit would do it. */
static uint32_t
port_io(bool in, int port, int bytes, uint32_t val)
{
	uint8_t data[4];
	struct vm_exit vmexit;

	memset(&vmexit, 0, sizeof(vmexit));
	memcpy(data, &val, sizeof(data));
	vmexit.exitcode = VM_EXITCODE_INOUT;
	vmexit.u.inout.port = (uint16_t)port;
	vmexit.u.inout.bytes = (uint8_t)bytes;
	vmexit.u.inout.in = in;
	vmexit.u.inout.count = 1;
	vmexit.u.inout.data = data;
	CU_ASSERT_EQUAL(emulate_inout(NULL, &vmexit, true), 0);
	memcpy(&val, data, sizeof(val));
	if (bytes < 4)
		val &= (1u << (8 * bytes)) - 1;
	return val;
}

static void
test_lpc_uarts(void)
{
	char *dir = make_tmpdir();
	char path[256], spec[300];

	snprintf(path, sizeof(path), "%s/com2.log", dir);
	snprintf(spec, sizeof(spec), "com2,file:%s", path);
	init_config();
	init_inout();
	testdev_inits = testdev_log_len = 0;
	CU_ASSERT_EQUAL(lpc_device_parse("com1"), 0);
	CU_ASSERT_EQUAL(lpc_device_parse("test-dev"), 0);
	CU_ASSERT_EQUAL(lpc_device_parse(spec), 0);
	CU_ASSERT_EQUAL(set_config_value("lpc.bootrom", "/x"), 0); /* ignored */
	CU_ASSERT_EQUAL_FATAL(lpc_init(NULL), 0);
	CU_ASSERT_EQUAL(testdev_inits, 1);

	/* COM1 at 0x3f8: scratch register; LSR at base + 5. */
	port_io(false, 0x3f8 + 7, 1, 0xa5);
	CU_ASSERT_EQUAL(port_io(true, 0x3f8 + 7, 1, 0), 0xa5);
	CU_ASSERT_EQUAL(port_io(true, 0x3f8 + 5, 1, 0), 0x60);
	/* Wide accesses are split into bytes; past the UART reads 0xff. */
	port_io(false, 0x3f8 + 3, 1, 0x80);
	port_io(false, 0x3f8, 2, 0x0201); /* DLL, DLH */
	CU_ASSERT_EQUAL(port_io(true, 0x3f8, 2, 0), 0x0201);
	CU_ASSERT_EQUAL(port_io(true, 0x3f8 + 6, 4, 0), 0xffffa5b0);
	port_io(false, 0x3f8 + 3, 1, 0x03);
	/* COM2 at 0x2f8 writes its file. */
	for (const char *p = "com2 out"; *p; p++)
		port_io(false, 0x2f8, 1, (uint8_t)*p);

	lpc_deinit();
	CU_ASSERT_EQUAL(testdev_log_len, 2);
	CU_ASSERT_EQUAL(testdev_order[1], -1);
	check_file(path, "com2 out");
	/* The ports are free again. */
	CU_ASSERT_EQUAL(lpc_init(NULL), 0);
	lpc_deinit();
	free_config();
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void
test_lpc_errors(void)
{
	init_config();
	init_inout();
	/* A bad backend fails lpc_init and undoes what was created. */
	CU_ASSERT_EQUAL(lpc_device_parse("com1"), 0);
	CU_ASSERT_EQUAL(lpc_device_parse("com2,nonsense"), 0);
	CU_ASSERT_EQUAL(lpc_init(NULL), -1);
	free_config();
	init_config();
	/* The ports of com1 were released by the failed lpc_init. */
	CU_ASSERT_EQUAL(lpc_device_parse("com1"), 0);
	CU_ASSERT_EQUAL(lpc_init(NULL), 0);
	lpc_deinit();
	free_config();
	init_config();
	CU_ASSERT_EQUAL(set_config_value("lpc.nosuch.x", "1"), 0);
	CU_ASSERT_EQUAL(lpc_init(NULL), -1);
	free_config();
}

static CU_TestInfo uart_tests[] = {
	{ "divisor latch", test_divisor_latch },
	{ "scratch", test_scratch },
	{ "LSR and MSR", test_lsr_msr },
	{ "loopback", test_loopback },
	{ "FIFO overrun", test_fifo_overrun },
	{ "FCR", test_fcr },
	{ "IIR priorities and interrupts", test_iir_priorities },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo backend_tests[] = {
	{ "file backend", test_file_backend },
	{ "backend errors", test_backend_errors },
	{ "pty backend", test_pty_backend },
	{ "pty output without a reader", test_pty_no_reader },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo lpc_tests[] = {
	{ "-l parsing", test_lpc_parse },
	{ "COM ports on LPC", test_lpc_uarts },
	{ "LPC errors", test_lpc_errors },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "uart", uart_tests },
	{ "uart backends", backend_tests },
	{ "lpc", lpc_tests },
	{ NULL, NULL },
};
