/*
 * rhyve(8), the monitor: the whole internal API in one header, as Solo5's
 * hvt.h.  The pieces, each in its own file:
 *
 *   config.c     the dotted key=value config tree (-o, -k, config.dump)
 *   options.c    command-line parsing into the config tree
 *   inout.c      the flat port table (port I/O exits)
 *   mem.c        the MMIO range tree with a per-vCPU last-hit cache
 *   mevent.c     the event loop thread for host file descriptors
 *   console.c    console backends: stdio, file, pty (nmdm style)
 *   lpc.c        LPC devices (-l) and their registration
 *   uart_16550.c the 16550 UART model; uart_lpc.c puts COM1-COM4 on LPC
 *   pctestdev.c  bhyve's pc-testdev for test kernels
 *   vcpu.c       one thread per vCPU and the table of exit handlers
 *   rhyve.c      main(): config -> VM -> devices -> kernel -> run
 */
#ifndef RHYVE_MONITOR_RHYVE_H
#define RHYVE_MONITOR_RHYVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm.h"

/* Exit status of rhyve, as bhyve(8). */
enum rhyve_exit_status {
	RHYVE_EXIT_RESET = 0,
	RHYVE_EXIT_POWEROFF = 1,
	RHYVE_EXIT_HALT = 2,
	RHYVE_EXIT_TRIPLEFAULT = 3,
	RHYVE_EXIT_ERROR = 4,
};

/* Print "rhyve: <message>" on stderr: the one place errors leave from. */
void rhyve_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- config.c: the config tree -------------------------------------- */

/*
 * Keys are dotted paths ("lpc.com1.path"); a node holds either a value or
 * children.  Setting "a.b=1" when "a.b.c" exists (or the reverse) is an
 * error, as in bhyve.
 */
struct config_node;

void init_config(void);
void free_config(void);
int set_config_value(const char *path, const char *value);
int set_config_value_node(struct config_node *parent, const char *name,
			  const char *value);
const char *get_config_value(const char *path);
const char *get_config_value_default(const char *path, const char *def);
const char *get_config_value_node(const struct config_node *parent,
				  const char *name);
int set_config_bool(const char *path, bool value);
/* A bool that is not "true"/"false"/"yes"/"no"/"on"/"off"/"1"/"0" exits. */
bool get_config_bool_default(const char *path, bool def);
struct config_node *create_config_node(const char *path);
struct config_node *find_config_node(const char *path);
const char *config_node_name(const struct config_node *node);
const char *config_node_value(const struct config_node *node);
/* Visit the direct children of 'node' in insertion order. */
void config_node_foreach(const struct config_node *node,
			 void (*fn)(const struct config_node *child, void *arg),
			 void *arg);
/* "key=value" as given to -o; errbuf gets a one-line reason. */
int config_parse_option(const char *kv, char *errbuf, size_t errlen);
/* -k FILE: one key=value a line, '#' comments, blank lines ignored. */
int load_config_file(const char *path, char *errbuf, size_t errlen);
int load_config_buffer(const char *buf, size_t len, const char *name,
		       char *errbuf, size_t errlen);
/* All leaves as "key=value" lines, in order. */
void dump_config(FILE *fp);

/* Sizes with K/M/G/T suffixes, as bhyve's -m (no suffix means MiB). */
int parse_memsize(const char *str, size_t *sizep);

/* ---- options.c ------------------------------------------------------- */

/* Parse argv into the config tree.  Returns 0, or -1 after printing. */
int rhyve_parse_args(int argc, char **argv);
void rhyve_usage(FILE *fp);

/* ---- inout.c: the port table ----------------------------------------- */

#define IOPORT_F_IN      0x1
#define IOPORT_F_OUT     0x2
#define IOPORT_F_INOUT   (IOPORT_F_IN | IOPORT_F_OUT)
#define IOPORT_F_DEFAULT 0x80000000 /* claimed by the catch-all handler */

/*
 * A port handler.  'in' is true for reads; *eax holds the value written,
 * or receives the value read (the low 'bytes' bytes are used).  Return 0,
 * or -1 to make the access an error that stops the VM.
 */
typedef int (*inout_func_t)(struct vcpu *vcpu, bool in, int port, int bytes,
			    uint32_t *eax, void *arg);

struct inout_port {
	const char *name;
	int port;
	int size;
	int flags;
	inout_func_t handler;
	void *arg;
};

void init_inout(void);
int register_inout(const struct inout_port *iop);
int unregister_inout(const struct inout_port *iop);
/*
 * Handle a VM_EXITCODE_INOUT exit.  Unclaimed ports read as all-ones and
 * swallow writes, unless 'strict' (-e), where they are an error.
 */
int emulate_inout(struct vcpu *vcpu, struct vm_exit *vmexit, bool strict);

/* ---- mem.c: the MMIO range tree -------------------------------------- */

#define MEM_F_READ      0x1
#define MEM_F_WRITE     0x2
#define MEM_F_RW        (MEM_F_READ | MEM_F_WRITE)
#define MEM_F_IMMUTABLE 0x4 /* cannot be unregistered */

/* An MMIO handler: 'write' says the direction; *val is the data. */
typedef int (*mem_func_t)(struct vcpu *vcpu, bool write, uint64_t gpa, int size,
			  uint64_t *val, void *arg1, long arg2);

struct mem_range {
	const char *name;
	int flags;
	mem_func_t handler;
	void *arg1;
	long arg2;
	uint64_t base;
	uint64_t size;
};

void init_mem(int ncpu);
int register_mem(const struct mem_range *mr);
int unregister_mem(const struct mem_range *mr);
/* Handle a VM_EXITCODE_MMIO exit; ESRCH where no range claims the gpa. */
int emulate_mem(struct vcpu *vcpu, struct vm_mmio *mmio);

/* ---- mevent.c: host file descriptors --------------------------------- */

struct mevent;
typedef void (*mevent_func_t)(int fd, void *arg);

/* Call 'fn' on the event thread whenever 'fd' is readable. */
struct mevent *mevent_add_read(int fd, mevent_func_t fn, void *arg);
void mevent_delete(struct mevent *evp);
int mevent_start(void); /* starts the event thread */
void mevent_stop(void);

/* ---- console.c: console backends ------------------------------------- */

/*
 * A console backend, from a spec string:
 *   stdio          the terminal rhyve runs on (raw mode while it runs)
 *   file:PATH      output appended to PATH, no input
 *   pty[:LINK]     a new pty pair; the slave path is printed on stderr and,
 *                  with LINK, symlinked there (nmdm(4) style)
 */
struct console;
typedef void (*console_rx_func_t)(void *arg, const uint8_t *buf, size_t len);

/* 'label' names the user in messages ("rhyve: com1 is /dev/pts/3"). */
struct console *console_open(const char *spec, const char *label,
			     console_rx_func_t rx, void *arg, char *errbuf,
			     size_t errlen);
void console_write(struct console *con, const uint8_t *buf, size_t len);
void console_close(struct console *con);

/* ---- uart_16550.c ---------------------------------------------------- */

struct uart_softc;
typedef void (*uart_intr_func_t)(void *arg);

struct uart_softc *uart_init(uart_intr_func_t intr_assert,
			     uart_intr_func_t intr_deassert, void *arg);
void uart_deinit(struct uart_softc *sc);
/* Attach a console backend (see console_open()); NULL spec: none. */
int uart_set_backend(struct uart_softc *sc, const char *spec, const char *label,
		     char *errbuf, size_t errlen);
uint8_t uart_read(struct uart_softc *sc, int offset);
void uart_write(struct uart_softc *sc, int offset, uint8_t value);
/* Legacy COM1-COM4: I/O base and ISA IRQ of 'unit' (0-3). */
int uart_legacy_alloc(int unit, int *ioaddr, int *irq);

/* ---- lpc.c: LPC devices ---------------------------------------------- */

struct lpc_dev {
	const char *name;
	const char *help; /* one line for "-l help" */
	/* Create the device from its config node "lpc.<name>". */
	int (*init)(struct vm *vm, const struct config_node *node);
	void (*deinit)(void);
};

void lpc_register(const struct lpc_dev *dev);
#define LPC_DEV_REGISTER(dev)                                                  \
	static void __attribute__((constructor)) lpc_register_##dev(void)      \
	{                                                                      \
		lpc_register(&(dev));                                          \
	}
/* "-l com1,stdio" -> lpc.com1.path=stdio; "-l help" lists devices. */
int lpc_device_parse(const char *opts);
void lpc_print_supported(FILE *fp);
/* Create every device named under "lpc." in the config tree. */
int lpc_init(struct vm *vm);
void lpc_deinit(void);

/* ---- vcpu.c: the run loop -------------------------------------------- */

enum vmexit_ret {
	VMEXIT_CONTINUE, /* go on running this vCPU */
	VMEXIT_ABORT,    /* error: stop the VM with status 4 */
};

/*
 * Block SIGINT, SIGTERM and SIGHUP in the calling thread and every thread
 * it starts later; vcpu_run_all() takes them with sigwait().  Call first.
 */
void rhyve_block_signals(void);
/* The decoded instruction behind an exit, disassembled (per thread). */
const char *vmexit_insn_text(const struct vm_exit *vmexit);
/* Run every vCPU of 'vm' in its own thread; returns the exit status. */
int vcpu_run_all(struct vm *vm);
/* Ask the VM to stop with 'status' (e.g. from a device). */
void rhyve_request_exit(struct vm *vm, int status);

#endif
