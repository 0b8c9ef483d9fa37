/*
 * The built-in gdb stub's transports, as bhyve's -G: a TCP port
 * ("-G [w][addr:]port", IPv4 or IPv6, "[v6addr]:port" too) or a pty pair
 * in the manner of nmdm(4) ("-G [w]pty[:link]", console.c's pty backend:
 * the slave path on stderr, optionally symlinked), for
 * "target remote HOST:PORT" or "target remote /dev/pts/N".  'w' holds
 * every vCPU before its first instruction until a debugger attaches.
 *
 * One debugger at a time: over TCP a second connection is accepted and
 * closed at once.  A debugger that goes away without "detach" is
 * detached: its breakpoints go and the guest runs on.  The protocol is
 * gdb/'s; the VM side is gdb_target.c.
 *
 * Config: gdb.port (a number, or "pty"), gdb.address (default
 * localhost), gdb.wait, gdb.link (the pty's symlink).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "gdb.h"
#include "rhyve.h"

static struct gdb_server_softc {
	bool on;
	int listenfd;
	int wakefd[2]; /* the VM ended: the server thread stops */
	pthread_t thread;
	bool have_thread;
	struct console *pty;
	struct gdb_session *session; /* guarded by gdb_target_lock() */
	struct gdb_target target;
} gs = { .listenfd = -1, .wakefd = { -1, -1 } };

int
gdb_parse_opt(const char *opt)
{
	const char *port, *colon;
	char *addr = NULL, *end;
	long n;
	int error = 0;

	if (opt[0] == 'w') {
		set_config_bool("gdb.wait", true);
		opt++;
	}
	if (strcmp(opt, "pty") == 0 || strncmp(opt, "pty:", 4) == 0) {
		set_config_value("gdb.port", "pty");
		if (opt[3] == ':') {
			if (opt[4] == '\0') {
				rhyve_warnx("-G pty: an empty link path");
				return -1;
			}
			set_config_value("gdb.link", opt + 4);
		}
		return 0;
	}
	if (opt[0] == '[') {
		/* [v6addr]:port */
		const char *close = strchr(opt, ']');

		if (close == NULL || close[1] != ':') {
			rhyve_warnx("-G %s: want [address]:port", opt);
			return -1;
		}
		addr = strndup(opt + 1, (size_t)(close - opt - 1));
		port = close + 2;
	} else if ((colon = strrchr(opt, ':')) != NULL) {
		addr = strndup(opt, (size_t)(colon - opt));
		port = colon + 1;
	} else {
		port = opt;
	}
	errno = 0;
	n = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || n < 0 || n > 65535) {
		rhyve_warnx("-G %s: '%s' is not a TCP port (0-65535), nor "
			    "pty[:link]",
			    opt, port);
		error = -1;
	} else if (addr != NULL && addr[0] == '\0') {
		rhyve_warnx("-G %s: an empty address", opt);
		error = -1;
	} else {
		set_config_value("gdb.port", port);
		if (addr != NULL)
			set_config_value("gdb.address", addr);
	}
	free(addr);
	return error;
}

/* ---- a session over a byte stream ------------------------------------ */

static bool
tcp_send(void *arg, const uint8_t *buf, size_t len)
{
	int fd = *(int *)arg;

	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool
pty_send(void *arg, const uint8_t *buf, size_t len)
{
	console_write(gs.pty, buf, len);
	return true;
}

/*
 * With the target lock held: stop the VM for a new debugger and start
 * its session.  false when the VM has ended.
 */
static bool
session_open(gdb_send_fn send, void *sendarg)
{
	struct gdb_stop stop;

	if (!gdb_target_attach(&stop))
		return false;
	gs.session = gdb_session_new(&gs.target, &stop, send, sendarg);
	if (gs.session == NULL) {
		rhyve_warnx("gdb: out of memory");
		gs.target.ops->detach(gs.target.arg);
		return false;
	}
	gdb_target_set_session(gs.session);
	return true;
}

/* With the target lock held: the debugger is gone (or detached). */
static void
session_close(void)
{
	if (gs.session == NULL)
		return;
	if (!gdb_session_done(gs.session))
		gs.target.ops->detach(gs.target.arg);
	gdb_target_set_session(NULL);
	gdb_session_free(gs.session);
	gs.session = NULL;
}

/* ---- TCP --------------------------------------------------------------- */

static int
tcp_listen(const char *address, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
			*res, *ai;
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int fd = -1, one = 1, error;

	error = getaddrinfo(address, port, &hints, &res);
	if (error != 0) {
		rhyve_warnx("gdb: %s port %s: %s", address, port,
			    gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1) == 0)
			break;
		error = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rhyve_warnx("gdb: cannot listen on %s port %s: %s", address,
			    port, strerror(error));
		return -1;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		/* The port as bound: -G 0 picks a free one. */
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host),
				serv, sizeof(serv),
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			rhyve_warnx("gdb: listening on %s port %s", host, serv);
	}
	return fd;
}

/* A second debugger: accepted and closed at once, with a word why. */
static void
tcp_refuse(void)
{
	int fd = accept4(gs.listenfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	rhyve_warnx("gdb: refused a second debugger (one at a time)");
	shutdown(fd, SHUT_RDWR);
	close(fd);
}

/* Serve one connection until it goes or the VM ends. */
static void
tcp_serve(int fd)
{
	struct pollfd pfd[3] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = gs.listenfd, .events = POLLIN },
		{ .fd = gs.wakefd[0], .events = POLLIN },
	};
	struct timeval tv = { .tv_sec = 10 };
	uint8_t buf[4096];
	int one = 1;
	bool done = false;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A debugger that stops reading cannot hold a vCPU forever. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	gdb_target_lock();
	if (!session_open(tcp_send, &fd)) {
		gdb_target_unlock();
		return;
	}
	gdb_target_unlock();
	while (!done) {
		ssize_t n;

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[2].revents != 0)
			break; /* the VM ended; the exit reply is sent */
		if (pfd[1].revents & POLLIN)
			tcp_refuse();
		if (pfd[0].revents == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		gdb_target_lock();
		gdb_input(gs.session, buf, (size_t)n);
		done = gdb_session_done(gs.session);
		gdb_target_unlock();
	}
	gdb_target_lock();
	session_close();
	gdb_target_unlock();
}

static void *
tcp_thread(void *arg)
{
	struct pollfd pfd[2] = {
		{ .fd = gs.listenfd, .events = POLLIN },
		{ .fd = gs.wakefd[0], .events = POLLIN },
	};

	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		fd = accept4(gs.listenfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		tcp_serve(fd);
		close(fd);
	}
	return NULL;
}

/* ---- pty --------------------------------------------------------------- */

/*
 * Bytes from the pty (the event thread).  A pty has no connections: a
 * session starts with the first packet or Ctrl-C and ends with D or k.
 */
static void
pty_rx(void *arg, const uint8_t *buf, size_t len)
{
	gdb_target_lock();
	for (size_t i = 0; i < len; i++) {
		if (gs.session == NULL) {
			if (buf[i] != '$' && buf[i] != 0x03)
				continue; /* acks and noise between sessions */
			if (!session_open(pty_send, NULL))
				break;
		}
		gdb_input(gs.session, &buf[i], 1);
		if (gdb_session_done(gs.session))
			session_close();
	}
	gdb_target_unlock();
}

/* ---- set-up and the end ------------------------------------------------ */

int
gdb_server_init(struct vm *vm)
{
	const char *port = get_config_value("gdb.port");
	const char *link = get_config_value("gdb.link");
	char spec[4096], errbuf[256];

	if (port == NULL)
		return 0;
	gdb_target_get(&gs.target);
	gdb_target_init(vm, get_config_bool_default("gdb.wait", false));
	if (strcmp(port, "pty") == 0) {
		snprintf(spec, sizeof(spec), "pty%s%s", link != NULL ? ":" : "",
			 link != NULL ? link : "");
		gs.pty = console_open(spec, "gdb", pty_rx, NULL, errbuf,
				      sizeof(errbuf));
		if (gs.pty == NULL) {
			rhyve_warnx("gdb: %s", errbuf);
			return -1;
		}
	} else {
		gs.listenfd = tcp_listen(
		    get_config_value_default("gdb.address", "localhost"), port);
		if (gs.listenfd < 0)
			return -1;
		if (pipe2(gs.wakefd, O_CLOEXEC) != 0 ||
		    pthread_create(&gs.thread, NULL, tcp_thread, NULL) != 0) {
			rhyve_warnx("gdb: cannot start the server thread");
			return -1;
		}
		gs.have_thread = true;
	}
	gs.on = true;
	return 0;
}

void
gdb_server_vm_ended(int status)
{
	if (!gs.on)
		return;
	gdb_target_lock();
	if (gs.session != NULL)
		gdb_exited(gs.session, true, status, 0);
	gdb_target_unlock();
	gdb_target_vm_ended();
	if (gs.have_thread) {
		if (write(gs.wakefd[1], "x", 1) < 0)
			rhyve_warnx("gdb: cannot stop the server thread");
		pthread_join(gs.thread, NULL);
		gs.have_thread = false;
	}
}

void
gdb_server_fini(void)
{
	if (gs.have_thread)
		gdb_server_vm_ended(RHYVE_EXIT_ERROR);
	gdb_target_lock();
	session_close();
	gdb_target_unlock();
	if (gs.pty != NULL)
		console_close(gs.pty);
	gs.pty = NULL;
	if (gs.listenfd >= 0)
		close(gs.listenfd);
	for (int i = 0; i < 2; i++)
		if (gs.wakefd[i] >= 0)
			close(gs.wakefd[i]);
	gs.listenfd = gs.wakefd[0] = gs.wakefd[1] = -1;
	gs.on = false;
}
