/*
 * The PCI bus, after bhyve's pci_emul.c: bus 0 with 32 slots of 8
 * functions, models that register themselves (PCI_EMUL_REGISTER), config
 * mechanism #1 at 0xcf8/0xcfc, the ECAM window, and BARs that live in the
 * port table or the MMIO range tree while their decode is on.
 *
 * Config space is 4 KiB per function (ECAM reaches all of it, mechanism
 * #1 the first 256 bytes).  Unlike bhyve, a write only changes the bits
 * of pi_wmask (QEMU's wmask): the IDs, class and capability headers are
 * read-only; the command register, cache line size, latency timer and
 * interrupt line are writable, BARs are handled on their own.  Accesses
 * to absent functions, other buses, unaligned or odd-sized ones read
 * all-ones and drop writes; nothing the guest does here stops the VM.
 *
 * BARs: a write keeps the bits above the BAR's size, so all-ones reads
 * back the size mask; when the address changes the BAR moves (unregister,
 * then register at the new place if decode is on).  The command register
 * switches I/O and memory decode of every BAR of the function.  A BAR
 * moved onto a range someone else holds (a sizing write with decode on,
 * or a guest mistake) is simply not decoded until it moves again or decode
 * is switched on again; bhyve asserts there.
 *
 * One lock (pci_mtx) covers config space, the mechanism #1 address and BAR
 * state.  Lock order: pci_mtx, then the range tree's lock.  BAR accesses
 * look up the BAR under the lock and call the model without it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define PCI_EMUL_MAXMODELS 32
#define PCI_CAP_START      0x40
#define PCI_BARIO_MAXSIZE  256
#define PCI_BARMEM_MINSIZE 4096

static const struct pci_devemu *pci_models[PCI_EMUL_MAXMODELS];
static int pci_nmodels;

static pthread_mutex_t pci_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct pci_devinst *pci_funcs[PCI_SLOTMAX + 1][PCI_FUNCMAX + 1];
static uint32_t pci_cfgaddr; /* mechanism #1 address register */
static bool pci_ports_registered, pci_ecam_registered;
/* Next free address of each BAR window. */
static uint64_t pci_iobase, pci_membase32, pci_membase64, pci_memlimit64;

/* ---- models ----------------------------------------------------------- */

void
pci_emul_register(const struct pci_devemu *pe)
{
	if (pci_nmodels == PCI_EMUL_MAXMODELS) {
		fprintf(stderr, "rhyve: too many PCI models (%s)\n",
			pe->pe_emu);
		abort();
	}
	pci_models[pci_nmodels++] = pe;
}

static const struct pci_devemu *
pci_emul_finddev(const char *name)
{
	for (int i = 0; i < pci_nmodels; i++)
		if (strcmp(pci_models[i]->pe_emu, name) == 0)
			return pci_models[i];
	return NULL;
}

static int
pci_model_cmp(const void *a, const void *b)
{
	const struct pci_devemu *const *x = a, *const *y = b;

	return strcmp((*x)->pe_emu, (*y)->pe_emu);
}

void
pci_print_supported(FILE *fp)
{
	const struct pci_devemu *models[PCI_EMUL_MAXMODELS];

	memcpy(models, pci_models, sizeof(models[0]) * (size_t)pci_nmodels);
	qsort(models, (size_t)pci_nmodels, sizeof(models[0]), pci_model_cmp);
	for (int i = 0; i < pci_nmodels; i++)
		fprintf(fp, "%-16s %s\n", models[i]->pe_emu,
			models[i]->pe_help != NULL ? models[i]->pe_help : "");
}

/* ---- -s and the config tree ------------------------------------------- */

int
pci_parse_legacy_config(struct config_node *node, const char *opts)
{
	char *str = strdup(opts), *tok, *next, *eq;
	int error = 0;

	if (str == NULL) {
		rhyve_warnx("out of memory");
		return -1;
	}
	for (tok = str; tok != NULL && error == 0; tok = next) {
		next = strchr(tok, ',');
		if (next != NULL)
			*next++ = '\0';
		if (*tok == '\0')
			continue;
		eq = strchr(tok, '=');
		if (eq != NULL)
			*eq++ = '\0';
		if (strcmp(tok, "device") == 0) {
			rhyve_warnx("-s conf '%s': 'device' names the model "
				    "and cannot be set here",
				    opts);
			error = -1;
		} else if (set_config_value_node(node, tok,
						 eq != NULL ? eq : "true")) {
			rhyve_warnx("-s conf '%s': invalid option name '%s'",
				    opts, tok);
			error = -1;
		}
	}
	free(str);
	return error;
}

/* A decimal number from 0 to 'max' that is all of [s, end). */
static int
pci_parse_num(const char *s, const char *end, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (s == end || end - s > 3)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "slot", "slot:func" or "bus:slot:func", as bhyve. */
static int
pci_parse_bsf(const char *s, unsigned *bus, unsigned *slot, unsigned *func)
{
	const char *parts[4], *ends[3];
	unsigned vals[3];
	int n = 0;

	parts[0] = s;
	for (const char *p = s;; p++) {
		if (*p == ':' || *p == '\0') {
			if (n == 3)
				return -1;
			ends[n] = p;
			parts[++n] = p + 1;
			if (*p == '\0')
				break;
		}
	}
	for (int i = 0; i < n; i++)
		if (pci_parse_num(parts[i], ends[i], 255, &vals[i]) != 0)
			return -1;
	*bus = n == 3 ? vals[0] : 0;
	*slot = vals[n == 3 ? 1 : 0];
	*func = n == 1 ? 0 : vals[n - 1];
	return 0;
}

int
pci_parse_slot(const char *opt)
{
	const struct pci_devemu *pe;
	struct config_node *node;
	char *str, *emu, *conf, path[32];
	unsigned bus, slot, func;
	int error = -1;

	str = strdup(opt);
	if (str == NULL) {
		rhyve_warnx("out of memory");
		return -1;
	}
	emu = strchr(str, ',');
	if (emu == NULL || emu == str || emu[1] == '\0' || emu[1] == ',') {
		rhyve_warnx("-s %s: expected slot[:func],model[,conf] "
			    "(-s help lists the models)",
			    opt);
		goto out;
	}
	*emu++ = '\0';
	conf = strchr(emu, ',');
	if (conf != NULL)
		*conf++ = '\0';
	if (pci_parse_bsf(str, &bus, &slot, &func) != 0 || slot > PCI_SLOTMAX ||
	    func > PCI_FUNCMAX) {
		rhyve_warnx("-s %s: bad slot '%s' (slot 0-31, optionally "
			    ":function 0-7)",
			    opt, str);
		goto out;
	}
	if (bus != 0) {
		rhyve_warnx("-s %s: bus %u: rhyve has only PCI bus 0", opt,
			    bus);
		goto out;
	}
	pe = pci_emul_finddev(emu);
	if (pe == NULL) {
		rhyve_warnx("-s %s: unknown PCI model '%s' (-s help lists "
			    "them)",
			    opt, emu);
		goto out;
	}
	snprintf(path, sizeof(path), "pci.0.%u.%u", slot, func);
	if (find_config_node(path) != NULL) {
		rhyve_warnx("-s %s: slot %u:%u is already configured", opt,
			    slot, func);
		goto out;
	}
	node = create_config_node(path);
	if (node == NULL ||
	    set_config_value_node(node, "device",
				  pe->pe_alias != NULL ? pe->pe_alias
						       : pe->pe_emu) != 0) {
		rhyve_warnx("-s %s: cannot create config node %s", opt, path);
		goto out;
	}
	error = 0;
	if (pe->pe_legacy_config != NULL)
		error = pe->pe_legacy_config(node, conf);
	else if (conf != NULL)
		error = pci_parse_legacy_config(node, conf);
out:
	free(str);
	return error;
}

struct pci_walk {
	unsigned slot, func;
	int error;
	/* Bit f of present[s]: function f of slot s is configured. */
	uint8_t present[PCI_SLOTMAX + 1];
	struct vm *vm; /* pci_init() only */
};

static int pci_init_func(struct pci_walk *w, const struct config_node *node,
			 const struct pci_devemu *pe);

static void
pci_walk_func(const struct config_node *node, void *arg)
{
	struct pci_walk *w = arg;
	const struct pci_devemu *pe;
	const char *name = config_node_name(node), *emu;

	if (w->error != 0)
		return;
	if (pci_parse_num(name, name + strlen(name), PCI_FUNCMAX, &w->func) !=
		0 ||
	    config_node_value(node) != NULL) {
		rhyve_warnx("pci.0.%u.%s: expected a function number 0-7 "
			    "with settings under it",
			    w->slot, name);
		w->error = -1;
		return;
	}
	emu = get_config_value_node(node, "device");
	if (emu == NULL) {
		rhyve_warnx("pci.0.%u.%u: no device (pci.0.%u.%u.device)",
			    w->slot, w->func, w->slot, w->func);
		w->error = -1;
		return;
	}
	pe = pci_emul_finddev(emu);
	if (pe == NULL) {
		rhyve_warnx("pci.0.%u.%u.device=%s: unknown PCI model (-s "
			    "help lists them)",
			    w->slot, w->func, emu);
		w->error = -1;
		return;
	}
	w->present[w->slot] |= (uint8_t)(1u << w->func);
	if (w->vm != NULL)
		w->error = pci_init_func(w, node, pe);
}

static void
pci_walk_slot(const struct config_node *node, void *arg)
{
	struct pci_walk *w = arg;
	const char *name = config_node_name(node);

	if (w->error != 0)
		return;
	if (pci_parse_num(name, name + strlen(name), PCI_SLOTMAX, &w->slot) !=
		0 ||
	    config_node_value(node) != NULL) {
		rhyve_warnx("pci.0.%s: expected a slot number 0-31 with "
			    "functions under it",
			    name);
		w->error = -1;
		return;
	}
	config_node_foreach(node, pci_walk_func, w);
}

static void
pci_walk_bus(const struct config_node *node, void *arg)
{
	struct pci_walk *w = arg;

	if (w->error != 0)
		return;
	if (strcmp(config_node_name(node), "0") != 0 ||
	    config_node_value(node) != NULL) {
		rhyve_warnx("pci.%s: rhyve has only PCI bus 0 (pci.0.SLOT."
			    "FUNC.device=MODEL)",
			    config_node_name(node));
		w->error = -1;
		return;
	}
	config_node_foreach(node, pci_walk_slot, w);
}

static int
pci_walk_config(struct pci_walk *w)
{
	config_node_foreach(find_config_node("pci"), pci_walk_bus, w);
	if (w->error != 0)
		return -1;
	for (unsigned s = 0; s <= PCI_SLOTMAX; s++) {
		if (w->present[s] != 0 && !(w->present[s] & 1)) {
			rhyve_warnx("pci.0.%u: functions without function 0 "
				    "(guests look for function 0 first)",
				    s);
			return -1;
		}
	}
	return 0;
}

int
pci_check_config(void)
{
	struct pci_walk w;

	if (get_config_value("pci") != NULL) {
		rhyve_warnx("pci: expected pci.0.SLOT.FUNC.device=MODEL");
		return -1;
	}
	memset(&w, 0, sizeof(w));
	return pci_walk_config(&w);
}

/* ---- config space ----------------------------------------------------- */

uint8_t
pci_get_cfgdata8(const struct pci_devinst *pi, int off)
{
	return pi->pi_cfgdata[off];
}

uint16_t
pci_get_cfgdata16(const struct pci_devinst *pi, int off)
{
	return (uint16_t)(pi->pi_cfgdata[off] | pi->pi_cfgdata[off + 1] << 8);
}

uint32_t
pci_get_cfgdata32(const struct pci_devinst *pi, int off)
{
	return (uint32_t)pci_get_cfgdata16(pi, off) |
	       (uint32_t)pci_get_cfgdata16(pi, off + 2) << 16;
}

void
pci_set_cfgdata8(struct pci_devinst *pi, int off, uint8_t val)
{
	pi->pi_cfgdata[off] = val;
}

void
pci_set_cfgdata16(struct pci_devinst *pi, int off, uint16_t val)
{
	pi->pi_cfgdata[off] = (uint8_t)val;
	pi->pi_cfgdata[off + 1] = (uint8_t)(val >> 8);
}

void
pci_set_cfgdata32(struct pci_devinst *pi, int off, uint32_t val)
{
	pci_set_cfgdata16(pi, off, (uint16_t)val);
	pci_set_cfgdata16(pi, off + 2, (uint16_t)(val >> 16));
}

void
pci_set_cfgmask(struct pci_devinst *pi, int off, int bytes, uint32_t mask)
{
	for (int i = 0; i < bytes; i++)
		pi->pi_wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

static uint32_t
pci_ones(int bytes)
{
	return bytes >= 4 ? 0xffffffffu : (1u << (8 * bytes)) - 1;
}

static uint32_t
pci_cfg_get(const struct pci_devinst *pi, int off, int bytes)
{
	uint32_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint32_t)pi->pi_cfgdata[off + i] << (8 * i);
	return v;
}

int
pci_emul_add_capability(struct pci_devinst *pi, const uint8_t *cap, int len)
{
	uint16_t sts = pci_get_cfgdata16(pi, PCIR_STATUS);
	int reqlen = (len + 3) & ~3, capoff;

	if (len < 2)
		return EINVAL;
	capoff =
	    (sts & PCIM_STATUS_CAPPRESENT) ? pi->pi_capend + 1 : PCI_CAP_START;
	if (capoff + reqlen > PCI_REGMAX + 1)
		return ENOSPC;
	if (sts & PCIM_STATUS_CAPPRESENT) {
		pci_set_cfgdata8(pi, pi->pi_prevcap + 1, (uint8_t)capoff);
	} else {
		pci_set_cfgdata8(pi, PCIR_CAP_PTR, (uint8_t)capoff);
		pci_set_cfgdata16(pi, PCIR_STATUS,
				  sts | PCIM_STATUS_CAPPRESENT);
	}
	memcpy(&pi->pi_cfgdata[capoff], cap, (size_t)len);
	pci_set_cfgdata8(pi, capoff + 1, 0);
	pi->pi_prevcap = capoff;
	pi->pi_capend = capoff + reqlen - 1;
	return 0;
}

/*
 * The MSI capability, 64-bit, without per-vector masking (14 bytes):
 * ID, next, message control (enable and Multiple Message Enable
 * writable; Multiple Message Capable from 'msgnum'), address low and
 * high, data.
 */
int
pci_emul_add_msicap(struct pci_devinst *pi, int msgnum)
{
	uint8_t cap[14];
	int mmc = 0, error, off;

	if (msgnum < 1 || msgnum > 32 || (msgnum & (msgnum - 1)) != 0)
		return EINVAL;
	while ((1 << mmc) < msgnum)
		mmc++;
	memset(cap, 0, sizeof(cap));
	cap[0] = PCIY_MSI;
	cap[2] = (uint8_t)(mmc << 1 | PCIM_MSICTRL_64BIT);
	error = pci_emul_add_capability(pi, cap, sizeof(cap));
	if (error != 0)
		return error;
	off = pi->pi_prevcap;
	pci_set_cfgmask(pi, off + 2, 2,
			PCIM_MSICTRL_MSI_ENABLE | PCIM_MSICTRL_MME_MASK);
	pci_set_cfgmask(pi, off + 4, 4, 0xfffffffc); /* dword-aligned */
	pci_set_cfgmask(pi, off + 8, 4, 0xffffffff);
	pci_set_cfgmask(pi, off + 12, 2, 0xffff);
	pi->pi_msi_capoff = off;
	return 0;
}

/*
 * Message 'index' as the device sends it: the data with its low bits
 * replaced by the index among the enabled messages (PCI 3.0 6.8.1.6).
 * The message is a memory write, so it needs bus mastering as well.
 */
int
pci_generate_msi(struct pci_devinst *pi, int index)
{
	int off = pi->pi_msi_capoff, mmc, mme, n;
	uint16_t ctrl, cmd;
	uint64_t addr;
	uint32_t data;

	if (off == 0 || index < 0)
		return EINVAL;
	pthread_mutex_lock(&pci_mtx);
	ctrl = pci_get_cfgdata16(pi, off + 2);
	cmd = pci_get_cfgdata16(pi, PCIR_COMMAND);
	mmc = (ctrl & PCIM_MSICTRL_MMC_MASK) >> 1;
	mme = (ctrl & PCIM_MSICTRL_MME_MASK) >> 4;
	n = 1 << (mme < mmc ? mme : mmc);
	addr = pci_get_cfgdata32(pi, off + 4) |
	       (uint64_t)pci_get_cfgdata32(pi, off + 8) << 32;
	data = pci_get_cfgdata16(pi, off + 12);
	pthread_mutex_unlock(&pci_mtx);
	if (index >= n)
		return EINVAL;
	if (!(ctrl & PCIM_MSICTRL_MSI_ENABLE) || !(cmd & PCIM_CMD_BUSMASTEREN))
		return ENXIO;
	data = (data & ~(uint32_t)(n - 1)) | (uint32_t)index;
	return vm_lapic_msi(pi->pi_vm, addr, data);
}

/* The PCI Express capability (version 2, 60 bytes), as bhyve's. */
int
pci_emul_add_pciecap(struct pci_devinst *pi, int type)
{
	uint8_t cap[60];
	int error, off;

	memset(cap, 0, sizeof(cap));
	cap[0] = PCIY_EXPRESS;
	cap[2] = (uint8_t)(0x02 | type << 4); /* version 2, port type */
	cap[0x0c] = 0x11;                     /* link caps: gen1, x1 */
	cap[0x0d] = 0x04;
	cap[0x12] = 0x11; /* link status: gen1, x1 */
	error = pci_emul_add_capability(pi, cap, sizeof(cap));
	if (error != 0)
		return error;
	off = pi->pi_prevcap;
	pci_set_cfgmask(pi, off + 0x08, 2, 0xffff); /* device control */
	pci_set_cfgmask(pi, off + 0x10, 2, 0x0fff); /* link control */
	pci_set_cfgmask(pi, off + 0x28, 2, 0xffff); /* device control 2 */
	return 0;
}

/* ---- BARs ------------------------------------------------------------- */

static int pci_emul_io_handler(struct vcpu *vcpu, bool in, int port, int bytes,
			       uint32_t *eax, void *arg);
static int pci_emul_mem_handler(struct vcpu *vcpu, bool write, uint64_t gpa,
				int size, uint64_t *val, void *arg1, long arg2);

static bool
pci_bar_decode_on(const struct pci_devinst *pi, int idx)
{
	uint16_t cmd = pci_get_cfgdata16(pi, PCIR_COMMAND);

	switch (pi->pi_bar[idx].type) {
	case PCIBAR_IO:
		return (cmd & PCIM_CMD_PORTEN) != 0;
	case PCIBAR_MEM32:
	case PCIBAR_MEM64:
		return (cmd & PCIM_CMD_MEMEN) != 0;
	default:
		return false;
	}
}

static int
pci_bar_register(struct pci_devinst *pi, int idx, bool reg)
{
	struct pcibar *bar = &pi->pi_bar[idx];
	struct inout_port iop = { pi->pi_name,         (int)bar->addr,
				  (int)bar->size,      IOPORT_F_INOUT,
				  pci_emul_io_handler, pi };
	struct mem_range mr = { pi->pi_name, MEM_F_RW, pci_emul_mem_handler,
				pi,          idx,      bar->addr,
				bar->size };
	int error;

	if (reg == bar->registered)
		return 0;
	if (bar->type == PCIBAR_IO)
		error = reg ? register_inout(&iop) : unregister_inout(&iop);
	else
		error = reg ? register_mem(&mr) : unregister_mem(&mr);
	if (error == 0 || !reg)
		bar->registered = reg;
	return error;
}

/* Register or unregister each BAR as the command register says. */
static void
pci_bars_update(struct pci_devinst *pi)
{
	for (int i = 0; i <= PCI_BARMAX; i++)
		if (pi->pi_bar[i].type != PCIBAR_NONE &&
		    pi->pi_bar[i].type != PCIBAR_MEMHI64)
			pci_bar_register(pi, i, pci_bar_decode_on(pi, i));
}

/* The BAR register(s) in config space from the BAR's state. */
static void
pci_bar_sync(struct pci_devinst *pi, int idx)
{
	struct pcibar *bar = &pi->pi_bar[idx];

	pci_set_cfgdata32(pi, PCIR_BAR(idx), (uint32_t)bar->addr | bar->lobits);
	if (bar->type == PCIBAR_MEM64)
		pci_set_cfgdata32(pi, PCIR_BAR(idx + 1),
				  (uint32_t)(bar->addr >> 32));
}

static void
pci_bar_move(struct pci_devinst *pi, int idx, uint64_t addr)
{
	struct pcibar *bar = &pi->pi_bar[idx];

	if (addr != bar->addr) {
		pci_bar_register(pi, idx, false);
		bar->addr = addr;
	}
	/* A BAR that could not be placed gets another try on every write. */
	pci_bar_register(pi, idx, pci_bar_decode_on(pi, idx));
	pci_bar_sync(pi, idx);
}

/* The guest wrote dword 'val' to BAR register 'idx'. */
static void
pci_bar_write(struct pci_devinst *pi, int idx, uint32_t val)
{
	struct pcibar *bar = &pi->pi_bar[idx], *lo;

	switch (bar->type) {
	case PCIBAR_IO:
		pci_bar_move(pi, idx, val & ~(bar->size - 1) & 0xffff);
		break;
	case PCIBAR_MEM32:
		pci_bar_move(pi, idx, val & ~(bar->size - 1) & 0xffffffff);
		break;
	case PCIBAR_MEM64:
		pci_bar_move(pi, idx,
			     ((bar->addr & ~0xffffffffULL) | val) &
				 ~(bar->size - 1));
		break;
	case PCIBAR_MEMHI64:
		lo = &pi->pi_bar[idx - 1];
		pci_bar_move(pi, idx - 1,
			     ((uint64_t)val << 32 | (lo->addr & 0xffffffff)) &
				 ~(lo->size - 1));
		break;
	default:
		break; /* no BAR: reads 0 */
	}
}

int
pci_emul_alloc_bar(struct pci_devinst *pi, int idx, enum pcibar_type type,
		   uint64_t size)
{
	uint64_t *basep, limit, addr;
	uint32_t lobits;
	uint16_t cmd;

	if (idx < 0 || idx > PCI_BARMAX || pi->pi_bar[idx].type != PCIBAR_NONE)
		return EINVAL;
	if (size == 0 || size > (1ULL << 40))
		return EINVAL;
	while (size & (size - 1))
		size += size & -size; /* round up to a power of two */
	switch (type) {
	case PCIBAR_IO:
		if (size > PCI_BARIO_MAXSIZE)
			return EINVAL;
		if (size < 4)
			size = 4;
		basep = &pci_iobase;
		limit = PCI_EMUL_IOLIMIT;
		lobits = PCIM_BAR_IO_SPACE;
		break;
	case PCIBAR_MEM32:
		if (size < PCI_BARMEM_MINSIZE)
			size = PCI_BARMEM_MINSIZE;
		basep = &pci_membase32;
		limit = PCI_EMUL_MEMLIMIT32;
		lobits = 0;
		break;
	case PCIBAR_MEM64:
		if (idx == PCI_BARMAX ||
		    pi->pi_bar[idx + 1].type != PCIBAR_NONE)
			return EINVAL;
		if (size < PCI_BARMEM_MINSIZE)
			size = PCI_BARMEM_MINSIZE;
		basep = &pci_membase64;
		limit = pci_memlimit64;
		lobits = PCIM_BAR_MEM_64;
		break;
	default:
		return EINVAL;
	}
	addr = (*basep + size - 1) & ~(size - 1);
	if (addr + size > limit || addr + size < addr)
		return ENOSPC;
	*basep = addr + size;
	pi->pi_bar[idx] = (struct pcibar){ type, addr, size, lobits, false };
	if (type == PCIBAR_MEM64)
		pi->pi_bar[idx + 1].type = PCIBAR_MEMHI64;
	pci_bar_sync(pi, idx);
	/* Decode on from the start, as bhyve (firmware would do it). */
	cmd = pci_get_cfgdata16(pi, PCIR_COMMAND);
	cmd |= type == PCIBAR_IO ? PCIM_CMD_PORTEN : PCIM_CMD_MEMEN;
	pci_set_cfgdata16(pi, PCIR_COMMAND, cmd);
	return pci_bar_register(pi, idx, true);
}

/* The BAR of 'pi' that decodes [addr, addr + size), or -1. */
static int
pci_bar_find(struct pci_devinst *pi, bool io, uint64_t addr, int size,
	     uint64_t *offp)
{
	int found = -1;

	pthread_mutex_lock(&pci_mtx);
	for (int i = 0; i <= PCI_BARMAX && found < 0; i++) {
		const struct pcibar *bar = &pi->pi_bar[i];

		if (!bar->registered || (bar->type == PCIBAR_IO) != io ||
		    addr < bar->addr || addr - bar->addr >= bar->size ||
		    (uint64_t)size > bar->size - (addr - bar->addr))
			continue;
		*offp = addr - bar->addr;
		found = i;
	}
	pthread_mutex_unlock(&pci_mtx);
	return found;
}

static int
pci_emul_io_handler(struct vcpu *vcpu, bool in, int port, int bytes,
		    uint32_t *eax, void *arg)
{
	struct pci_devinst *pi = arg;
	uint64_t off = 0;
	int idx;

	/* NULL: a read racing with a BAR move saw the new handler early. */
	idx = pi != NULL ? pci_bar_find(pi, true, (uint64_t)port, bytes, &off)
			 : -1;
	if (in) {
		*eax = idx >= 0 && pi->pi_d->pe_barread != NULL
			   ? (uint32_t)pi->pi_d->pe_barread(pi, idx, off, bytes)
			   : pci_ones(bytes);
	} else if (idx >= 0 && pi->pi_d->pe_barwrite != NULL) {
		pi->pi_d->pe_barwrite(pi, idx, off, bytes, *eax);
	}
	return 0;
}

static int
pci_emul_mem_handler(struct vcpu *vcpu, bool write, uint64_t gpa, int size,
		     uint64_t *val, void *arg1, long arg2)
{
	struct pci_devinst *pi = arg1;
	uint64_t off = 0;
	int idx = pci_bar_find(pi, false, gpa, size, &off);

	if (!write) {
		*val = idx >= 0 && pi->pi_d->pe_barread != NULL
			   ? pi->pi_d->pe_barread(pi, idx, off, size)
			   : ~0ULL;
	} else if (idx >= 0 && pi->pi_d->pe_barwrite != NULL) {
		pi->pi_d->pe_barwrite(pi, idx, off, size, *val);
	}
	return 0;
}

/* ---- guest config accesses -------------------------------------------- */

static void
pci_cfgwrite(struct pci_devinst *pi, int off, int bytes, uint32_t val)
{
	uint16_t oldcmd = pci_get_cfgdata16(pi, PCIR_COMMAND);
	int bar0 = PCIR_BAR(0), barend = PCIR_BAR(PCI_BARMAX + 1);

	if (pi->pi_d->pe_cfgwrite != NULL &&
	    pi->pi_d->pe_cfgwrite(pi, off, bytes, val) == 0)
		return;
	if (off >= bar0 && off < barend) {
		/* Merge a narrow write into the BAR's dword. */
		int dw = off & ~3, sh = 8 * (off & 3);
		uint32_t m = pci_ones(bytes) << sh;
		uint32_t v = (pci_get_cfgdata32(pi, dw) & ~m) | (val << sh & m);

		pci_bar_write(pi, (dw - bar0) / 4, v);
		return;
	}
	for (int i = 0; i < bytes; i++) {
		uint8_t *p = &pi->pi_cfgdata[off + i];
		uint8_t m = pi->pi_wmask[off + i];

		*p = (uint8_t)((*p & ~m) | ((val >> (8 * i)) & m));
	}
	if (pci_get_cfgdata16(pi, PCIR_COMMAND) != oldcmd)
		pci_bars_update(pi);
}

/*
 * A config access from the guest: 'bytes' of 1, 2 or 4 at 'off', aligned
 * to its size; anything else, and any absent function, reads all-ones.
 */
static void
pci_cfgrw(bool in, int bus, int slot, int func, int off, int bytes,
	  uint32_t *val)
{
	struct pci_devinst *pi = NULL;

	if (bus == 0 && slot <= PCI_SLOTMAX && func <= PCI_FUNCMAX)
		pi = pci_funcs[slot][func];
	if (pi == NULL || (bytes != 1 && bytes != 2 && bytes != 4) ||
	    (off & (bytes - 1)) != 0 || off + bytes > PCIE_REGMAX + 1) {
		if (in)
			*val = pci_ones(bytes);
		return;
	}
	if (in) {
		if (pi->pi_d->pe_cfgread == NULL ||
		    pi->pi_d->pe_cfgread(pi, off, bytes, val) != 0)
			*val = pci_cfg_get(pi, off, bytes);
		*val &= pci_ones(bytes);
	} else {
		pci_cfgwrite(pi, off, bytes, *val);
	}
}

/* 0xcf8: the address register; only 4-byte accesses reach it. */
static int
pci_conf1_addr(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	       void *arg)
{
	if (bytes != 4) {
		if (in)
			*eax = pci_ones(bytes);
		return 0;
	}
	pthread_mutex_lock(&pci_mtx);
	if (in)
		*eax = pci_cfgaddr;
	else
		pci_cfgaddr = *eax & (PCI_CONF1_ENABLE | 0x00fffffc);
	pthread_mutex_unlock(&pci_mtx);
	return 0;
}

/* 0xcfc-0xcff: the data window onto the dword the address selects. */
static int
pci_conf1_data(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	       void *arg)
{
	uint32_t a;

	pthread_mutex_lock(&pci_mtx);
	a = pci_cfgaddr;
	if (a & PCI_CONF1_ENABLE)
		pci_cfgrw(
		    in, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 0x7,
		    (int)(a & 0xfc) + port - PCI_CONF1_DATA_PORT, bytes, eax);
	else if (in)
		*eax = pci_ones(bytes);
	pthread_mutex_unlock(&pci_mtx);
	return 0;
}

/* ECAM: bus[27:20] slot[19:15] function[14:12] register[11:0]. */
static int
pci_ecam_handler(struct vcpu *vcpu, bool write, uint64_t gpa, int size,
		 uint64_t *val, void *arg1, long arg2)
{
	uint64_t off = gpa - PCI_EMUL_ECFG_BASE;
	uint32_t v = write ? (uint32_t)*val : 0;

	if (size == 8) { /* not a config cycle, as bhyve */
		if (!write)
			*val = ~0ULL;
		return 0;
	}
	pthread_mutex_lock(&pci_mtx);
	pci_cfgrw(!write, (int)(off >> 20) & 0xff, (int)(off >> 15) & 0x1f,
		  (int)(off >> 12) & 0x7, (int)(off & 0xfff), size, &v);
	pthread_mutex_unlock(&pci_mtx);
	if (!write)
		*val = v;
	return 0;
}

/* ---- start-up --------------------------------------------------------- */

static const struct inout_port pci_conf1_addr_port = {
	"pci-conf1-addr", PCI_CONF1_ADDR_PORT, 1,
	IOPORT_F_INOUT,   pci_conf1_addr,      NULL
};
static const struct inout_port pci_conf1_data_port = {
	"pci-conf1-data", PCI_CONF1_DATA_PORT, 4,
	IOPORT_F_INOUT,   pci_conf1_data,      NULL
};
static const struct mem_range pci_ecam_range = {
	"pci-ecam", MEM_F_RW,           pci_ecam_handler,  NULL,
	0,          PCI_EMUL_ECFG_BASE, PCI_EMUL_ECFG_SIZE
};

void
pci_emul_mem64_window(uint64_t *basep, uint64_t *limitp)
{
	*basep = pci_memlimit64 - PCI_EMUL_MEMSIZE64;
	*limitp = pci_memlimit64;
}

static int
pci_init_func(struct pci_walk *w, const struct config_node *node,
	      const struct pci_devemu *pe)
{
	struct pci_devinst *pi = calloc(1, sizeof(*pi));

	if (pi == NULL) {
		rhyve_warnx("out of memory");
		return -1;
	}
	pi->pi_d = pe;
	pi->pi_vm = w->vm;
	pi->pi_slot = (uint8_t)w->slot;
	pi->pi_func = (uint8_t)w->func;
	snprintf(pi->pi_name, sizeof(pi->pi_name), "%s@0:%u.%u", pe->pe_emu,
		 w->slot, w->func);
	/* The registers every function lets the guest write. */
	pci_set_cfgmask(pi, PCIR_COMMAND, 2,
			PCIM_CMD_PORTEN | PCIM_CMD_MEMEN |
			    PCIM_CMD_BUSMASTEREN | PCIM_CMD_PERRESPEN |
			    PCIM_CMD_SERRESPEN | PCIM_CMD_INTxDIS);
	pci_set_cfgmask(pi, PCIR_CACHELNSZ, 1, 0xff);
	pci_set_cfgmask(pi, PCIR_LATTIMER, 1, 0xff);
	pci_set_cfgmask(pi, PCIR_INTLINE, 1, 0xff);
	if (pe->pe_init(pi, node) != 0) {
		rhyve_warnx("pci.0.%u.%u: cannot create the %s device", w->slot,
			    w->func, pe->pe_emu);
		for (int i = 0; i <= PCI_BARMAX; i++)
			if (pi->pi_bar[i].type != PCIBAR_MEMHI64)
				pci_bar_register(pi, i, false);
		free(pi);
		return -1;
	}
	pci_funcs[w->slot][w->func] = pi;
	return 0;
}

int
pci_init(struct vm *vm)
{
	struct pci_walk w;
	int error;

	pci_iobase = PCI_EMUL_IOBASE;
	pci_membase32 = PCI_EMUL_MEMBASE32;
	pci_membase64 =
	    (VM_HIGHMEM_BASE + vm_highmem_size(vm) + PCI_EMUL_MEMSIZE64 - 1) &
	    ~(PCI_EMUL_MEMSIZE64 - 1);
	pci_memlimit64 = pci_membase64 + PCI_EMUL_MEMSIZE64;
	pci_cfgaddr = 0;

	if ((error = register_inout(&pci_conf1_addr_port)) != 0 ||
	    (error = register_inout(&pci_conf1_data_port)) != 0) {
		rhyve_warnx("PCI: ports 0x%x and 0x%x-0x%x are taken",
			    PCI_CONF1_ADDR_PORT, PCI_CONF1_DATA_PORT,
			    PCI_CONF1_DATA_PORT + 3);
		unregister_inout(&pci_conf1_addr_port);
		return -1;
	}
	pci_ports_registered = true;
	if (register_mem(&pci_ecam_range) != 0) {
		rhyve_warnx("PCI: the ECAM window 0x%llx-0x%llx is taken",
			    PCI_EMUL_ECFG_BASE,
			    PCI_EMUL_ECFG_BASE + PCI_EMUL_ECFG_SIZE - 1);
		pci_deinit();
		return -1;
	}
	pci_ecam_registered = true;

	memset(&w, 0, sizeof(w));
	w.vm = vm;
	pthread_mutex_lock(&pci_mtx);
	error = pci_walk_config(&w);
	/* Function 0 of a multi-function slot says so; so do the others. */
	for (int s = 0; s <= PCI_SLOTMAX && error == 0; s++)
		for (int f = 0; f <= PCI_FUNCMAX; f++)
			if (pci_funcs[s][f] != NULL && (w.present[s] & 0xfe))
				pci_funcs[s][f]->pi_cfgdata[PCIR_HDRTYPE] |=
				    PCIM_MFDEV;
	pthread_mutex_unlock(&pci_mtx);
	if (error != 0)
		pci_deinit();
	return error;
}

void
pci_deinit(void)
{
	pthread_mutex_lock(&pci_mtx);
	for (int s = 0; s <= PCI_SLOTMAX; s++) {
		for (int f = 0; f <= PCI_FUNCMAX; f++) {
			struct pci_devinst *pi = pci_funcs[s][f];

			if (pi == NULL)
				continue;
			for (int i = 0; i <= PCI_BARMAX; i++)
				if (pi->pi_bar[i].type != PCIBAR_MEMHI64)
					pci_bar_register(pi, i, false);
			if (pi->pi_d->pe_deinit != NULL)
				pi->pi_d->pe_deinit(pi);
			free(pi);
			pci_funcs[s][f] = NULL;
		}
	}
	pthread_mutex_unlock(&pci_mtx);
	if (pci_ports_registered) {
		unregister_inout(&pci_conf1_addr_port);
		unregister_inout(&pci_conf1_data_port);
		pci_ports_registered = false;
	}
	if (pci_ecam_registered) {
		unregister_mem(&pci_ecam_range);
		pci_ecam_registered = false;
	}
}

struct pci_devinst *
pci_emul_find(int slot, int func)
{
	if (slot < 0 || slot > PCI_SLOTMAX || func < 0 || func > PCI_FUNCMAX)
		return NULL;
	return pci_funcs[slot][func];
}
