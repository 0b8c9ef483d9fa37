/*
 * The event loop, after bhyve's mevent.c: one thread waits with epoll on
 * the host file descriptors devices registered and calls their handlers.
 *
 * Registrations can come and go from any thread.  epoll carries an id, not
 * a pointer, so a deleted event that is still in a batch epoll_wait()
 * returned is simply not found.  mevent_delete() from another thread waits
 * until the handler of that event is not running, so the caller may free
 * what the handler uses as soon as it returns; from inside a handler (on
 * the event thread) it only unregisters.  Delete an event before closing
 * its descriptor.
 *
 * Readiness is level-triggered: a handler that does not consume its input
 * (or that sees EOF and stays registered) is called again at once.
 * Descriptors epoll cannot watch (regular files, /dev/null) are refused
 * with errno EPERM.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "rhyve.h"

#define MEVENT_WAKEUP_ID 0 /* the eventfd that mevent_stop() writes */
#define MEVENT_BATCH     16

struct mevent {
	uint64_t id;
	int fd;
	mevent_func_t fn;
	void *arg;
	struct mevent *next;
};

static pthread_mutex_t mevent_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mevent_cv = PTHREAD_COND_INITIALIZER;
static int mevent_epfd = -1;
static int mevent_wakefd = -1;
static struct mevent *mevent_list;
static uint64_t mevent_next_id = MEVENT_WAKEUP_ID + 1;
static uint64_t mevent_running_id; /* handler in progress, 0 if none */
static pthread_t mevent_tid;
static bool mevent_thread_up;
static bool mevent_stopping;

/* Create the epoll instance and the wakeup eventfd; under mevent_mtx. */
static int
mevent_setup_locked(void)
{
	struct epoll_event ev;

	if (mevent_epfd >= 0)
		return 0;
	mevent_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (mevent_epfd < 0)
		return -1;
	mevent_wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mevent_wakefd < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = MEVENT_WAKEUP_ID;
	if (epoll_ctl(mevent_epfd, EPOLL_CTL_ADD, mevent_wakefd, &ev) < 0)
		goto fail;
	return 0;
fail:
	if (mevent_wakefd >= 0)
		close(mevent_wakefd);
	close(mevent_epfd);
	mevent_wakefd = mevent_epfd = -1;
	return -1;
}

static struct mevent *
mevent_find_locked(uint64_t id)
{
	for (struct mevent *evp = mevent_list; evp != NULL; evp = evp->next)
		if (evp->id == id)
			return evp;
	return NULL;
}

struct mevent *
mevent_add_read(int fd, mevent_func_t fn, void *arg)
{
	struct epoll_event ev;
	struct mevent *evp;
	int error;

	evp = calloc(1, sizeof(*evp));
	if (evp == NULL)
		return NULL;
	pthread_mutex_lock(&mevent_mtx);
	if (mevent_setup_locked() < 0)
		goto fail;
	evp->id = mevent_next_id++;
	evp->fd = fd;
	evp->fn = fn;
	evp->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = evp->id;
	if (epoll_ctl(mevent_epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	evp->next = mevent_list;
	mevent_list = evp;
	pthread_mutex_unlock(&mevent_mtx);
	return evp;
fail:
	error = errno;
	pthread_mutex_unlock(&mevent_mtx);
	free(evp);
	errno = error;
	return NULL;
}

void
mevent_delete(struct mevent *evp)
{
	struct mevent **pp;

	if (evp == NULL)
		return;
	pthread_mutex_lock(&mevent_mtx);
	for (pp = &mevent_list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == evp) {
			*pp = evp->next;
			break;
		}
	}
	(void)epoll_ctl(mevent_epfd, EPOLL_CTL_DEL, evp->fd, NULL);
	if (!(mevent_thread_up && pthread_equal(pthread_self(), mevent_tid)))
		while (mevent_running_id == evp->id)
			pthread_cond_wait(&mevent_cv, &mevent_mtx);
	pthread_mutex_unlock(&mevent_mtx);
	free(evp);
}

static void *
mevent_thread(void *unused)
{
	struct epoll_event evs[MEVENT_BATCH];
	struct mevent *evp;
	mevent_func_t fn;
	uint64_t val;
	void *arg;
	int fd, n;

	for (;;) {
		n = epoll_wait(mevent_epfd, evs, MEVENT_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rhyve_warnx("mevent: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			pthread_mutex_lock(&mevent_mtx);
			if (mevent_stopping) {
				pthread_mutex_unlock(&mevent_mtx);
				return NULL;
			}
			if (evs[i].data.u64 == MEVENT_WAKEUP_ID) {
				pthread_mutex_unlock(&mevent_mtx);
				while (read(mevent_wakefd, &val, sizeof(val)) >
				       0)
					;
				continue;
			}
			evp = mevent_find_locked(evs[i].data.u64);
			if (evp == NULL) { /* deleted after epoll_wait() */
				pthread_mutex_unlock(&mevent_mtx);
				continue;
			}
			mevent_running_id = evp->id;
			fd = evp->fd;
			fn = evp->fn;
			arg = evp->arg;
			pthread_mutex_unlock(&mevent_mtx);

			fn(fd, arg);

			pthread_mutex_lock(&mevent_mtx);
			mevent_running_id = 0;
			pthread_cond_broadcast(&mevent_cv);
			pthread_mutex_unlock(&mevent_mtx);
		}
	}
}

int
mevent_start(void)
{
	sigset_t all, old;
	int error;

	pthread_mutex_lock(&mevent_mtx);
	if (mevent_thread_up) {
		pthread_mutex_unlock(&mevent_mtx);
		return 0;
	}
	if (mevent_setup_locked() < 0) {
		error = errno;
		pthread_mutex_unlock(&mevent_mtx);
		rhyve_warnx("mevent: cannot set up epoll: %s", strerror(error));
		return -1;
	}
	mevent_stopping = false;
	/* Signals are for the main thread: the event thread blocks them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&mevent_tid, NULL, mevent_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error == 0) {
		pthread_setname_np(mevent_tid, "mevent");
		mevent_thread_up = true;
	}
	pthread_mutex_unlock(&mevent_mtx);
	if (error != 0) {
		rhyve_warnx("mevent: cannot start thread: %s", strerror(error));
		return -1;
	}
	return 0;
}

void
mevent_stop(void)
{
	uint64_t one = 1;
	ssize_t n;

	pthread_mutex_lock(&mevent_mtx);
	if (!mevent_thread_up || pthread_equal(pthread_self(), mevent_tid)) {
		pthread_mutex_unlock(&mevent_mtx);
		return;
	}
	mevent_stopping = true;
	pthread_mutex_unlock(&mevent_mtx);
	do
		n = write(mevent_wakefd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	pthread_join(mevent_tid, NULL);
	pthread_mutex_lock(&mevent_mtx);
	mevent_thread_up = false;
	mevent_stopping = false;
	pthread_mutex_unlock(&mevent_mtx);
}
