/*
 * LPC devices, after bhyve's lpc.c: the devices of the legacy ISA world
 * that -l names.  Each device file registers a struct lpc_dev from a
 * constructor (LPC_DEV_REGISTER); -l puts its configuration under
 * "lpc.<name>" and lpc_init() creates the devices found there, in order.
 *
 *   -l com1,stdio            lpc.com1.path=stdio (the spec is kept whole:
 *                            "file:/tmp/x", "pty:/tmp/link")
 *   -l NAME,a=1,flag         lpc.NAME.a=1, lpc.NAME.flag=true
 *   -l NAME                  the node lpc.NAME, nothing under it
 *
 * Values directly under "lpc" (bhyve keeps lpc.bootrom there) are
 * settings, not devices, and lpc_init() leaves them alone.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rhyve.h"

#define LPC_MAXDEV 32

static const struct lpc_dev *lpc_devs[LPC_MAXDEV];
static int lpc_ndevs;
/* Devices lpc_init() created, in creation order. */
static const struct lpc_dev *lpc_inited[LPC_MAXDEV];
static int lpc_ninited;

void
lpc_register(const struct lpc_dev *dev)
{
	if (lpc_ndevs == LPC_MAXDEV) {
		fprintf(stderr, "rhyve: too many LPC devices (%s)\n",
			dev->name);
		abort();
	}
	lpc_devs[lpc_ndevs++] = dev;
}

static const struct lpc_dev *
lpc_find(const char *name)
{
	for (int i = 0; i < lpc_ndevs; i++)
		if (strcasecmp(lpc_devs[i]->name, name) == 0)
			return lpc_devs[i];
	return NULL;
}

/* COM1-COM4 take a backend spec, not key=value pairs. */
static bool
lpc_is_uart(const char *name)
{
	return strncmp(name, "com", 3) == 0 && name[3] >= '1' &&
	       name[3] <= '4' && name[4] == '\0';
}

static int
lpc_set(const char *dev, const char *key, const char *value)
{
	char path[128];

	if (*key == '\0' || strchr(key, '.') != NULL) {
		rhyve_warnx("-l %s: invalid option name '%s'", dev, key);
		return -1;
	}
	snprintf(path, sizeof(path), "lpc.%s.%s", dev, key);
	if (set_config_value(path, value) != 0) {
		rhyve_warnx("-l %s: cannot set %s=%s", dev, path, value);
		return -1;
	}
	return 0;
}

int
lpc_device_parse(const char *opts)
{
	const struct lpc_dev *dev;
	char *str, *conf, *tok, *next, *eq, path[64];
	int error = 0;

	str = strdup(opts);
	if (str == NULL) {
		rhyve_warnx("out of memory");
		return -1;
	}
	conf = strchr(str, ',');
	if (conf != NULL)
		*conf++ = '\0';
	dev = lpc_find(str);
	if (dev == NULL) {
		rhyve_warnx("unknown LPC device '%s' (-l help lists them)",
			    str);
		free(str);
		return -1;
	}
	snprintf(path, sizeof(path), "lpc.%s", dev->name);
	if (create_config_node(path) == NULL) {
		rhyve_warnx("-l %s: cannot create config node %s", opts, path);
		free(str);
		return -1;
	}
	if (conf != NULL && lpc_is_uart(dev->name)) {
		error = lpc_set(dev->name, "path", conf);
	} else if (conf != NULL) {
		for (tok = conf; tok != NULL && error == 0; tok = next) {
			next = strchr(tok, ',');
			if (next != NULL)
				*next++ = '\0';
			if (*tok == '\0')
				continue;
			eq = strchr(tok, '=');
			if (eq != NULL)
				*eq++ = '\0';
			error =
			    lpc_set(dev->name, tok, eq != NULL ? eq : "true");
		}
	}
	free(str);
	return error;
}

static int
lpc_cmp(const void *a, const void *b)
{
	const struct lpc_dev *const *da = a, *const *db = b;

	return strcmp((*da)->name, (*db)->name);
}

void
lpc_print_supported(FILE *fp)
{
	const struct lpc_dev *devs[LPC_MAXDEV];

	memcpy(devs, lpc_devs, sizeof(devs[0]) * (size_t)lpc_ndevs);
	qsort(devs, (size_t)lpc_ndevs, sizeof(devs[0]), lpc_cmp);
	for (int i = 0; i < lpc_ndevs; i++)
		fprintf(fp, "%-10s %s\n", devs[i]->name,
			devs[i]->help != NULL ? devs[i]->help : "");
}

struct lpc_init_ctx {
	struct vm *vm;
	int error;
};

static void
lpc_init_one(const struct config_node *node, void *arg)
{
	struct lpc_init_ctx *ctx = arg;
	const struct lpc_dev *dev;
	const char *name = config_node_name(node);

	if (ctx->error != 0 || config_node_value(node) != NULL)
		return;
	dev = lpc_find(name);
	if (dev == NULL) {
		rhyve_warnx("unknown LPC device 'lpc.%s' in the configuration",
			    name);
		ctx->error = -1;
		return;
	}
	for (int i = 0; i < lpc_ninited; i++) {
		if (lpc_inited[i] == dev) {
			rhyve_warnx("LPC device %s configured twice",
				    dev->name);
			ctx->error = -1;
			return;
		}
	}
	if (dev->init != NULL && dev->init(ctx->vm, node) != 0) {
		ctx->error = -1;
		return;
	}
	lpc_inited[lpc_ninited++] = dev;
}

int
lpc_init(struct vm *vm)
{
	struct lpc_init_ctx ctx = { vm, 0 };
	const struct config_node *lpc;

	lpc = find_config_node("lpc");
	if (lpc == NULL)
		return 0;
	config_node_foreach(lpc, lpc_init_one, &ctx);
	if (ctx.error != 0)
		lpc_deinit();
	return ctx.error;
}

void
lpc_deinit(void)
{
	while (lpc_ninited > 0) {
		const struct lpc_dev *dev = lpc_inited[--lpc_ninited];

		if (dev->deinit != NULL)
			dev->deinit();
	}
}
