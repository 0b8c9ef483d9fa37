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
 *   record.c     --record: the trace file around kmod's recorder
 *   replay.c     --replay: a VM rebuilt from a trace, run by kmod's replayer
 *   pci_emul.c   the PCI bus: config mechanism #1, ECAM, BARs (-s)
 *   pci_hostbridge.c, pci_lpc.c   the host bridge and ISA bridge models
 *   fwcfg.c      QEMU's fw_cfg on ports 0x510/0x511 (-f)
 *   pm.c         ACPI PM1 event/control blocks (power-off), reset 0xcf9
 *   acpi.c       the ACPI tables; acpi_aml.c builds the DSDT's AML
 *   gdb_server.c the gdb stub's transports (-G: TCP or a pty)
 *   gdb_target.c the live VM as a gdb target; the all-stop protocol
 *   gdb_reverse.c reverse execution (bs, bc) on a replay
 *   vcpu.c       one thread per vCPU and the table of exit handlers
 *   rhyve.c      main(): config -> VM -> devices -> kernel -> run
 */
#ifndef RHYVE_MONITOR_RHYVE_H
#define RHYVE_MONITOR_RHYVE_H

#include <pthread.h>
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
/* All leaves as "key=value" lines, in order; empty nodes as "key". */
void dump_config(FILE *fp);
/*
 * Visit every leaf with its full dotted path, in order, and every empty
 * node (a device without options: -l pc-testdev) with value NULL.
 */
typedef void (*config_leaf_func_t)(const char *path, const char *value,
				   void *arg);
void config_foreach_leaf(config_leaf_func_t fn, void *arg);

/* Sizes with K/M/G/T suffixes, as bhyve's -m (no suffix means MiB). */
int parse_memsize(const char *str, size_t *sizep);

/* ---- topology.c: the vCPUs' count, topology and host CPUs ----------- */

struct vm_topology_cfg {
	int cpus, sockets, cores, threads;
};

/* cpus, sockets, cores, threads as bhyve; -1 after printing why. */
int topology_config(struct vm_topology_cfg *t);
/* -p vcpu:hostcpu: adds hostcpu to vcpu.N.cpuset. */
int pincpu_parse(const char *opt);
/* Every vcpu.N.cpuset valid, on existing host CPUs and vCPUs. */
int pincpu_check_config(int ncpus);
/* Attributes for a vCPU's thread: pinned to vcpu.N.cpuset, if set. */
int vcpu_thread_attr(int vcpu, pthread_attr_t *attr);

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

/* ==== PCI and fw_cfg: pci_emul.c, pci_hostbridge.c, pci_lpc.c, fwcfg.c ==== */

/*
 * The PCI bus, after bhyve's pci_emul.c.  One bus (0) of 32 slots with 8
 * functions each; a function is a struct pci_devinst made by a model (a
 * struct pci_devemu that registers itself from its own file with
 * PCI_EMUL_REGISTER).  -s slot[:func],model[,conf] writes
 * pci.0.SLOT.FUNC.device=model and the conf's key=value pairs next to it.
 *
 * The guest reaches config space through mechanism #1 (0xcf8 address,
 * 0xcfc-0xcff data) and through the ECAM window; BARs are registered in
 * the port table or the MMIO range tree while the command register
 * enables their decode, and follow the guest when it moves them.
 *
 * Guest-physical layout (as bhyve's):
 *   [lowmem, 0xc0000000)        hole below the 32-bit PCI window
 *   [0xc0000000, 0xe0000000)    32-bit memory BARs
 *   [0xe0000000, 0xf0000000)    ECAM, buses 0-255 (only bus 0 is populated)
 *   [0xf0000000, 4 GiB)         platform: I/O APIC, HPET, LAPIC, pc-testdev
 *   [roundup(4 GiB + highmem, 32 GiB), +32 GiB)   64-bit memory BARs
 * I/O BARs come from 0xc000-0xffff, above every legacy and platform port.
 */
#define PCI_SLOTMAX         31
#define PCI_FUNCMAX         7
#define PCI_BARMAX          5
#define PCI_REGMAX          0xff  /* conventional config space (mechanism #1) */
#define PCIE_REGMAX         0xfff /* extended config space (ECAM) */

#define PCI_EMUL_IOBASE     0xc000
#define PCI_EMUL_IOLIMIT    0x10000
#define PCI_EMUL_MEMBASE32  0xc0000000ULL
#define PCI_EMUL_MEMLIMIT32 0xe0000000ULL
#define PCI_EMUL_ECFG_BASE  0xe0000000ULL
#define PCI_EMUL_ECFG_SIZE  (256ULL << 20)
#define PCI_EMUL_MEMSIZE64  (32ULL << 30)
#define PCI_CONF1_ADDR_PORT 0xcf8
#define PCI_CONF1_DATA_PORT 0xcfc
#define PCI_CONF1_ENABLE    0x80000000u

/* Config-space registers and bits (FreeBSD's pcireg.h names). */
#define PCIR_VENDOR            0x00
#define PCIR_DEVICE            0x02
#define PCIR_COMMAND           0x04
#define PCIR_STATUS            0x06
#define PCIR_REVID             0x08
#define PCIR_PROGIF            0x09
#define PCIR_SUBCLASS          0x0a
#define PCIR_CLASS             0x0b
#define PCIR_CACHELNSZ         0x0c
#define PCIR_LATTIMER          0x0d
#define PCIR_HDRTYPE           0x0e
#define PCIR_BAR(x)            (0x10 + (x)*4)
#define PCIR_SUBVEND_0         0x2c
#define PCIR_SUBDEV_0          0x2e
#define PCIR_BIOS              0x30
#define PCIR_CAP_PTR           0x34
#define PCIR_INTLINE           0x3c
#define PCIR_INTPIN            0x3d
#define PCIM_CMD_PORTEN        0x0001
#define PCIM_CMD_MEMEN         0x0002
#define PCIM_CMD_BUSMASTEREN   0x0004
#define PCIM_CMD_PERRESPEN     0x0040
#define PCIM_CMD_SERRESPEN     0x0100
#define PCIM_CMD_INTxDIS       0x0400
#define PCIM_STATUS_CAPPRESENT 0x0010
#define PCIM_HDRTYPE_NORMAL    0x00
#define PCIM_MFDEV             0x80
#define PCIM_BAR_IO_SPACE      0x01
#define PCIM_BAR_MEM_64        0x04
#define PCIM_BAR_MEM_PREFETCH  0x08
#define PCIC_BRIDGE            0x06
#define PCIS_BRIDGE_HOST       0x00
#define PCIS_BRIDGE_ISA        0x01
#define PCIY_MSI               0x05
#define PCIY_EXPRESS           0x10
#define PCIEM_TYPE_ROOT_PORT   0x4

/* MSI message control. */
#define PCIM_MSICTRL_MSI_ENABLE 0x0001
#define PCIM_MSICTRL_MMC_MASK   0x000e
#define PCIM_MSICTRL_MME_MASK   0x0070
#define PCIM_MSICTRL_64BIT      0x0080

enum pcibar_type {
	PCIBAR_NONE,
	PCIBAR_IO,
	PCIBAR_MEM32,
	PCIBAR_MEM64,
	PCIBAR_MEMHI64, /* the upper half of the MEM64 BAR below it */
};

struct pcibar {
	enum pcibar_type type;
	uint64_t addr;   /* where the guest put it */
	uint64_t size;   /* a power of two */
	uint32_t lobits; /* the type bits in the low dword */
	bool registered; /* decoded: in the port table or the range tree */
};

struct pci_devinst;

struct pci_devemu {
	const char *pe_emu;   /* the model's name for -s */
	const char *pe_help;  /* one line for "-s help" */
	const char *pe_alias; /* stored as "device" instead of pe_emu */
	/* Build the function from its config node pci.0.SLOT.FUNC. */
	int (*pe_init)(struct pci_devinst *pi, const struct config_node *node);
	void (*pe_deinit)(struct pci_devinst *pi);
	/*
	 * -s's conf string (NULL if none) into 'node'; without this hook
	 * the conf is key=value[,key[=value]]...
	 */
	int (*pe_legacy_config)(struct config_node *node, const char *opts);
	/* Config-space hooks: 0 if handled, else the generic code runs. */
	int (*pe_cfgwrite)(struct pci_devinst *pi, int off, int bytes,
			   uint32_t val);
	int (*pe_cfgread)(struct pci_devinst *pi, int off, int bytes,
			  uint32_t *val);
	/* BAR accesses; called without the PCI lock. */
	void (*pe_barwrite)(struct pci_devinst *pi, int baridx, uint64_t off,
			    int size, uint64_t val);
	uint64_t (*pe_barread)(struct pci_devinst *pi, int baridx, uint64_t off,
			       int size);
};

struct pci_devinst {
	const struct pci_devemu *pi_d;
	struct vm *pi_vm;
	uint8_t pi_bus, pi_slot, pi_func;
	char pi_name[32]; /* "hostbridge@0:0.0": names port/MMIO ranges */
	int pi_prevcap, pi_capend;
	int pi_msi_capoff; /* the MSI capability's offset; 0: none */
	void *pi_arg;      /* the model's softc */
	struct pcibar pi_bar[PCI_BARMAX + 1];
	uint8_t pi_cfgdata[PCIE_REGMAX + 1];
	uint8_t pi_wmask[PCIE_REGMAX + 1]; /* bits the guest may write */
};

void pci_emul_register(const struct pci_devemu *pe);
#define PCI_EMUL_REGISTER(pe)                                                  \
	static void __attribute__((constructor)) pci_register_##pe(void)       \
	{                                                                      \
		pci_emul_register(&(pe));                                      \
	}
/* -s: "[0:]slot[:func],model[,conf]"; one error line and -1 if bad. */
int pci_parse_slot(const char *opt);
/* The generic conf parser: "a=1,flag" -> a=1, flag=true under 'node'. */
int pci_parse_legacy_config(struct config_node *node, const char *opts);
void pci_print_supported(FILE *fp);
/* Check the pci.* config tree (before the VM exists). */
int pci_check_config(void);
/* Create every configured function; register 0xcf8/0xcfc and ECAM. */
int pci_init(struct vm *vm);
void pci_deinit(void);
/* The function at bus 0, slot:func, or NULL. */
struct pci_devinst *pci_emul_find(int slot, int func);
/* The 64-bit BAR window: [*basep, *limitp). */
void pci_emul_mem64_window(uint64_t *basep, uint64_t *limitp);

/* For models: config space as the device sets it (not guest writes). */
uint8_t pci_get_cfgdata8(const struct pci_devinst *pi, int off);
uint16_t pci_get_cfgdata16(const struct pci_devinst *pi, int off);
uint32_t pci_get_cfgdata32(const struct pci_devinst *pi, int off);
void pci_set_cfgdata8(struct pci_devinst *pi, int off, uint8_t val);
void pci_set_cfgdata16(struct pci_devinst *pi, int off, uint16_t val);
void pci_set_cfgdata32(struct pci_devinst *pi, int off, uint32_t val);
/* Let the guest write the bits of 'mask' in 'bytes' bytes at 'off'. */
void pci_set_cfgmask(struct pci_devinst *pi, int off, int bytes, uint32_t mask);
/*
 * Allocate BAR 'idx' of 'size' bytes (rounded up to a power of two, at
 * least 4 for I/O and 4 KiB for memory) and enable its decode.  A MEM64
 * BAR takes idx and idx + 1.  Returns 0 or an errno.
 */
int pci_emul_alloc_bar(struct pci_devinst *pi, int idx, enum pcibar_type type,
		       uint64_t size);
/* Append a capability (its first byte the ID) to the list; 0 or errno. */
int pci_emul_add_capability(struct pci_devinst *pi, const uint8_t *cap,
			    int len);
int pci_emul_add_pciecap(struct pci_devinst *pi, int type);
/*
 * MSI, as bhyve's: a 64-bit MSI capability offering 'msgnum' messages (a
 * power of two, 1-32); pci_generate_msi() sends message 'index' (below
 * the number the guest enabled) to the local APICs when the guest has
 * enabled MSI and bus mastering: 0, or EINVAL (no capability, 'index'
 * out of range), or ENXIO if the message is disabled.
 */
int pci_emul_add_msicap(struct pci_devinst *pi, int msgnum);
int pci_generate_msi(struct pci_devinst *pi, int index);
/* pci_lpc.c: the ISA bridge function, or NULL if none is configured. */
const struct pci_devinst *pci_lpc_bridge(void);

/*
 * QEMU's fw_cfg (docs/specs/fw_cfg.rst), traditional I/O interface:
 * selector 0x510 (16-bit writes), data 0x511 (byte reads that advance
 * through the selected item; past its end they read 0).  No DMA.
 * Items: signature "QEMU", ID, RAM size, CPU count, max CPUs, and the file
 * directory; files get selectors from 0x20 in name order.
 *
 * -f [name=]NAME,string=TEXT|file=PATH adds a file (config
 * fwcfg.file.N.name and fwcfg.file.N.string or .path).  Other parts of
 * rhyve (the ACPI tables, as QEMU's etc/acpi/tables) add theirs with
 * fwcfg_add_file() before the vCPUs start.
 */
#define FWCFG_SELECTOR_PORT  0x510
#define FWCFG_DATA_PORT      0x511
#define FWCFG_MAX_NAME       56 /* name bytes incl. the NUL */
#define FW_CFG_SIGNATURE     0x0000
#define FW_CFG_ID            0x0001
#define FW_CFG_RAM_SIZE      0x0003
#define FW_CFG_NB_CPUS       0x0005
#define FW_CFG_MAX_CPUS      0x000f
#define FW_CFG_FILE_DIR      0x0019
#define FW_CFG_FILE_FIRST    0x0020
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL    0x8000
#define FW_CFG_ENTRY_MASK    0x3fff
#define FW_CFG_VERSION       0x01 /* ID: the traditional interface */

int fwcfg_parse_opt(const char *opt); /* -f */
/* Check fwcfg.* and read the files it names (before the VM exists). */
int fwcfg_check_config(void);
/* The standard items and the ports. */
int fwcfg_init(struct vm *vm);
void fwcfg_deinit(void);
/* Both copy 'data'; EEXIST, EINVAL (bad key or name), ENOSPC, ENOMEM. */
int fwcfg_add_item(uint16_t key, const void *data, uint32_t size);
int fwcfg_add_file(const char *name, const void *data, uint32_t size);

/* ==== end of PCI and fw_cfg ============================================ */

/* ---- pm.c: ACPI PM1 event/control blocks and the reset register ------ */

#define PM_PM1A_EVT_PORT 0x400 /* PM1_STS, PM1_EN */
#define PM_PM1A_CNT_PORT 0x404 /* PM1_CNT */
#define PM_RESET_PORT    0xcf9
#define PM_SLP_TYP_S5    5 /* the DSDT's \_S5: SLP_EN with it powers off */

int pm_init(struct vm *vm);
void pm_deinit(void);
/*
 * Press the ACPI power button: if the guest enabled its event
 * (PM1_EN.PWRBTN_EN), PWRBTN_STS is set and the SCI raised, and true is
 * returned; false: the guest does not listen.
 */
bool pm_power_button(void);

/* ---- acpi_aml.c: an AML byte builder (QEMU's aml-build.c, small) ----- */

struct aml_buf {
	uint8_t *data;
	size_t len, cap;
	bool oom; /* sticky: an allocation failed */
};

void aml_init(struct aml_buf *b);
void aml_free(struct aml_buf *b);
void aml_byte(struct aml_buf *b, uint8_t v);
void aml_bytes(struct aml_buf *b, const void *p, size_t n);
void aml_integer(struct aml_buf *b, uint64_t v);
void aml_name(struct aml_buf *b, const char *name); /* "\\_SB.PC00" */
void aml_string(struct aml_buf *b, const char *s);
uint32_t aml_eisaid_value(const char *id); /* "PNP0A03" */
void aml_eisaid(struct aml_buf *b, const char *id);
void aml_name_decl(struct aml_buf *b, const char *name); /* Name(X, ...) */
/* Objects with a PkgLength: open, fill, aml_close(b, returned pos). */
size_t aml_open(struct aml_buf *b, const uint8_t *op, size_t oplen);
void aml_close(struct aml_buf *b, size_t pos);
size_t aml_scope(struct aml_buf *b, const char *name);
size_t aml_device(struct aml_buf *b, const char *name);
size_t aml_package(struct aml_buf *b, uint8_t nelem);
void aml_buffer(struct aml_buf *b, const uint8_t *data, size_t len);
/* Resource descriptors into a template buffer, then aml_res_template(). */
void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);
void aml_res_irq(struct aml_buf *b, int irq);
void aml_res_mem32_fixed(struct aml_buf *b, bool rw, uint32_t base,
			 uint32_t len);
void aml_res_addr(struct aml_buf *b, int size, uint8_t type, uint8_t tflags,
		  uint64_t min, uint64_t max);
void aml_res_end(struct aml_buf *b);
/* Buffer() of the template in 'res' (end tag added; 'res' is freed). */
void aml_res_template(struct aml_buf *b, struct aml_buf *res);
int aml_finish(const struct aml_buf *b); /* 0, or -1 if out of memory */

/* ---- acpi.c: the ACPI tables ----------------------------------------- */

/*
 * The tables live in guest memory at [ACPI_TABLES_BASE, ACPI_TABLES_END),
 * the BIOS area (reserved in the e820 map), RSDP first.
 */
#define ACPI_TABLES_BASE 0xf2400u
#define ACPI_TABLES_END  0x100000u
#define ACPI_FADT_LEN    276

/* What the tables describe. */
struct acpi_params {
	int ncpus;            /* local APICs 0..ncpus-1 */
	uint32_t hpet_id;     /* the HPET's capabilities, bits 31:0 */
	uint16_t com_port[4]; /* configured COM1-COM4; 0: absent */
	int com_irq[4];
	int lpc_slot, lpc_func;           /* the ISA bridge function, or -1 */
	uint64_t mem64_base, mem64_limit; /* the 64-bit BAR window */
};

/* Sum of the bytes is 0 with this checksum byte. */
uint8_t acpi_checksum(const void *p, size_t len);
/*
 * Build every table into 'buf' ('cap' bytes) as it will sit at guest
 * address 'gpa', RSDP at offset 0; *lenp gets the bytes used.  0 or -1
 * (does not fit).
 */
int acpi_build_tables(const struct acpi_params *p, uint8_t *buf, size_t cap,
		      uint64_t gpa, size_t *lenp);
/* Build the VM's tables into its memory (unless acpi_tables=false). */
int acpi_init(struct vm *vm);
/* The RSDP's guest address, 0 if there are no tables. */
uint64_t acpi_rsdp_addr(void);

/* ---- record.c: --record FILE ---------------------------------------- */

/*
 * Open the trace named by config record.file (header: engine, host, the
 * config tree, memory layout), start kmod's recorder and write the first
 * checkpoint.  Call after the kernel is loaded.  0, or -1 after printing.
 */
int rhyve_record_start(struct vm *vm);
/* Write the end (rhyve's exit status) and close; -1 after printing. */
int rhyve_record_finish(struct vm *vm, int status);
/* Host input a device got (console bytes), while recording. */
void rhyve_record_input(unsigned int source, const uint8_t *buf, size_t len);

/* ---- replay.c: --replay FILE ---------------------------------------- */

/*
 * Open the trace named by config replay.file and take the recorded config
 * (keys set on the command line win, e.g. a console's path).  Call after
 * the options, before anything looks at the config.  0 (also when not
 * replaying), or -1 after printing.
 */
int rhyve_replay_open(void);
bool rhyve_replaying(void);
/* Load the first checkpoint into the VM and start kmod's replayer. */
int rhyve_replay_start(struct vm *vm);
/*
 * The vCPUs have stopped with 'status': check the end of the trace, print
 * the summary (or the divergence report) and return the status rhyve
 * exits with: the recorded one, or 4.
 */
int rhyve_replay_finish(struct vm *vm, int status);
/*
 * Back to the point right after vCPU 0's exit 'exits' (the replayer
 * restarts from the nearest checkpoint; vm_run() then replays to there
 * and returns with vm_replay_at_stop()).  0, or -1 with errbuf.
 */
int rhyve_replay_rewind(struct vm *vm, uint64_t exits, char *errbuf,
			size_t errlen);

/* ---- gdb_server.c, gdb_target.c: the built-in gdb stub (-G) ---------- */

struct gdb_session;
struct gdb_stop;
struct gdb_target;

/* -G [w][addr:]port | [w]pty[:link] into gdb.*; -1 after printing. */
int gdb_parse_opt(const char *opt);
/* Listen (or open the pty) as gdb.* says; 0 also when there is no -G. */
int gdb_server_init(struct vm *vm);
/* The vCPUs have stopped with 'status': "W" to the debugger. */
void gdb_server_vm_ended(int status);
void gdb_server_fini(void);

/*
 * The vCPU loop's hooks: before each vm_run() (parks the vCPU while the
 * debugger has the VM stopped), at a debug exit (true: the stub's, the
 * vCPU stops or runs on; false: no debugger), when the thread ends.
 */
void gdb_vcpu_before_run(struct vcpu *vcpu);
bool gdb_vcpu_debug_exit(struct vcpu *vcpu, const struct vm_exit *vmexit);
void gdb_vcpu_done(struct vcpu *vcpu);

/* gdb_target.c for gdb_server.c; lock/unlock guard the session. */
void gdb_target_init(struct vm *vm, bool wait);
void gdb_target_get(struct gdb_target *t);
void gdb_target_lock(void);
void gdb_target_unlock(void);
bool gdb_target_attach(struct gdb_stop *stop);
void gdb_target_set_session(struct gdb_session *s);
void gdb_target_vm_ended(void);

/*
 * Reverse execution on a replay (gdb_reverse.c).  Points are counted
 * from the exits of vCPU 0: 'exits' exits done, then 'steps' single
 * steps when 'known' (else somewhere after that exit, found again by its
 * registers).  gdb_reverse() runs on vCPU 0's thread: it goes back one
 * instruction (step) or to the last breakpoint or watchpoint hit before
 * the current point, updates *pos and says in *st where it stopped.
 */
struct gdb_replay_pos {
	bool known;
	uint64_t exits, steps;
};
void gdb_reverse(struct vcpu *vcpu, bool step, struct gdb_replay_pos *pos,
		 struct gdb_stop *st);
/*
 * A single step of vCPU 0 ended with 'vmexit' after 'exits' exits: the
 * position after it.
 */
void gdb_replay_step(struct gdb_replay_pos *pos, const struct vm_exit *vmexit,
		     uint64_t exits);
/* gdb_target.c for gdb_reverse.c. */
void gdb_target_load_debug(struct vcpu *vcpu, bool bps, bool watch, bool step);
bool gdb_target_watch_changed(void);
bool gdb_target_hit(const struct vm_exit *vmexit, struct gdb_stop *st);
bool gdb_target_bp_at(uint64_t lin, struct gdb_stop *st);
bool gdb_target_have_bps(void);
bool gdb_target_watch_stepping(void);
void gdb_target_watch_snapshot(void);

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
/* The signal that stopped the VM (SIGINT, SIGTERM, SIGHUP), or 0. */
int vcpu_stop_signal(void);

#endif
