/*
 * The port table, as bhyve's inout.c: one handler slot per I/O port.
 * Unclaimed ports are served by a default handler that reads all-ones.
 */
#include <errno.h>
#include <string.h>

#include "rhyve.h"

#define MAX_IOPORTS 0x10000

static struct {
	const char *name;
	int flags;
	inout_func_t handler;
	void *arg;
} inout_handlers[MAX_IOPORTS];

static int
default_inout(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	      void *arg)
{
	if (in)
		*eax = bytes == 4 ? 0xffffffff : (1u << (bytes * 8)) - 1;
	return 0;
}

static void
set_default(int port)
{
	inout_handlers[port].name = "default";
	inout_handlers[port].flags = IOPORT_F_INOUT | IOPORT_F_DEFAULT;
	inout_handlers[port].handler = default_inout;
	inout_handlers[port].arg = NULL;
}

void
init_inout(void)
{
	for (int i = 0; i < MAX_IOPORTS; i++)
		set_default(i);
}

static bool
range_ok(const struct inout_port *iop)
{
	return iop->port >= 0 && iop->size > 0 &&
	       iop->port + iop->size <= MAX_IOPORTS &&
	       (iop->flags & IOPORT_F_INOUT) != 0 && iop->handler != NULL;
}

int
register_inout(const struct inout_port *iop)
{
	if (!range_ok(iop))
		return EINVAL;
	/* All or nothing: refuse if any port of the range is taken. */
	for (int i = iop->port; i < iop->port + iop->size; i++)
		if (!(inout_handlers[i].flags & IOPORT_F_DEFAULT))
			return EEXIST;
	for (int i = iop->port; i < iop->port + iop->size; i++) {
		inout_handlers[i].name = iop->name;
		inout_handlers[i].flags = iop->flags;
		inout_handlers[i].handler = iop->handler;
		inout_handlers[i].arg = iop->arg;
	}
	return 0;
}

int
unregister_inout(const struct inout_port *iop)
{
	if (!range_ok(iop))
		return EINVAL;
	for (int i = iop->port; i < iop->port + iop->size; i++)
		if (inout_handlers[i].handler != iop->handler ||
		    inout_handlers[i].arg != iop->arg)
			return ENOENT;
	for (int i = iop->port; i < iop->port + iop->size; i++)
		set_default(i);
	return 0;
}

int
emulate_inout(struct vcpu *vcpu, struct vm_exit *vmexit, bool strict)
{
	struct vm_inout *io = &vmexit->u.inout;
	int port = io->port;
	int flag = io->in ? IOPORT_F_IN : IOPORT_F_OUT;

	if (io->bytes != 1 && io->bytes != 2 && io->bytes != 4) {
		rhyve_warnx("vcpu %d: port 0x%x: bad access size %u",
			    vcpu_id(vcpu), port, io->bytes);
		return -1;
	}
	if ((inout_handlers[port].flags & IOPORT_F_DEFAULT) && strict) {
		rhyve_warnx("vcpu %d: %s of %u bytes at unclaimed port 0x%x "
			    "(rip 0x%lx: %s) with strict I/O (-e)",
			    vcpu_id(vcpu), io->in ? "read" : "write", io->bytes,
			    port, (unsigned long)vmexit->rip,
			    vmexit_insn_text(vmexit));
		return -1;
	}
	if (!(inout_handlers[port].flags & flag)) {
		rhyve_warnx("vcpu %d: port 0x%x (%s) does not allow %s",
			    vcpu_id(vcpu), port, inout_handlers[port].name,
			    io->in ? "reads" : "writes");
		return -1;
	}
	/* String I/O comes as 'count' elements in one exit. */
	for (uint32_t i = 0; i < io->count; i++) {
		uint8_t *elem = io->data + (size_t)i * io->bytes;
		uint32_t eax = 0;

		if (!io->in)
			memcpy(&eax, elem, io->bytes);
		if (inout_handlers[port].handler(
			vcpu, io->in, port, io->bytes, &eax,
			inout_handlers[port].arg) != 0) {
			rhyve_warnx("vcpu %d: %s of %u bytes at port 0x%x (%s) "
				    "failed",
				    vcpu_id(vcpu), io->in ? "read" : "write",
				    io->bytes, port, inout_handlers[port].name);
			return -1;
		}
		if (io->in)
			memcpy(elem, &eax, io->bytes);
	}
	return 0;
}
