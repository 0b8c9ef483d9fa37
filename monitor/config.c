/*
 * The config tree, as bhyve's config.c: every setting of a VM is a dotted
 * key ("lpc.com1.path") with a string value.  Options, -o and -k files all
 * land here; devices read their own subtree.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rhyve.h"

#define CONFIG_PATH_MAX 256

struct config_node {
	char *name;
	char *value; /* leaves only */
	struct config_node *parent;
	struct config_node *children, *last_child, *next;
};

static struct config_node *config_root;

void
rhyve_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("rhyve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static struct config_node *
node_new(struct config_node *parent, const char *name, size_t len)
{
	struct config_node *n = calloc(1, sizeof(*n));

	if (n == NULL || (n->name = strndup(name, len)) == NULL) {
		free(n);
		return NULL;
	}
	n->parent = parent;
	if (parent->last_child != NULL)
		parent->last_child->next = n;
	else
		parent->children = n;
	parent->last_child = n;
	return n;
}

static void
node_free(struct config_node *n)
{
	struct config_node *c, *next;

	for (c = n->children; c != NULL; c = next) {
		next = c->next;
		node_free(c);
	}
	free(n->name);
	free(n->value);
	free(n);
}

void
init_config(void)
{
	free_config();
	config_root = calloc(1, sizeof(*config_root));
	if (config_root == NULL) {
		rhyve_warnx("out of memory");
		exit(RHYVE_EXIT_ERROR);
	}
}

void
free_config(void)
{
	if (config_root != NULL)
		node_free(config_root);
	config_root = NULL;
}

static struct config_node *
child_lookup(const struct config_node *parent, const char *name, size_t len)
{
	for (struct config_node *c = parent->children; c != NULL; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

static bool
valid_component(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("-_", s[i]) == NULL)
			return false;
	return true;
}

/*
 * Walk 'path' below 'node'; with 'create', make missing nodes.  Fails
 * (NULL, errno set) on a malformed path or one that runs through a leaf.
 */
static struct config_node *
walk(struct config_node *node, const char *path, bool create)
{
	const char *p = path, *dot;

	if (path[0] == '\0' || strlen(path) >= CONFIG_PATH_MAX) {
		errno = EINVAL;
		return NULL;
	}
	while (node != NULL) {
		struct config_node *child;
		size_t len;

		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		if (!valid_component(p, len)) {
			errno = EINVAL;
			return NULL;
		}
		if (node->value != NULL) {
			errno = ENOTDIR;
			return NULL;
		}
		child = child_lookup(node, p, len);
		if (child == NULL) {
			if (!create) {
				errno = ENOENT;
				return NULL;
			}
			child = node_new(node, p, len);
			if (child == NULL) {
				errno = ENOMEM;
				return NULL;
			}
		}
		node = child;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return node;
}

struct config_node *
create_config_node(const char *path)
{
	struct config_node *n = walk(config_root, path, true);

	if (n != NULL && n->value != NULL) {
		errno = EEXIST;
		return NULL;
	}
	return n;
}

struct config_node *
find_config_node(const char *path)
{
	struct config_node *n = walk(config_root, path, false);

	return n != NULL && n->value == NULL ? n : NULL;
}

static int
set_leaf(struct config_node *n, const char *value)
{
	char *copy;

	if (n->children != NULL)
		return EISDIR;
	copy = strdup(value);
	if (copy == NULL)
		return ENOMEM;
	free(n->value);
	n->value = copy;
	return 0;
}

int
set_config_value_node(struct config_node *parent, const char *name,
		      const char *value)
{
	struct config_node *n = walk(parent, name, true);

	return n == NULL ? errno : set_leaf(n, value);
}

int
set_config_value(const char *path, const char *value)
{
	return set_config_value_node(config_root, path, value);
}

const char *
get_config_value_node(const struct config_node *parent, const char *name)
{
	struct config_node *n;

	if (parent == NULL)
		return NULL;
	n = walk((struct config_node *)parent, name, false);
	return n != NULL ? n->value : NULL;
}

const char *
get_config_value(const char *path)
{
	return get_config_value_node(config_root, path);
}

const char *
get_config_value_default(const char *path, const char *def)
{
	const char *v = get_config_value(path);

	return v != NULL ? v : def;
}

int
set_config_bool(const char *path, bool value)
{
	return set_config_value(path, value ? "true" : "false");
}

bool
get_config_bool_default(const char *path, bool def)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	const char *v = get_config_value(path);

	if (v == NULL)
		return def;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return true;
		if (strcasecmp(v, no[i]) == 0)
			return false;
	}
	rhyve_warnx("%s=%s: not a boolean (use true or false)", path, v);
	exit(RHYVE_EXIT_ERROR);
}

const char *
config_node_name(const struct config_node *node)
{
	return node->name;
}

const char *
config_node_value(const struct config_node *node)
{
	return node->value;
}

void
config_node_foreach(const struct config_node *node,
		    void (*fn)(const struct config_node *child, void *arg),
		    void *arg)
{
	if (node == NULL)
		return;
	for (struct config_node *c = node->children; c != NULL; c = c->next)
		fn(c, arg);
}

int
config_parse_option(const char *kv, char *errbuf, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	char key[CONFIG_PATH_MAX];
	int error;

	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
		snprintf(errbuf, errlen, "'%s': expected key=value", kv);
		return EINVAL;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	error = set_config_value(key, eq + 1);
	if (error == EINVAL)
		snprintf(
		    errbuf, errlen,
		    "'%s': keys are dot-separated names of letters, digits, "
		    "'-' and '_'",
		    key);
	else if (error == ENOTDIR || error == EISDIR)
		snprintf(
		    errbuf, errlen,
		    "'%s': conflicts with an existing key (a key cannot be "
		    "both a value and a parent of others)",
		    key);
	else if (error != 0)
		snprintf(errbuf, errlen, "'%s': %s", key, strerror(error));
	return error;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int
load_config_buffer(const char *buf, size_t len, const char *name, char *errbuf,
		   size_t errlen)
{
	char line[1024], why[256];
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		size_t n = 0, klen;
		char *s, *eq, *key, *val;

		lineno++;
		while (pos < len && buf[pos] != '\n') {
			if (buf[pos] == '\0' || n + 1 >= sizeof(line)) {
				snprintf(errbuf, errlen, "%s:%d: %s", name,
					 lineno,
					 buf[pos] == '\0' ? "NUL byte in line"
							  : "line too long");
				return EINVAL;
			}
			line[n++] = buf[pos++];
		}
		pos++; /* the newline */
		line[n] = '\0';
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		/* "key = value" is fine in a file: drop the blanks around '='.
		 */
		eq = strchr(s, '=');
		if (eq != NULL) {
			*eq = '\0';
			key = trim(s);
			val = trim(eq + 1);
			klen = strlen(key);
			memmove(line, key, klen);
			line[klen] = '=';
			memmove(line + klen + 1, val, strlen(val) + 1);
			s = line;
		}
		if (config_parse_option(s, why, sizeof(why)) != 0) {
			snprintf(errbuf, errlen, "%s:%d: %s", name, lineno,
				 why);
			return EINVAL;
		}
	}
	return 0;
}

int
load_config_file(const char *path, char *errbuf, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	int error;

	if (fp == NULL) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return errno;
	}
	/* A config file is small; refuse anything that is not. */
	buf = malloc(1 << 20);
	if (buf == NULL) {
		fclose(fp);
		snprintf(errbuf, errlen, "out of memory");
		return ENOMEM;
	}
	len = fread(buf, 1, 1 << 20, fp);
	if (ferror(fp) || !feof(fp)) {
		snprintf(errbuf, errlen, "%s: %s", path,
			 ferror(fp) ? strerror(errno) : "larger than 1 MiB");
		error = EINVAL;
	} else {
		error = load_config_buffer(buf, len, path, errbuf, errlen);
	}
	free(buf);
	fclose(fp);
	return error;
}

static void
walk_leaves(const struct config_node *n, char *prefix, size_t plen,
	    config_leaf_func_t fn, void *arg)
{
	for (const struct config_node *c = n->children; c != NULL;
	     c = c->next) {
		size_t len = plen;

		len += (size_t)snprintf(prefix + plen, CONFIG_PATH_MAX - plen,
					"%s%s", plen ? "." : "", c->name);
		if (c->value != NULL || c->children == NULL)
			fn(prefix, c->value, arg);
		else if (len < CONFIG_PATH_MAX)
			walk_leaves(c, prefix, len, fn, arg);
		prefix[plen] = '\0';
	}
}

void
config_foreach_leaf(config_leaf_func_t fn, void *arg)
{
	char prefix[CONFIG_PATH_MAX] = "";

	if (config_root != NULL)
		walk_leaves(config_root, prefix, 0, fn, arg);
}

static void
print_leaf(const char *path, const char *value, void *arg)
{
	if (value != NULL)
		fprintf(arg, "%s=%s\n", path, value);
	else
		fprintf(arg, "%s\n", path);
}

void
dump_config(FILE *fp)
{
	config_foreach_leaf(print_leaf, fp);
}

int
parse_memsize(const char *str, size_t *sizep)
{
	unsigned long long v, mult = 1ULL << 20;
	char *end;

	if (!isdigit((unsigned char)str[0]))
		return EINVAL;
	errno = 0;
	v = strtoull(str, &end, 0);
	if (errno != 0)
		return EINVAL;
	switch (*end) {
	case '\0':
		break; /* bare number: MiB, as bhyve */
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 't':
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return EINVAL;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v == 0 || v > SIZE_MAX / mult)
		return EINVAL;
	*sizep = (size_t)(v * mult);
	return 0;
}
