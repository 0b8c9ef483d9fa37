/*
 * The file header: magic, version, and the key=value text that describes
 * the recording (docs/trace-format.md, "File header").
 *
 * The version is checked before the checksum: the first 12 bytes are the
 * one part of the layout that never changes, so a file of a future major
 * version gets "unsupported version" rather than "damaged".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "trace_int.h"

static bool
trace_key_ok(const char *key)
{
	if (!key || !*key)
		return false;
	for (const char *p = key; *p; p++)
		if (*p == '=' || *p == '\n' || *p == '\\')
			return false;
	return true;
}

/* Bytes of 'v' once '\' and newline are escaped. */
static size_t
trace_escaped_len(const char *v)
{
	size_t n = 0;

	for (; *v; v++)
		n += (*v == '\\' || *v == '\n') ? 2 : 1;
	return n;
}

static uint8_t *
trace_escape(uint8_t *p, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else if (*v == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else
			*p++ = (uint8_t)*v;
	}
	return p;
}

uint8_t *
trace_header_build(const struct trace_kv *kv, size_t n, size_t *lenp, char *err,
		   size_t errlen)
{
	uint64_t body = 0;
	uint8_t *buf, *p;

	for (size_t i = 0; i < n; i++) {
		if (!trace_key_ok(kv[i].key)) {
			snprintf(err, errlen,
				 "bad header key \"%s\" (empty, or has '=', "
				 "'\\\\' or a newline)",
				 kv[i].key ? kv[i].key : "(null)");
			return NULL;
		}
		body += strlen(kv[i].key) + 2 +
			(kv[i].value ? trace_escaped_len(kv[i].value) : 0);
		if (body > TRACE_MAX_HEADER_BODY) {
			snprintf(err, errlen, "header larger than %u bytes",
				 TRACE_MAX_HEADER_BODY);
			return NULL;
		}
	}
	buf = malloc(TRACE_FILE_FIXED + body + 4);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(buf, TRACE_FILE_MAGIC, 8);
	trace_put16(buf + 8, TRACE_VERSION_MAJOR);
	trace_put16(buf + 10, TRACE_VERSION_MINOR);
	trace_put32(buf + 12, (uint32_t)body);
	p = buf + TRACE_FILE_FIXED;
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(kv[i].key);

		memcpy(p, kv[i].key, kl);
		p += kl;
		*p++ = '=';
		if (kv[i].value)
			p = trace_escape(p, kv[i].value);
		*p++ = '\n';
	}
	trace_put32(p, (uint32_t)crc32(0, buf, (uInt)(p - buf)));
	*lenp = (size_t)(p - buf) + 4;
	return buf;
}

int
trace_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Unescape the value in place; -1 on an unknown escape. */
static int
trace_unescape(char *v)
{
	char *o = v;

	for (; *v; v++) {
		if (*v != '\\') {
			*o++ = *v;
			continue;
		}
		v++;
		if (*v == '\\')
			*o++ = '\\';
		else if (*v == 'n')
			*o++ = '\n';
		else
			return -1;
	}
	*o = '\0';
	return 0;
}

static int
trace_header_parse(struct trace_header_info *hi, char *err, size_t errlen)
{
	char *text = hi->text, *end = text + hi->body_len, *line;
	size_t lines = 0, k = 0;

	if (memchr(text, '\0', hi->body_len)) {
		snprintf(err, errlen, "damaged trace header: NUL byte in text");
		return -1;
	}
	if (hi->body_len && end[-1] != '\n') {
		snprintf(err, errlen,
			 "damaged trace header: last line not terminated");
		return -1;
	}
	for (char *p = text; p < end; p++)
		lines += *p == '\n';
	hi->kv = calloc(lines ? lines : 1, sizeof(*hi->kv));
	if (!hi->kv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (line = text; line < end; k++) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *eq;

		*nl = '\0';
		eq = strchr(line, '=');
		if (!eq || eq == line) {
			snprintf(
			    err, errlen,
			    "damaged trace header: line %zu is not key=value",
			    k + 1);
			return -1;
		}
		*eq = '\0';
		if (trace_unescape(eq + 1) < 0) {
			snprintf(err, errlen,
				 "damaged trace header: bad escape in \"%s\"",
				 line);
			return -1;
		}
		hi->kv[k].key = line;
		hi->kv[k].value = eq + 1;
		line = nl + 1;
	}
	hi->nkv = k;
	return 0;
}

int
trace_header_read(int fd, uint64_t fsize, struct trace_header_info *hi,
		  char *err, size_t errlen)
{
	uint8_t fixed[TRACE_FILE_FIXED], crcb[4];
	uint32_t crc;

	memset(hi, 0, sizeof(*hi));
	if (fsize < TRACE_FILE_FIXED ||
	    trace_pread_all(fd, fixed, sizeof(fixed), 0) < 0) {
		snprintf(err, errlen, "not a rhyve trace (only %llu bytes)",
			 (unsigned long long)fsize);
		return -1;
	}
	if (memcmp(fixed, TRACE_FILE_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a rhyve trace (bad magic)");
		return -1;
	}
	hi->major = trace_get16(fixed + 8);
	hi->minor = trace_get16(fixed + 10);
	if (hi->major != TRACE_VERSION_MAJOR) {
		snprintf(
		    err, errlen,
		    "unsupported trace format version %d.%d (this rhyve reads "
		    "%d.x)",
		    hi->major, hi->minor, TRACE_VERSION_MAJOR);
		return -1;
	}
	hi->body_len = trace_get32(fixed + 12);
	if (hi->body_len > TRACE_MAX_HEADER_BODY ||
	    TRACE_FILE_FIXED + (uint64_t)hi->body_len + 4 > fsize) {
		snprintf(
		    err, errlen,
		    "damaged trace header: text of %u bytes does not fit in "
		    "the file (%llu bytes)",
		    hi->body_len, (unsigned long long)fsize);
		return -1;
	}
	hi->text = malloc((size_t)hi->body_len + 1);
	if (!hi->text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (trace_pread_all(fd, hi->text, hi->body_len, TRACE_FILE_FIXED) < 0 ||
	    trace_pread_all(fd, crcb, 4, TRACE_FILE_FIXED + hi->body_len) < 0) {
		snprintf(err, errlen, "cannot read the trace header: %s",
			 strerror(errno ? errno : EIO));
		goto fail;
	}
	hi->text[hi->body_len] = '\0';
	crc = (uint32_t)crc32(0, fixed, sizeof(fixed));
	crc = (uint32_t)crc32(crc, (const Bytef *)hi->text, hi->body_len);
	if (crc != trace_get32(crcb)) {
		snprintf(
		    err, errlen,
		    "damaged trace header: checksum mismatch in bytes 0..%u",
		    TRACE_FILE_FIXED + hi->body_len + 3);
		goto fail;
	}
	if (trace_header_parse(hi, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	trace_header_free(hi);
	return -1;
}

void
trace_header_free(struct trace_header_info *hi)
{
	free(hi->text);
	free(hi->kv);
	hi->text = NULL;
	hi->kv = NULL;
	hi->nkv = 0;
}

const char *
trace_kv_find(const struct trace_kv *kv, size_t n, const char *key)
{
	if (!key)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}
