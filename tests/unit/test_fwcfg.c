/*
 * fw_cfg (monitor/fwcfg.c): -f parsing, the config checks, and the items
 * and file directory as a guest reads them through ports 0x510/0x511 of
 * the real port table, on a VM without an engine (fake_vm.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit.h"
#include "fake_vm.h"
#include "rhyve.h"
#include "monitor_io.h"

static struct vm *vm;

static uint32_t
pio(bool in, int port, int bytes, uint32_t val)
{
	CU_ASSERT_EQUAL(monitor_pio(vm, in, port, bytes, &val), 0);
	return val;
}

/* Select 'key' and read 'len' bytes with one REP INSB. */
static void
fw_read(uint16_t key, void *buf, uint32_t len)
{
	struct vm_exit ex;

	pio(false, 0x510, 2, key);
	memset(&ex, 0, sizeof(ex));
	ex.exitcode = VM_EXITCODE_INOUT;
	ex.u.inout = (struct vm_inout){ .port = 0x511,
					.bytes = 1,
					.in = true,
					.string = true,
					.rep = true,
					.count = len,
					.data = buf };
	CU_ASSERT_EQUAL(emulate_inout(vm->vcpus[0], &ex, false), 0);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static const char *
write_tmp(const char *name, const char *text)
{
	const char *path = unit_tmp_path(name);
	FILE *fp = fopen(path, "w");

	CU_ASSERT_FATAL(fp != NULL);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_parse(void)
{
	char arg[300], name[60];

	init_config();
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/a,string=hello, world=1"), 0);
	CU_ASSERT_EQUAL(fwcfg_parse_opt("name=opt/b,file=/some/path"), 0);
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/c,string="), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("fwcfg.file.0.name"), "opt/a");
	CU_ASSERT_STRING_EQUAL(get_config_value("fwcfg.file.0.string"),
			       "hello, world=1");
	CU_ASSERT_STRING_EQUAL(get_config_value("fwcfg.file.1.name"), "opt/b");
	CU_ASSERT_STRING_EQUAL(get_config_value("fwcfg.file.1.path"),
			       "/some/path");
	CU_ASSERT_STRING_EQUAL(get_config_value("fwcfg.file.2.string"), "");

	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/a,string=again"), -1);
	CU_ASSERT_EQUAL(fwcfg_parse_opt("name=opt/b,string=again"), -1);
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/d"), -1);
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/d,blob=x"), -1);
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/d,file="), -1);
	CU_ASSERT_EQUAL(fwcfg_parse_opt(",string=x"), -1);
	CU_ASSERT_EQUAL(fwcfg_parse_opt("name=,string=x"), -1);
	memset(name, 'n', 55);
	name[55] = '\0';
	snprintf(arg, sizeof(arg), "%s,string=x", name);
	CU_ASSERT_EQUAL(fwcfg_parse_opt(arg), 0); /* 55 bytes: the most */
	snprintf(arg, sizeof(arg), "%sN,string=x", name);
	CU_ASSERT_EQUAL(fwcfg_parse_opt(arg), -1);
	CU_ASSERT_PTR_NULL(get_config_value("fwcfg.file.4.name"));
	free_config();
}

/* fwcfg_check_config() fails on the configuration made; then clean. */
static void
expect_rejected(void)
{
	CU_ASSERT_EQUAL(fwcfg_check_config(), -1);
	fwcfg_deinit();
	free_config();
}

/* What -o and -k can write, and files that cannot be read. */
static void
test_check_config(void)
{
	static const char *const bad[][2] = {
		{ "fwcfg", "x" },
		{ "fwcfg.enable", "true" },
		{ "fwcfg.file", "x" },
		{ "fwcfg.file.0", "x" },
		{ "fwcfg.file.0.string", "no name" },
		{ "fwcfg.file.0.name", "opt/no-data" },
		{ "fwcfg.file.0.name", "" },
		{ "fwcfg.file.0.name",
		  "opt/01234567890123456789012345678901234567890123456789012" },
	};
	const char *ok = write_tmp("ok", "data");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		init_config();
		CU_ASSERT_EQUAL(set_config_value(bad[i][0], bad[i][1]), 0);
		if (strcmp(bad[i][0], "fwcfg.file.0.name") == 0 &&
		    strcmp(bad[i][1], "opt/no-data") != 0)
			set_config_value("fwcfg.file.0.string", "x");
		expect_rejected();
	}
	/* Both a string and a path; an unknown key; a name twice. */
	init_config();
	set_config_value("fwcfg.file.0.name", "opt/x");
	set_config_value("fwcfg.file.0.string", "x");
	set_config_value("fwcfg.file.0.path", ok);
	expect_rejected();
	init_config();
	set_config_value("fwcfg.file.0.name", "opt/x");
	set_config_value("fwcfg.file.0.text", "x");
	expect_rejected();
	init_config();
	set_config_value("fwcfg.file.0.name", "opt/x");
	set_config_value("fwcfg.file.0.string", "x");
	set_config_value("fwcfg.file.a.name", "opt/x");
	set_config_value("fwcfg.file.a.path", ok);
	expect_rejected();

	/* Paths: missing, a directory, unreadable (unless root). */
	init_config();
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/x,file=/nonexistent/rhyve"), 0);
	expect_rejected();
	init_config();
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/x,file=/"), 0);
	expect_rejected();
	if (geteuid() != 0) {
		const char *p = write_tmp("secret", "x");
		char arg[300];

		chmod(p, 0);
		snprintf(arg, sizeof(arg), "opt/x,file=%s", p);
		init_config();
		CU_ASSERT_EQUAL(fwcfg_parse_opt(arg), 0);
		expect_rejected();
	}
	/* Nothing configured: fine. */
	init_config();
	CU_ASSERT_EQUAL(fwcfg_check_config(), 0);
	free_config();
}

static void
test_guest_view(void)
{
	const char *path = write_tmp("blob", "0123456789");
	uint8_t buf[512], *e;
	struct vcpu *ap = calloc(1, sizeof(*ap));
	char arg[300];
	uint64_t ram;

	init_config();
	init_inout();
	init_mem(1);
	vm = fake_vm_create();
	vm->lowmem = 3ULL << 30;
	vm->highmem = 1ULL << 30;
	vm->vcpus[1] = ap; /* counted, never run */
	CU_ASSERT_EQUAL(fwcfg_parse_opt("opt/rhyve/test,string=hello"), 0);
	snprintf(arg, sizeof(arg), "name=opt/a/blob,file=%s", path);
	CU_ASSERT_EQUAL(fwcfg_parse_opt(arg), 0);
	CU_ASSERT_EQUAL(fwcfg_check_config(), 0);
	/* Another part of rhyve adds its files, before or after init. */
	CU_ASSERT_EQUAL(fwcfg_add_file("etc/acpi/rsdp", "RSD PTR ", 8), 0);
	CU_ASSERT_EQUAL(fwcfg_init(vm), 0);
	CU_ASSERT_EQUAL(fwcfg_add_file("etc/acpi/tables", "DSDT", 4), 0);
	CU_ASSERT_EQUAL(fwcfg_add_item(0x8003, "\x01\x02", 2), 0);

	fw_read(0x0000, buf, 5);
	CU_ASSERT_EQUAL(memcmp(buf, "QEMU\0", 5), 0);
	fw_read(0x0001, buf, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "\x01\0\0\0", 4), 0);
	fw_read(0x0003, &ram, 8);
	CU_ASSERT_EQUAL(ram, 4ULL << 30);
	fw_read(0x0005, buf, 2);
	CU_ASSERT_EQUAL(memcmp(buf, "\x02\0", 2), 0);
	fw_read(0x000f, buf, 3);
	CU_ASSERT_EQUAL(memcmp(buf, "\x02\0\0", 3), 0);
	fw_read(0x8003, buf, 2);
	CU_ASSERT_EQUAL(memcmp(buf, "\x01\x02", 2), 0);
	/* The write-channel bit selects the same item; writes do nothing. */
	fw_read(0x4000, buf, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "QEMU", 4), 0);
	pio(false, 0x510, 2, 0x4000);
	pio(false, 0x511, 1, 'X');
	CU_ASSERT_EQUAL(pio(true, 0x511, 1, 0), 'Q');
	/* QEMU's port pair: a byte read at 0x510 reads data too. */
	CU_ASSERT_EQUAL(pio(true, 0x510, 1, 0), 'E');
	/* Other sizes are not the interface. */
	CU_ASSERT_EQUAL(pio(true, 0x511, 4, 0), 0xffffffff);
	CU_ASSERT_EQUAL(pio(true, 0x510, 2, 0), 0xffff);
	pio(false, 0x510, 4, 0x0005); /* no select */
	pio(false, 0x510, 1, 0x05);
	CU_ASSERT_EQUAL(pio(true, 0x511, 1, 0), 'M');
	/* Missing items read 0. */
	fw_read(0x0002, buf, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "\0\0\0\0", 4), 0);
	fw_read(0x3fff, buf, 1);
	CU_ASSERT_EQUAL(buf[0], 0);

	/* The directory: sorted, selectors from 0x20 in that order. */
	fw_read(0x0019, buf, 4 + 4 * 64);
	CU_ASSERT_EQUAL(be32(buf), 4);
	static const char *const names[] = { "etc/acpi/rsdp", "etc/acpi/tables",
					     "opt/a/blob", "opt/rhyve/test" };
	static const uint32_t sizes[] = { 8, 4, 10, 5 };
	for (int i = 0; i < 4; i++) {
		e = buf + 4 + 64 * i;
		CU_ASSERT_EQUAL(be32(e), sizes[i]);
		CU_ASSERT_EQUAL(e[4] << 8 | e[5], 0x20 + i);
		CU_ASSERT_EQUAL(e[6] | e[7], 0);
		CU_ASSERT_STRING_EQUAL((char *)e + 8, names[i]);
		CU_ASSERT_EQUAL(e[63], 0);
	}
	fw_read(0x0022, buf, 11);
	CU_ASSERT_EQUAL(memcmp(buf, "0123456789\0", 11), 0);
	fw_read(0x0023, buf, 6);
	CU_ASSERT_EQUAL(memcmp(buf, "hello\0", 6), 0);
	fw_read(0x0024, buf, 1);
	CU_ASSERT_EQUAL(buf[0], 0);

	/* What the API refuses. */
	CU_ASSERT_EQUAL(fwcfg_add_file("opt/a/blob", "x", 1), EEXIST);
	CU_ASSERT_EQUAL(fwcfg_add_file("", "x", 1), EINVAL);
	memset(arg, 'n', 56);
	arg[56] = '\0';
	CU_ASSERT_EQUAL(fwcfg_add_file(arg, "x", 1), EINVAL);
	arg[55] = '\0';
	CU_ASSERT_EQUAL(fwcfg_add_file(arg, NULL, 0), 0);
	CU_ASSERT_EQUAL(fwcfg_add_item(0x0000, "x", 1), EEXIST);
	CU_ASSERT_EQUAL(fwcfg_add_item(0x0019, "x", 1), EINVAL);
	CU_ASSERT_EQUAL(fwcfg_add_item(0x0020, "x", 1), EINVAL);
	CU_ASSERT_EQUAL(fwcfg_add_item(0x4002, "x", 1), EINVAL);
	CU_ASSERT_EQUAL(fwcfg_add_item(0x0002, "UUIDUUIDUUIDUUID", 16), 0);
	fw_read(0x0019, buf, 4);
	CU_ASSERT_EQUAL(be32(buf), 5);
	fw_read(0x0019 | 0x8000, buf, 1); /* arch-local: another item */
	CU_ASSERT_EQUAL(buf[0], 0);

	/* Deinit gives the ports back; a second VM starts clean. */
	fwcfg_deinit();
	CU_ASSERT_EQUAL(pio(true, 0x511, 1, 0), 0xff);
	CU_ASSERT_EQUAL(fwcfg_init(vm), 0);
	fw_read(0x0019, buf, 4);
	CU_ASSERT_EQUAL(be32(buf), 0);
	fwcfg_deinit();

	vm->vcpus[1] = NULL;
	free(ap);
	fake_vm_destroy(vm);
	free_config();
}

static CU_TestInfo fwcfg_tests[] = {
	{ "-f parsing", test_parse },
	{ "config checks", test_check_config },
	{ "items and files as the guest sees them", test_guest_view },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "fwcfg", fwcfg_tests },
	{ NULL, NULL },
};
