/*
 * The event thread (mevent) and the console backends on their own:
 * registration from any thread, deletion while a handler runs, stop and
 * restart; stdio, file and pty specs and their errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cunit.h"
#include "rhyve.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Poll 'cond' for up to five seconds. */
#define WAIT_FOR(cond)                                                         \
	do {                                                                   \
		double t0_ = now();                                            \
		while (!(cond) && now() - t0_ < 5)                             \
			usleep(1000);                                          \
	} while (0)

struct pipe_ev {
	int fds[2];
	atomic_int calls;
	atomic_int bytes;
	atomic_bool in_handler;
	atomic_bool deleted; /* the handler unregistered itself */
	int sleep_us;
	bool self_delete;
	struct mevent *mev;
};

static void
pipe_readable(int fd, void *arg)
{
	struct pipe_ev *pe = arg;
	char buf[64];
	ssize_t n;

	atomic_store(&pe->in_handler, true);
	n = read(fd, buf, sizeof(buf));
	if (n > 0)
		atomic_fetch_add(&pe->bytes, (int)n);
	if (pe->sleep_us)
		usleep((useconds_t)pe->sleep_us);
	if (pe->self_delete || n == 0) {
		mevent_delete(pe->mev);
		pe->mev = NULL;
		atomic_store(&pe->deleted, true);
	}
	atomic_fetch_add(&pe->calls, 1);
	atomic_store(&pe->in_handler, false);
}

static void
test_mevent_basic(void)
{
	struct pipe_ev pe = { 0 };

	CU_ASSERT_EQUAL_FATAL(pipe2(pe.fds, O_CLOEXEC), 0);
	/* Registered before the thread runs: handled once it does. */
	pe.mev = mevent_add_read(pe.fds[0], pipe_readable, &pe);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pe.mev);
	CU_ASSERT_EQUAL(write(pe.fds[1], "abc", 3), 3);
	CU_ASSERT_EQUAL_FATAL(mevent_start(), 0);
	CU_ASSERT_EQUAL(mevent_start(), 0); /* already running: fine */
	WAIT_FOR(atomic_load(&pe.bytes) == 3);
	CU_ASSERT_EQUAL(atomic_load(&pe.bytes), 3);

	/* Stopped: nothing is handled; started again: it is. */
	mevent_stop();
	CU_ASSERT_EQUAL(write(pe.fds[1], "de", 2), 2);
	usleep(50000);
	CU_ASSERT_EQUAL(atomic_load(&pe.bytes), 3);
	CU_ASSERT_EQUAL_FATAL(mevent_start(), 0);
	WAIT_FOR(atomic_load(&pe.bytes) == 5);
	CU_ASSERT_EQUAL(atomic_load(&pe.bytes), 5);

	/* EOF: the handler unregisters itself on the event thread. */
	close(pe.fds[1]);
	WAIT_FOR(atomic_load(&pe.deleted));
	CU_ASSERT_TRUE(atomic_load(&pe.deleted));
	usleep(20000);
	close(pe.fds[0]);
	mevent_stop();
	mevent_stop(); /* not running: fine */
}

static void
test_mevent_delete_waits(void)
{
	struct pipe_ev pe = { 0 };
	double t0;

	CU_ASSERT_EQUAL_FATAL(pipe2(pe.fds, O_CLOEXEC), 0);
	CU_ASSERT_EQUAL_FATAL(mevent_start(), 0);
	pe.sleep_us = 200000;
	pe.mev = mevent_add_read(pe.fds[0], pipe_readable, &pe);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pe.mev);
	CU_ASSERT_EQUAL(write(pe.fds[1], "x", 1), 1);
	WAIT_FOR(atomic_load(&pe.in_handler));
	CU_ASSERT_TRUE_FATAL(atomic_load(&pe.in_handler));
	/* Deleting from here returns only after the handler is done. */
	t0 = now();
	mevent_delete(pe.mev);
	CU_ASSERT_FALSE(atomic_load(&pe.in_handler));
	CU_ASSERT_EQUAL(atomic_load(&pe.calls), 1);
	CU_ASSERT(now() - t0 > 0.05);
	/* And it is not called again. */
	CU_ASSERT_EQUAL(write(pe.fds[1], "y", 1), 1);
	usleep(50000);
	CU_ASSERT_EQUAL(atomic_load(&pe.calls), 1);
	close(pe.fds[0]);
	close(pe.fds[1]);
	mevent_stop();
}

static void
test_mevent_many(void)
{
	struct pipe_ev pe[8];

	memset(pe, 0, sizeof(pe));
	CU_ASSERT_EQUAL_FATAL(mevent_start(), 0);
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL_FATAL(pipe2(pe[i].fds, O_CLOEXEC), 0);
		pe[i].self_delete = i % 2 == 0;
		pe[i].mev =
		    mevent_add_read(pe[i].fds[0], pipe_readable, &pe[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pe[i].mev);
	}
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(write(pe[i].fds[1], "12", 2), 2);
	for (int i = 0; i < 8; i++) {
		WAIT_FOR(atomic_load(&pe[i].bytes) == 2);
		CU_ASSERT_EQUAL(atomic_load(&pe[i].bytes), 2);
	}
	for (int i = 0; i < 8; i++) {
		if (i % 2 == 0)
			CU_ASSERT_EQUAL(atomic_load(&pe[i].calls), 1);
		mevent_delete(pe[i].mev); /* NULL for the self-deleted */
		close(pe[i].fds[0]);
		close(pe[i].fds[1]);
	}
	/* A descriptor epoll cannot watch is refused with EPERM. */
	{
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		errno = 0;
		CU_ASSERT_PTR_NULL(mevent_add_read(fd, pipe_readable, NULL));
		CU_ASSERT_EQUAL(errno, EPERM);
		close(fd);
	}
	mevent_stop();
}

struct rx_buf {
	pthread_mutex_t mtx;
	char data[256];
	size_t len;
};

static void
rx_collect(void *arg, const uint8_t *buf, size_t len)
{
	struct rx_buf *rb = arg;

	pthread_mutex_lock(&rb->mtx);
	if (len > sizeof(rb->data) - 1 - rb->len)
		len = sizeof(rb->data) - 1 - rb->len;
	memcpy(rb->data + rb->len, buf, len);
	rb->len += len;
	pthread_mutex_unlock(&rb->mtx);
}

static size_t
rx_len(struct rx_buf *rb)
{
	size_t len;

	pthread_mutex_lock(&rb->mtx);
	len = rb->len;
	pthread_mutex_unlock(&rb->mtx);
	return len;
}

static void
test_console_specs(void)
{
	struct termios tio, orig;
	char errbuf[256];
	struct console *con;

	errbuf[0] = '\0';
	CU_ASSERT_PTR_NULL(
	    console_open("tty", "com1", NULL, NULL, errbuf, sizeof(errbuf)));
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "unknown console backend"));
	CU_ASSERT_PTR_NULL(
	    console_open("file:", "com1", NULL, NULL, errbuf, sizeof(errbuf)));
	CU_ASSERT_PTR_NULL(
	    console_open("pty:", "com1", NULL, NULL, errbuf, sizeof(errbuf)));
	CU_ASSERT_PTR_NULL(
	    console_open("", "com1", NULL, NULL, errbuf, sizeof(errbuf)));
	CU_ASSERT_PTR_NULL(console_open("file:/nonexistent/x", "com1", NULL,
					NULL, errbuf, sizeof(errbuf)));
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "cannot open /nonexistent/x"));
	CU_ASSERT_PTR_NULL(
	    console_open(NULL, "com1", NULL, NULL, errbuf, sizeof(errbuf)));

	/* stdio: one user at a time; writing zero bytes is a no-op. */
	if (isatty(STDIN_FILENO))
		CU_ASSERT_EQUAL(tcgetattr(STDIN_FILENO, &orig), 0);
	con = console_open("stdio", "com1", NULL, NULL, errbuf, sizeof(errbuf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(con);
	CU_ASSERT_PTR_NULL(
	    console_open("stdio", "com2", NULL, NULL, errbuf, sizeof(errbuf)));
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "in use"));
	console_write(con, (const uint8_t *)"", 0);
	/* On a terminal: raw while open, restored at close. */
	if (isatty(STDIN_FILENO)) {
		CU_ASSERT_EQUAL(tcgetattr(STDIN_FILENO, &tio), 0);
		CU_ASSERT_EQUAL(tio.c_lflag & (ICANON | ECHO | ISIG), 0);
	}
	console_close(con);
	if (isatty(STDIN_FILENO)) {
		CU_ASSERT_EQUAL(tcgetattr(STDIN_FILENO, &tio), 0);
		CU_ASSERT_EQUAL(tio.c_lflag & ICANON, orig.c_lflag & ICANON);
	}
	con = console_open("stdio", "com2", NULL, NULL, errbuf, sizeof(errbuf));
	CU_ASSERT_PTR_NOT_NULL(con);
	console_close(con);
	console_close(NULL);
}

/* stdin at EOF (a pipe whose writer is gone) just means no input. */
static void
test_console_stdio_eof(void)
{
	struct rx_buf rb = { PTHREAD_MUTEX_INITIALIZER };
	char errbuf[256];
	struct console *con;
	int saved, fd, fds[2];

	saved = dup(STDIN_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	CU_ASSERT_EQUAL(write(fds[1], "in", 2), 2);
	close(fds[1]);
	dup2(fds[0], STDIN_FILENO);
	close(fds[0]);
	CU_ASSERT_EQUAL_FATAL(mevent_start(), 0);
	con = console_open("stdio", "com1", rx_collect, &rb, errbuf,
			   sizeof(errbuf));
	CU_ASSERT_PTR_NOT_NULL(con);
	WAIT_FOR(rx_len(&rb) == 2);
	CU_ASSERT_EQUAL(rx_len(&rb), 2);
	CU_ASSERT_EQUAL(memcmp(rb.data, "in", 2), 0);
	usleep(20000); /* EOF seen and unregistered, no busy loop */
	console_close(con);

	/* /dev/null: epoll refuses it, still no error. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	dup2(fd, STDIN_FILENO);
	close(fd);
	con = console_open("stdio", "com1", rx_collect, &rb, errbuf,
			   sizeof(errbuf));
	CU_ASSERT_PTR_NOT_NULL(con);
	console_close(con);
	dup2(saved, STDIN_FILENO);
	close(saved);
	mevent_stop();
}

static void
test_console_pty_link(void)
{
	char dir[] = "/tmp/rhyve-con-XXXXXX";
	char link[128], spec[160], target[128], errbuf[256];
	struct rx_buf rb = { PTHREAD_MUTEX_INITIALIZER };
	struct console *con, *con2;
	struct pollfd pfd;
	char buf[16];
	ssize_t n;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/ttyS0", dir);
	snprintf(spec, sizeof(spec), "pty:%s", link);
	CU_ASSERT_EQUAL_FATAL(mevent_start(), 0);

	/* A stale symlink is replaced. */
	CU_ASSERT_EQUAL(symlink("/dev/pts/nonexistent", link), 0);
	con = console_open(spec, "ttyS0", rx_collect, &rb, errbuf,
			   sizeof(errbuf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(con);
	n = readlink(link, target, sizeof(target) - 1);
	CU_ASSERT_FATAL(n > 0);
	target[n] = '\0';
	CU_ASSERT_EQUAL(strncmp(target, "/dev/pts/", 9), 0);

	/* Both directions through the slave. */
	fd = open(link, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "ping\n", 5), 5);
	WAIT_FOR(rx_len(&rb) == 5);
	CU_ASSERT_EQUAL(rx_len(&rb), 5);
	CU_ASSERT_EQUAL(memcmp(rb.data, "ping\n", 5), 0); /* raw: as sent */
	console_write(con, (const uint8_t *)"pong\n", 5);
	pfd.fd = fd;
	pfd.events = POLLIN;
	CU_ASSERT_EQUAL(poll(&pfd, 1, 5000), 1);
	n = read(fd, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(memcmp(buf, "pong\n", 5), 0);
	/* The user goes away and comes back: input still works. */
	close(fd);
	usleep(20000);
	fd = open(link, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "again", 5), 5);
	WAIT_FOR(rx_len(&rb) == 10);
	CU_ASSERT_EQUAL(rx_len(&rb), 10);
	close(fd);

	/* A second console on the same link takes it over... */
	con2 = console_open(spec, "ttyS1", NULL, NULL, errbuf, sizeof(errbuf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(con2);
	/* ...and closing the first leaves the link that is not its own. */
	console_close(con);
	CU_ASSERT_EQUAL(access(link, F_OK), 0);
	console_close(con2);
	CU_ASSERT_EQUAL(access(link, F_OK), -1);

	/* Something that is not a symlink is never clobbered. */
	fd = open(link, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_PTR_NULL(
	    console_open(spec, "ttyS0", NULL, NULL, errbuf, sizeof(errbuf)));
	CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "not a symlink"));
	unlink(link);
	rmdir(dir);
	mevent_stop();
}

static CU_TestInfo mevent_tests[] = {
	{ "add, stop, restart, EOF", test_mevent_basic },
	{ "delete waits for the handler", test_mevent_delete_waits },
	{ "many descriptors", test_mevent_many },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo console_tests[] = {
	{ "specs and errors", test_console_specs },
	{ "stdio at EOF", test_console_stdio_eof },
	{ "pty with a link", test_console_pty_link },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "mevent", mevent_tests },
	{ "console", console_tests },
	{ NULL, NULL },
};
