/*
 * Console backends, after bhyve's uart_backend.c: what a serial port (or
 * later the gdb stub's pty transport) reads from and writes to.
 *
 *   stdio      stdin/stdout.  A terminal on stdin goes into raw mode and is
 *              restored at close and at exit.  stdin that epoll cannot watch
 *              (/dev/null, a regular file) or that reaches EOF gives no
 *              input.  Output is written fully; it may block on a terminal
 *              that is not being read, as in bhyve.  Only one at a time.
 *   file:PATH  output appended to PATH; no input.
 *   pty[:LINK] a new pty pair in raw mode; the slave path is printed on
 *              stderr and, with LINK, symlinked there (replacing a stale
 *              symlink; removed at close).  rhyve keeps a descriptor of the
 *              slave open so that the master never sees a hangup while no
 *              one is attached, and writes to the master without blocking:
 *              output waits in the pty's buffers while they have room (the
 *              next reader gets those few KiB first) and is dropped once
 *              they are full, so it never stalls the guest.
 *
 * Input is read on the event thread (mevent) and handed to the rx callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "rhyve.h"

enum console_kind {
	CONSOLE_STDIO,
	CONSOLE_FILE,
	CONSOLE_PTY,
};

struct console {
	enum console_kind kind;
	int rfd, wfd; /* -1 where there is none */
	int slavefd;  /* pty: our own descriptor of the slave */
	char *slave;  /* pty: slave path */
	char *link;   /* pty: symlink to remove at close */
	struct mevent *mev;
	console_rx_func_t rx;
	void *arg;
	bool stdio_owned;    /* stdio: we hold the one stdio console */
	pthread_mutex_t mtx; /* serializes writes; guards mev */
	uint64_t dropped;    /* output bytes lost (pty without room) */
	bool write_failed;   /* a write error was reported once */
};

/* stdio: one user; the terminal's mode before raw, for the exit handler. */
static pthread_mutex_t console_stdio_mtx = PTHREAD_MUTEX_INITIALIZER;
static bool console_stdio_busy;
static bool console_tio_saved;
static struct termios console_tio_orig;

static void
console_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static void
console_tty_restore(void)
{
	pthread_mutex_lock(&console_stdio_mtx);
	if (console_tio_saved) {
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &console_tio_orig);
		console_tio_saved = false;
	}
	pthread_mutex_unlock(&console_stdio_mtx);
}

/* stdin in raw mode if it is a terminal; undone at exit. */
static int
console_tty_raw(void)
{
	static bool atexit_done;
	struct termios tio;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &tio) < 0)
		return -1;
	pthread_mutex_lock(&console_stdio_mtx);
	console_tio_orig = tio;
	console_tio_saved = true;
	if (!atexit_done && atexit(console_tty_restore) == 0)
		atexit_done = true;
	pthread_mutex_unlock(&console_stdio_mtx);
	cfmakeraw(&tio);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) < 0)
		return -1;
	return 0;
}

/* Write everything, across short writes and signals. */
static int
console_write_full(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Input is ready on con->rfd (event thread). */
static void
console_readable(int fd, void *arg)
{
	struct console *con = arg;
	struct mevent *mev;
	uint8_t buf[256];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		if (con->rx != NULL)
			con->rx(con->arg, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/*
	 * EOF or an error: no more input from here.  Unregister, or the
	 * level-triggered event would fire forever.
	 */
	pthread_mutex_lock(&con->mtx);
	mev = con->mev;
	con->mev = NULL;
	pthread_mutex_unlock(&con->mtx);
	mevent_delete(mev);
}

static int
console_open_stdio(struct console *con, char *errbuf, size_t errlen)
{
	pthread_mutex_lock(&console_stdio_mtx);
	if (console_stdio_busy) {
		pthread_mutex_unlock(&console_stdio_mtx);
		console_err(errbuf, errlen, "stdio is already in use");
		return -1;
	}
	console_stdio_busy = true;
	pthread_mutex_unlock(&console_stdio_mtx);
	con->stdio_owned = true;
	con->rfd = STDIN_FILENO;
	con->wfd = STDOUT_FILENO;
	if (console_tty_raw() < 0) {
		console_err(errbuf, errlen, "cannot set the terminal raw: %s",
			    strerror(errno));
		return -1;
	}
	return 0;
}

static int
console_open_file(struct console *con, const char *path, char *errbuf,
		  size_t errlen)
{
	if (*path == '\0') {
		console_err(errbuf, errlen, "file: needs a path");
		return -1;
	}
	con->wfd = open(
	    path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (con->wfd < 0) {
		console_err(errbuf, errlen, "cannot open %s: %s", path,
			    strerror(errno));
		return -1;
	}
	return 0;
}

/* LINK -> slave; an existing symlink is stale and replaced. */
static int
console_pty_link(struct console *con, const char *link, char *errbuf,
		 size_t errlen)
{
	struct stat st;

	if (lstat(link, &st) == 0) {
		if (!S_ISLNK(st.st_mode)) {
			console_err(errbuf, errlen,
				    "%s exists and is not a symlink", link);
			return -1;
		}
		if (unlink(link) < 0 && errno != ENOENT) {
			console_err(errbuf, errlen, "cannot remove %s: %s",
				    link, strerror(errno));
			return -1;
		}
	}
	if (symlink(con->slave, link) < 0) {
		console_err(errbuf, errlen, "cannot create symlink %s: %s",
			    link, strerror(errno));
		return -1;
	}
	con->link = strdup(link);
	if (con->link == NULL) {
		unlink(link);
		console_err(errbuf, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
console_open_pty(struct console *con, const char *link, const char *label,
		 char *errbuf, size_t errlen)
{
	char name[PATH_MAX];
	struct termios tio;
	int fd, flags;

	fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		console_err(errbuf, errlen, "posix_openpt: %s",
			    strerror(errno));
		return -1;
	}
	con->rfd = con->wfd = fd;
	if (grantpt(fd) < 0 || unlockpt(fd) < 0 ||
	    ptsname_r(fd, name, sizeof(name)) != 0) {
		console_err(errbuf, errlen, "cannot set up the pty: %s",
			    strerror(errno));
		return -1;
	}
	con->slave = strdup(name);
	if (con->slave == NULL) {
		console_err(errbuf, errlen, "out of memory");
		return -1;
	}
	con->slavefd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (con->slavefd < 0) {
		console_err(errbuf, errlen, "cannot open %s: %s", name,
			    strerror(errno));
		return -1;
	}
	if (tcgetattr(con->slavefd, &tio) < 0) {
		console_err(errbuf, errlen, "tcgetattr %s: %s", name,
			    strerror(errno));
		return -1;
	}
	cfmakeraw(&tio);
	if (tcsetattr(con->slavefd, TCSANOW, &tio) < 0) {
		console_err(errbuf, errlen, "tcsetattr %s: %s", name,
			    strerror(errno));
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		console_err(errbuf, errlen, "fcntl O_NONBLOCK: %s",
			    strerror(errno));
		return -1;
	}
	if (link != NULL && console_pty_link(con, link, errbuf, errlen) < 0)
		return -1;
	if (con->link != NULL)
		fprintf(stderr, "rhyve: %s is %s (%s)\n",
			label != NULL ? label : "console", con->slave,
			con->link);
	else
		fprintf(stderr, "rhyve: %s is %s\n",
			label != NULL ? label : "console", con->slave);
	return 0;
}

struct console *
console_open(const char *spec, const char *label, console_rx_func_t rx,
	     void *arg, char *errbuf, size_t errlen)
{
	struct console *con;
	int error;

	if (spec == NULL) {
		console_err(errbuf, errlen, "no console backend given");
		return NULL;
	}
	con = calloc(1, sizeof(*con));
	if (con == NULL) {
		console_err(errbuf, errlen, "out of memory");
		return NULL;
	}
	con->rfd = con->wfd = con->slavefd = -1;
	con->rx = rx;
	con->arg = arg;
	pthread_mutex_init(&con->mtx, NULL);
	if (strcmp(spec, "stdio") == 0) {
		con->kind = CONSOLE_STDIO;
		error = console_open_stdio(con, errbuf, errlen);
	} else if (strncmp(spec, "file:", 5) == 0) {
		con->kind = CONSOLE_FILE;
		error = console_open_file(con, spec + 5, errbuf, errlen);
	} else if (strcmp(spec, "pty") == 0) {
		con->kind = CONSOLE_PTY;
		error = console_open_pty(con, NULL, label, errbuf, errlen);
	} else if (strncmp(spec, "pty:", 4) == 0 && spec[4] != '\0') {
		con->kind = CONSOLE_PTY;
		error = console_open_pty(con, spec + 4, label, errbuf, errlen);
	} else {
		console_err(errbuf, errlen,
			    "unknown console backend '%s' "
			    "(stdio, file:PATH, pty or pty:LINK)",
			    spec);
		pthread_mutex_destroy(&con->mtx);
		free(con);
		return NULL;
	}
	if (error < 0)
		goto fail;
	if (con->rfd >= 0) {
		con->mev = mevent_add_read(con->rfd, console_readable, con);
		/* stdin epoll cannot watch or closed: no input. */
		if (con->mev == NULL && !(con->kind == CONSOLE_STDIO &&
					  (errno == EPERM || errno == EBADF))) {
			console_err(errbuf, errlen,
				    "cannot watch the %s backend: %s", spec,
				    strerror(errno));
			goto fail;
		}
	}
	return con;
fail:
	console_close(con);
	return NULL;
}

void
console_write(struct console *con, const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (con == NULL || con->wfd < 0 || len == 0)
		return;
	pthread_mutex_lock(&con->mtx);
	if (con->kind == CONSOLE_PTY) {
		/* Non-blocking: what finds no room is dropped. */
		while (len > 0) {
			n = write(con->wfd, buf, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				con->dropped += len;
				break;
			}
			buf += n;
			len -= (size_t)n;
		}
	} else if (console_write_full(con->wfd, buf, len) < 0 &&
		   !con->write_failed) {
		con->write_failed = true;
		rhyve_warnx("console output lost: %s", strerror(errno));
	}
	pthread_mutex_unlock(&con->mtx);
}

void
console_close(struct console *con)
{
	struct mevent *mev;
	char target[PATH_MAX];
	ssize_t n;

	if (con == NULL)
		return;
	pthread_mutex_lock(&con->mtx);
	mev = con->mev;
	con->mev = NULL;
	pthread_mutex_unlock(&con->mtx);
	/* Waits for a running console_readable() to return. */
	mevent_delete(mev);
	if (con->stdio_owned) {
		console_tty_restore();
		pthread_mutex_lock(&console_stdio_mtx);
		console_stdio_busy = false;
		pthread_mutex_unlock(&console_stdio_mtx);
	}
	if (con->link != NULL) {
		/* Only if it still points to our slave. */
		n = readlink(con->link, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			if (strcmp(target, con->slave) == 0)
				unlink(con->link);
		}
	}
	if (con->slavefd >= 0)
		close(con->slavefd);
	/* stdio's descriptors are not ours; a pty's rfd is its wfd. */
	if (con->kind != CONSOLE_STDIO && con->wfd >= 0)
		close(con->wfd);
	free(con->link);
	free(con->slave);
	pthread_mutex_destroy(&con->mtx);
	free(con);
}
