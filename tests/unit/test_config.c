/* The config tree, -o/-k parsing and memory sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit.h"
#include "rhyve.h"

static void
test_set_get(void)
{
	init_config();
	CU_ASSERT_EQUAL(set_config_value("lpc.com1.path", "stdio"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.com1.path"), "stdio");
	CU_ASSERT_EQUAL(set_config_value("lpc.com1.path", "pty"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.com1.path"), "pty");
	CU_ASSERT_PTR_NULL(get_config_value("lpc.com2.path"));
	CU_ASSERT_PTR_NULL(get_config_value("lpc.com1")); /* a node */
	CU_ASSERT_STRING_EQUAL(get_config_value_default("x", "d"), "d");
	CU_ASSERT_PTR_NOT_NULL(find_config_node("lpc.com1"));
	CU_ASSERT_STRING_EQUAL(
	    get_config_value_node(find_config_node("lpc"), "com1.path"), "pty");
	free_config();
}

static void
test_conflicts(void)
{
	init_config();
	CU_ASSERT_EQUAL(set_config_value("a.b", "1"), 0);
	/* a.b is a value: it cannot have children, nor a become a value. */
	CU_ASSERT_NOT_EQUAL(set_config_value("a.b.c", "1"), 0);
	CU_ASSERT_NOT_EQUAL(set_config_value("a", "1"), 0);
	CU_ASSERT_NOT_EQUAL(set_config_value("", "1"), 0);
	CU_ASSERT_NOT_EQUAL(set_config_value("a..b", "1"), 0);
	CU_ASSERT_NOT_EQUAL(set_config_value(".a", "1"), 0);
	CU_ASSERT_NOT_EQUAL(set_config_value("a b", "1"), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("a.b"), "1");
	free_config();
}

static void
test_bool(void)
{
	init_config();
	set_config_value("x.on", "yes");
	set_config_value("x.off", "0");
	CU_ASSERT_TRUE(get_config_bool_default("x.on", false));
	CU_ASSERT_FALSE(get_config_bool_default("x.off", true));
	CU_ASSERT_TRUE(get_config_bool_default("x.missing", true));
	set_config_bool("x.set", true);
	CU_ASSERT_STRING_EQUAL(get_config_value("x.set"), "true");
	free_config();
}

static void
test_parse_option(void)
{
	char err[256];

	init_config();
	CU_ASSERT_EQUAL(config_parse_option("config.dump=1", err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(get_config_value("config.dump"), "1");
	CU_ASSERT_EQUAL(config_parse_option("k=a=b", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("k"), "a=b");
	CU_ASSERT_NOT_EQUAL(config_parse_option("novalue", err, sizeof(err)),
			    0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "key=value"));
	CU_ASSERT_NOT_EQUAL(config_parse_option("=v", err, sizeof(err)), 0);
	free_config();
}

static void
test_file(void)
{
	const char text[] = "# a comment\n\n  memory.size = 64M \n"
			    "lpc.com1.path=stdio\nname=vm1";
	char err[256];

	init_config();
	CU_ASSERT_EQUAL(
	    load_config_buffer(text, sizeof(text) - 1, "t", err, sizeof(err)),
	    0);
	CU_ASSERT_STRING_EQUAL(get_config_value("memory.size"), "64M");
	CU_ASSERT_STRING_EQUAL(get_config_value("name"), "vm1");
	CU_ASSERT_NOT_EQUAL(load_config_buffer("ok=1\nbroken\n", 12, "f.conf",
					       err, sizeof(err)),
			    0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "f.conf:2:"));
	CU_ASSERT_NOT_EQUAL(
	    load_config_buffer("a=\0b", 4, "nul", err, sizeof(err)), 0);
	CU_ASSERT_NOT_EQUAL(
	    load_config_file("/nonexistent/rhyve.conf", err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/rhyve.conf"));
	free_config();
}

static void
test_dump(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	init_config();
	set_config_value("name", "vm");
	set_config_value("lpc.com1.path", "stdio");
	set_config_value("lpc.pc-testdev.x", "1");
	dump_config(fp);
	fclose(fp);
	CU_ASSERT_STRING_EQUAL(
	    buf, "name=vm\nlpc.com1.path=stdio\nlpc.pc-testdev.x=1\n");
	free(buf);
	free_config();
}

static void
test_memsize(void)
{
	size_t sz;

	CU_ASSERT_EQUAL(parse_memsize("64M", &sz), 0);
	CU_ASSERT_EQUAL(sz, 64ULL << 20);
	CU_ASSERT_EQUAL(parse_memsize("2g", &sz), 0);
	CU_ASSERT_EQUAL(sz, 2ULL << 30);
	CU_ASSERT_EQUAL(parse_memsize("512K", &sz), 0);
	CU_ASSERT_EQUAL(sz, 512ULL << 10);
	CU_ASSERT_EQUAL(parse_memsize("256", &sz), 0); /* MiB */
	CU_ASSERT_EQUAL(sz, 256ULL << 20);
	CU_ASSERT_EQUAL(parse_memsize("1GB", &sz), 0);
	CU_ASSERT_EQUAL(sz, 1ULL << 30);
	CU_ASSERT_NOT_EQUAL(parse_memsize("", &sz), 0);
	CU_ASSERT_NOT_EQUAL(parse_memsize("0", &sz), 0);
	CU_ASSERT_NOT_EQUAL(parse_memsize("-1M", &sz), 0);
	CU_ASSERT_NOT_EQUAL(parse_memsize("12Q", &sz), 0);
	CU_ASSERT_NOT_EQUAL(parse_memsize("99999999999999999999T", &sz), 0);
	CU_ASSERT_NOT_EQUAL(parse_memsize("16777216T", &sz), 0);
}

static void
test_args(void)
{
	char *argv[] = { "rhyve",    "-m",         "64M", "-c",
			 "2",        "-e",         "-o",  "a.b=c",
			 "-l",       "com1,stdio", "-l",  "pc-testdev",
			 "--kernel", "/k.elf",     "vm0", NULL };

	init_config();
	CU_ASSERT_EQUAL(rhyve_parse_args(15, argv), 0);
	CU_ASSERT_STRING_EQUAL(get_config_value("memory.size"), "64M");
	CU_ASSERT_STRING_EQUAL(get_config_value("cpus"), "2");
	CU_ASSERT_STRING_EQUAL(get_config_value("x86.strictio"), "true");
	CU_ASSERT_STRING_EQUAL(get_config_value("a.b"), "c");
	CU_ASSERT_STRING_EQUAL(get_config_value("lpc.com1.path"), "stdio");
	CU_ASSERT_PTR_NOT_NULL(find_config_node("lpc.pc-testdev"));
	CU_ASSERT_STRING_EQUAL(get_config_value("loader.kernel"), "/k.elf");
	CU_ASSERT_STRING_EQUAL(get_config_value("name"), "vm0");
	free_config();
}

static void
test_bad_args(void)
{
	char *bad_mem[] = { "rhyve", "-m", "lots", "vm", NULL };
	char *bad_cpu[] = { "rhyve", "-c", "0", "vm", NULL };
	char *bad_topo[] = { "rhyve", "-c", "cpus=2,dies=3", "vm", NULL };
	char *bad_lpc[] = { "rhyve", "-l", "nosuchdev", "vm", NULL };
	char *bad_pci[] = { "rhyve", "-s", "99,virtio-net", "vm", NULL };
	char *two_names[] = { "rhyve", "vm1", "vm2", NULL };

	init_config();
	CU_ASSERT_NOT_EQUAL(rhyve_parse_args(4, bad_mem), 0);
	CU_ASSERT_NOT_EQUAL(rhyve_parse_args(4, bad_cpu), 0);
	CU_ASSERT_NOT_EQUAL(rhyve_parse_args(4, bad_topo), 0);
	CU_ASSERT_NOT_EQUAL(rhyve_parse_args(4, bad_lpc), 0);
	CU_ASSERT_NOT_EQUAL(rhyve_parse_args(4, bad_pci), 0);
	CU_ASSERT_NOT_EQUAL(rhyve_parse_args(3, two_names), 0);
	free_config();
}

static CU_TestInfo config_tests[] = {
	{ "set and get", test_set_get },
	{ "value/node conflicts and bad keys", test_conflicts },
	{ "booleans", test_bool },
	{ "-o key=value", test_parse_option },
	{ "-k config file", test_file },
	{ "config.dump output", test_dump },
	{ "memory sizes", test_memsize },
	{ "command line", test_args },
	{ "bad command lines", test_bad_args },
	CU_TEST_INFO_NULL,
};

const struct unit_suite unit_suites[] = {
	{ "config", config_tests },
	{ NULL, NULL },
};
