/*
 * QEMU's firmware configuration device (fw_cfg, QEMU's
 * docs/specs/fw_cfg.rst), its traditional x86 I/O interface, as bhyve's
 * qemu_fwcfg.c offers it:
 *
 *   0x510  selector: a 16-bit write selects an item (bit 15: arch-local,
 *          bit 14: write channel, bits 13-0: index) and rewinds it
 *   0x511  data: each byte read returns the next byte of the item, 0 past
 *          its end or for an item that does not exist
 *
 * As QEMU's pair of ports: a byte read at either port reads data, byte
 * writes are ignored (no item is writable, as QEMU since 2.4), other
 * sizes read all-ones.  No DMA interface: the ID item says so, and ports
 * 0x514-0x51b stay unclaimed.
 *
 * Items: FW_CFG_SIGNATURE "QEMU", FW_CFG_ID (traditional interface),
 * FW_CFG_RAM_SIZE (64-bit LE, all guest RAM), FW_CFG_NB_CPUS and
 * FW_CFG_MAX_CPUS (16-bit LE, the vCPUs created: no hotplug), and
 * FW_CFG_FILE_DIR: a big-endian count, then per file {be32 size, be16
 * select, be16 reserved, char name[56]}, sorted by name as QEMU's, with
 * selectors from FW_CFG_FILE_FIRST in that order.  Files come from -f and
 * from other parts of rhyve (fwcfg_add_file(), e.g. the ACPI tables as
 * QEMU's etc/acpi/tables and etc/table-loader), all before the vCPUs run.
 *
 * -f [name=]NAME,string=TEXT   fwcfg.file.N.name=NAME, .string=TEXT
 * -f [name=]NAME,file=PATH     fwcfg.file.N.name=NAME, .path=PATH
 * A string file holds TEXT without a terminating NUL (QEMU's -fw_cfg;
 * bhyve adds the NUL).  Names are 1-55 bytes; a name given twice, a path
 * that is not a readable regular file, or one past 4 GiB is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rhyve.h"

#define FWCFG_MAX_FILES   (FW_CFG_ENTRY_MASK + 1 - FW_CFG_FILE_FIRST)
#define FWCFG_MAX_ITEMS   64 /* items that are not files */
#define FWCFG_DIRENT_SIZE 64

struct fwcfg_item {
	uint16_t key; /* index | FW_CFG_ARCH_LOCAL */
	uint32_t size;
	uint8_t *data;
};

struct fwcfg_file {
	char name[FWCFG_MAX_NAME];
	uint32_t size;
	uint8_t *data;
};

static struct fwcfg_softc {
	pthread_mutex_t mtx;
	uint16_t selector;
	uint32_t offset;
	struct fwcfg_item items[FWCFG_MAX_ITEMS];
	int nitems;
	struct fwcfg_file *files; /* by name; selector FILE_FIRST + index */
	int nfiles;
	uint8_t *dir; /* FW_CFG_FILE_DIR */
	uint32_t dirsize;
	bool registered;
} fwcfg_sc = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static void
fwcfg_put_be(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* The directory from the file list; called with the lock held. */
static int
fwcfg_dir_rebuild(struct fwcfg_softc *sc)
{
	uint32_t size = 4 + (uint32_t)sc->nfiles * FWCFG_DIRENT_SIZE;
	uint8_t *dir = calloc(1, size);

	if (dir == NULL)
		return ENOMEM;
	fwcfg_put_be(dir, (uint32_t)sc->nfiles, 4);
	for (int i = 0; i < sc->nfiles; i++) {
		uint8_t *e = dir + 4 + i * FWCFG_DIRENT_SIZE;

		fwcfg_put_be(e, sc->files[i].size, 4);
		fwcfg_put_be(e + 4, (uint32_t)(FW_CFG_FILE_FIRST + i), 2);
		memcpy(e + 8, sc->files[i].name, strlen(sc->files[i].name));
	}
	free(sc->dir);
	sc->dir = dir;
	sc->dirsize = size;
	return 0;
}

/* The data of the item 'selector' names, or NULL; with the lock held. */
static const uint8_t *
fwcfg_lookup(struct fwcfg_softc *sc, uint16_t selector, uint32_t *sizep)
{
	uint16_t key = selector & (FW_CFG_ARCH_LOCAL | FW_CFG_ENTRY_MASK);

	if (key == FW_CFG_FILE_DIR) {
		*sizep = sc->dirsize;
		return sc->dir;
	}
	if (key >= FW_CFG_FILE_FIRST && key - FW_CFG_FILE_FIRST < sc->nfiles) {
		*sizep = sc->files[key - FW_CFG_FILE_FIRST].size;
		return sc->files[key - FW_CFG_FILE_FIRST].data;
	}
	for (int i = 0; i < sc->nitems; i++) {
		if (sc->items[i].key == key) {
			*sizep = sc->items[i].size;
			return sc->items[i].data;
		}
	}
	return NULL;
}

static int
fwcfg_io(struct vcpu *vcpu, bool in, int port, int bytes, uint32_t *eax,
	 void *arg)
{
	struct fwcfg_softc *sc = arg;
	const uint8_t *data;
	uint32_t size = 0;

	pthread_mutex_lock(&sc->mtx);
	if (!in && bytes == 2 && port == FWCFG_SELECTOR_PORT) {
		sc->selector = (uint16_t)*eax;
		sc->offset = 0;
	} else if (in && bytes == 1) {
		data = fwcfg_lookup(sc, sc->selector, &size);
		*eax = 0;
		if (data != NULL && sc->offset < size)
			*eax = data[sc->offset++];
	} else if (in) {
		*eax = bytes == 4 ? 0xffffffff : (1u << (8 * bytes)) - 1;
	}
	pthread_mutex_unlock(&sc->mtx);
	return 0;
}

/* ---- adding items and files ------------------------------------------- */

static void *
fwcfg_dup(const void *data, uint32_t size)
{
	void *p = malloc(size > 0 ? size : 1);

	if (p != NULL && size > 0)
		memcpy(p, data, size);
	return p;
}

int
fwcfg_add_item(uint16_t key, const void *data, uint32_t size)
{
	struct fwcfg_softc *sc = &fwcfg_sc;
	uint32_t dummy;
	uint8_t *copy;
	int error = 0;

	if ((key & FW_CFG_WRITE_CHANNEL) || key == FW_CFG_FILE_DIR ||
	    (key >= FW_CFG_FILE_FIRST && key <= FW_CFG_ENTRY_MASK))
		return EINVAL; /* the directory and the files are fwcfg's */
	copy = fwcfg_dup(data, size);
	if (copy == NULL)
		return ENOMEM;
	pthread_mutex_lock(&sc->mtx);
	if (fwcfg_lookup(sc, key, &dummy) != NULL)
		error = EEXIST;
	else if (sc->nitems == FWCFG_MAX_ITEMS)
		error = ENOSPC;
	else
		sc->items[sc->nitems++] =
		    (struct fwcfg_item){ key, size, copy };
	pthread_mutex_unlock(&sc->mtx);
	if (error != 0)
		free(copy);
	return error;
}

/* As fwcfg_add_file(), taking 'data' (malloc'ed) on success. */
static int
fwcfg_add_file_owned(const char *name, uint8_t *data, uint32_t size)
{
	struct fwcfg_softc *sc = &fwcfg_sc;
	struct fwcfg_file *files;
	size_t len = strlen(name);
	int error = 0, pos;

	if (len == 0 || len >= FWCFG_MAX_NAME)
		return EINVAL;
	pthread_mutex_lock(&sc->mtx);
	for (pos = 0; pos < sc->nfiles; pos++) {
		int c = strcmp(name, sc->files[pos].name);

		if (c == 0)
			error = EEXIST;
		if (c <= 0)
			break;
	}
	if (error == 0 && sc->nfiles == FWCFG_MAX_FILES)
		error = ENOSPC;
	if (error == 0) {
		files = realloc(sc->files,
				sizeof(*files) * (size_t)(sc->nfiles + 1));
		if (files == NULL)
			error = ENOMEM;
		else
			sc->files = files;
	}
	if (error == 0) {
		memmove(&sc->files[pos + 1], &sc->files[pos],
			sizeof(*files) * (size_t)(sc->nfiles - pos));
		memset(&sc->files[pos], 0, sizeof(*files));
		memcpy(sc->files[pos].name, name, len);
		sc->files[pos].size = size;
		sc->files[pos].data = data;
		sc->nfiles++;
		error = fwcfg_dir_rebuild(sc);
		if (error != 0) { /* take it out again */
			sc->nfiles--;
			memmove(&sc->files[pos], &sc->files[pos + 1],
				sizeof(*files) * (size_t)(sc->nfiles - pos));
		}
	}
	pthread_mutex_unlock(&sc->mtx);
	return error;
}

int
fwcfg_add_file(const char *name, const void *data, uint32_t size)
{
	uint8_t *copy = fwcfg_dup(data, size);
	int error;

	if (copy == NULL)
		return ENOMEM;
	error = fwcfg_add_file_owned(name, copy, size);
	if (error != 0)
		free(copy);
	return error;
}

/* ---- -f and the config tree ------------------------------------------- */

struct fwcfg_count {
	const char *name;
	int n;
	bool dup;
};

static void
fwcfg_count_one(const struct config_node *node, void *arg)
{
	struct fwcfg_count *c = arg;
	const char *name = get_config_value_node(node, "name");

	c->n++;
	if (name != NULL && strcmp(name, c->name) == 0)
		c->dup = true;
}

int
fwcfg_parse_opt(const char *opt)
{
	struct fwcfg_count count = { NULL, 0, false };
	const char *p = opt, *comma, *kind, *value;
	char name[FWCFG_MAX_NAME], key[64];

	if (strncmp(p, "name=", 5) == 0)
		p += 5;
	comma = strchr(p, ',');
	if (comma == NULL || (strncmp(comma + 1, "string=", 7) != 0 &&
			      strncmp(comma + 1, "file=", 5) != 0)) {
		rhyve_warnx("-f %s: expected [name=]NAME,string=TEXT or "
			    "[name=]NAME,file=PATH",
			    opt);
		return -1;
	}
	if (comma == p || comma - p >= FWCFG_MAX_NAME) {
		rhyve_warnx("-f %s: a fw_cfg file name has 1 to %d bytes, "
			    "not %d",
			    opt, FWCFG_MAX_NAME - 1, (int)(comma - p));
		return -1;
	}
	memcpy(name, p, (size_t)(comma - p));
	name[comma - p] = '\0';
	if (comma[1] == 's') {
		kind = "string";
		value = comma + 8;
	} else {
		kind = "path";
		value = comma + 6;
		if (*value == '\0') {
			rhyve_warnx("-f %s: no file after 'file='", opt);
			return -1;
		}
	}
	count.name = name;
	config_node_foreach(find_config_node("fwcfg.file"), fwcfg_count_one,
			    &count);
	if (count.dup) {
		rhyve_warnx("-f %s: fw_cfg file '%s' is given twice", opt,
			    name);
		return -1;
	}
	snprintf(key, sizeof(key), "fwcfg.file.%d.name", count.n);
	if (set_config_value(key, name) != 0) {
		rhyve_warnx("-f %s: cannot set %s", opt, key);
		return -1;
	}
	snprintf(key, sizeof(key), "fwcfg.file.%d.%s", count.n, kind);
	if (set_config_value(key, value) != 0) {
		rhyve_warnx("-f %s: cannot set %s", opt, key);
		return -1;
	}
	return 0;
}

static int
fwcfg_read_file(const char *name, const char *path, uint8_t **datap,
		uint32_t *sizep)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rhyve_warnx("fw_cfg file %s: cannot open %s: %s", name, path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rhyve_warnx("fw_cfg file %s: %s is not a regular file", name,
			    path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > UINT32_MAX) {
		rhyve_warnx("fw_cfg file %s: %s has %lld bytes; fw_cfg items "
			    "end at 4 GiB",
			    name, path, (long long)st.st_size);
		goto fail;
	}
	data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (data == NULL) {
		rhyve_warnx("fw_cfg file %s: out of memory for %s", name, path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rhyve_warnx("fw_cfg file %s: cannot read %s: %s", name,
				    path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break; /* it shrank: take what is there */
		got += (size_t)n;
	}
	close(fd);
	*datap = data;
	*sizep = (uint32_t)got;
	return 0;
fail:
	free(data);
	close(fd);
	return -1;
}

struct fwcfg_check {
	int error;
};

static void
fwcfg_check_key(const struct config_node *node, void *arg)
{
	const char *k = config_node_name(node);

	if (strcmp(k, "name") != 0 && strcmp(k, "string") != 0 &&
	    strcmp(k, "path") != 0)
		*(int *)arg = -1;
}

static void
fwcfg_check_file(const struct config_node *node, void *arg)
{
	struct fwcfg_check *c = arg;
	const char *id = config_node_name(node), *name, *str, *path;
	uint8_t *data = NULL;
	uint32_t size;
	int bad = 0, error;

	if (c->error != 0)
		return;
	config_node_foreach(node, fwcfg_check_key, &bad);
	name = get_config_value_node(node, "name");
	str = get_config_value_node(node, "string");
	path = get_config_value_node(node, "path");
	if (config_node_value(node) != NULL || bad != 0 || name == NULL ||
	    (str == NULL) == (path == NULL)) {
		rhyve_warnx("fwcfg.file.%s: expected .name and either "
			    ".string or .path",
			    id);
		c->error = -1;
		return;
	}
	if (*name == '\0' || strlen(name) >= FWCFG_MAX_NAME) {
		rhyve_warnx("fwcfg.file.%s.name=%s: a fw_cfg file name has 1 "
			    "to %d bytes",
			    id, name, FWCFG_MAX_NAME - 1);
		c->error = -1;
		return;
	}
	if (str != NULL) {
		size = (uint32_t)strlen(str);
		data = fwcfg_dup(str, size);
	} else if (fwcfg_read_file(name, path, &data, &size) != 0) {
		c->error = -1;
		return;
	}
	error = data == NULL ? ENOMEM : fwcfg_add_file_owned(name, data, size);
	if (error != 0) {
		free(data);
		if (error == EEXIST)
			rhyve_warnx("fw_cfg file '%s' is given twice", name);
		else
			rhyve_warnx("fw_cfg file '%s': %s", name,
				    strerror(error));
		c->error = -1;
	}
}

static void
fwcfg_check_top(const struct config_node *node, void *arg)
{
	struct fwcfg_check *c = arg;

	if (c->error != 0)
		return;
	if (strcmp(config_node_name(node), "file") != 0 ||
	    config_node_value(node) != NULL) {
		rhyve_warnx("fwcfg.%s: unknown fw_cfg setting (files are "
			    "fwcfg.file.N.name/.string/.path)",
			    config_node_name(node));
		c->error = -1;
		return;
	}
	config_node_foreach(node, fwcfg_check_file, c);
}

int
fwcfg_check_config(void)
{
	struct fwcfg_check c = { 0 };

	if (get_config_value("fwcfg") != NULL) {
		rhyve_warnx("fwcfg: expected fwcfg.file.N.name=NAME");
		return -1;
	}
	config_node_foreach(find_config_node("fwcfg"), fwcfg_check_top, &c);
	return c.error;
}

/* ---- start-up --------------------------------------------------------- */

int
fwcfg_init(struct vm *vm)
{
	struct fwcfg_softc *sc = &fwcfg_sc;
	struct inout_port iop = { "fw_cfg", FWCFG_SELECTOR_PORT,
				  2,        IOPORT_F_INOUT,
				  fwcfg_io, sc };
	uint64_t ram = (uint64_t)vm_lowmem_size(vm) + vm_highmem_size(vm);
	uint16_t ncpus = (uint16_t)vm_vcpu_count(vm);
	uint8_t id[4] = { FW_CFG_VERSION, 0, 0, 0 }, ramle[8], cpusle[2];
	int error;

	for (int i = 0; i < 8; i++)
		ramle[i] = (uint8_t)(ram >> (8 * i));
	cpusle[0] = (uint8_t)ncpus;
	cpusle[1] = (uint8_t)(ncpus >> 8);
	if ((error = fwcfg_add_item(FW_CFG_SIGNATURE, "QEMU", 4)) != 0 ||
	    (error = fwcfg_add_item(FW_CFG_ID, id, sizeof(id))) != 0 ||
	    (error = fwcfg_add_item(FW_CFG_RAM_SIZE, ramle, 8)) != 0 ||
	    (error = fwcfg_add_item(FW_CFG_NB_CPUS, cpusle, 2)) != 0 ||
	    (error = fwcfg_add_item(FW_CFG_MAX_CPUS, cpusle, 2)) != 0) {
		rhyve_warnx("fw_cfg: cannot add the standard items: %s",
			    strerror(error));
		return -1;
	}
	pthread_mutex_lock(&sc->mtx);
	error = sc->dir == NULL ? fwcfg_dir_rebuild(sc) : 0;
	sc->selector = 0;
	sc->offset = 0;
	pthread_mutex_unlock(&sc->mtx);
	if (error == 0)
		error = register_inout(&iop);
	if (error != 0) {
		rhyve_warnx("fw_cfg: cannot claim ports 0x%x-0x%x: %s",
			    FWCFG_SELECTOR_PORT, FWCFG_DATA_PORT,
			    strerror(error));
		return -1;
	}
	sc->registered = true;
	return 0;
}

void
fwcfg_deinit(void)
{
	struct fwcfg_softc *sc = &fwcfg_sc;
	struct inout_port iop = { "fw_cfg", FWCFG_SELECTOR_PORT,
				  2,        IOPORT_F_INOUT,
				  fwcfg_io, sc };

	if (sc->registered)
		unregister_inout(&iop);
	sc->registered = false;
	pthread_mutex_lock(&sc->mtx);
	for (int i = 0; i < sc->nitems; i++)
		free(sc->items[i].data);
	for (int i = 0; i < sc->nfiles; i++)
		free(sc->files[i].data);
	free(sc->files);
	free(sc->dir);
	sc->files = NULL;
	sc->dir = NULL;
	sc->nitems = sc->nfiles = 0;
	sc->dirsize = 0;
	sc->selector = 0;
	sc->offset = 0;
	pthread_mutex_unlock(&sc->mtx);
}
