/*
 * fwcfg: read QEMU's fw_cfg through its I/O ports (selector 0x510, data
 * 0x511): the signature, the interface ID, the CPU count, the RAM size
 * and two files found through the file directory.  The test runs rhyve
 * with
 *
 *   -m 64M -c 2 -f opt/rhyve/test,string=hello-fw-cfg
 *   -f name=opt/rhyve/file,file=BUILD/fwcfg-file.bin
 *
 * where fwcfg-file.bin holds "0123456789abcdef" 300 times (4800 bytes).
 * The second vCPU only exists (it waits for INIT-SIPI) but counts.
 */
#include "guest.h"

#define FW_CFG_SEL       0x510
#define FW_CFG_DATA      0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID        0x01
#define FW_CFG_RAM_SIZE  0x03
#define FW_CFG_NB_CPUS   0x05
#define FW_CFG_MAX_CPUS  0x0f
#define FW_CFG_FILE_DIR  0x19

#define EXPECT_CPUS      2
#define EXPECT_RAM       (64UL << 20)
#define FILE_SIZE        4800

struct fw_cfg_file {
	uint32_t size;   /* big-endian */
	uint16_t select; /* big-endian */
	uint16_t reserved;
	char name[56];
};

static void
fw_select(uint16_t key)
{
	outw(FW_CFG_SEL, key);
}

/* REP INSB: the way Linux and SeaBIOS read items. */
static void
fw_read(void *buf, size_t len)
{
	insb(FW_CFG_DATA, buf, len);
}

static uint32_t
be32(uint32_t v)
{
	return __builtin_bswap32(v);
}

static uint16_t
be16(uint16_t v)
{
	return __builtin_bswap16(v);
}

static int
streq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static void
test_items(void)
{
	char sig[5] = { 0 };
	uint32_t id;
	uint16_t cpus, max;
	uint64_t ram;

	fw_select(FW_CFG_SIGNATURE);
	fw_read(sig, 4);
	GUEST_ASSERT(streq(sig, "QEMU"));
	/* Past the end: zeros.  Selecting again rewinds. */
	GUEST_ASSERT_EQ(inb(FW_CFG_DATA), 0);
	fw_select(FW_CFG_SIGNATURE);
	GUEST_ASSERT_EQ(inb(FW_CFG_DATA), 'Q');
	GUEST_ASSERT_EQ(inb(FW_CFG_DATA), 'E');

	fw_select(FW_CFG_ID);
	fw_read(&id, 4);
	GUEST_ASSERT_EQ(id & 1, 1); /* traditional interface */
	GUEST_ASSERT_EQ(id & 2, 0); /* no DMA */

	fw_select(FW_CFG_NB_CPUS);
	fw_read(&cpus, 2);
	fw_select(FW_CFG_MAX_CPUS);
	fw_read(&max, 2);
	GUEST_ASSERT_EQ(cpus, EXPECT_CPUS);
	GUEST_ASSERT_EQ(max, EXPECT_CPUS);

	fw_select(FW_CFG_RAM_SIZE);
	fw_read(&ram, 8);
	GUEST_ASSERT_EQ(ram, EXPECT_RAM);

	/* Items that do not exist read 0. */
	fw_select(0x1234);
	GUEST_ASSERT_EQ(inb(FW_CFG_DATA), 0);
	fw_select(0x8000 | FW_CFG_SIGNATURE);
	GUEST_ASSERT_EQ(inb(FW_CFG_DATA), 0);
	guest_printf("fwcfg: signature QEMU, id %u, %u cpus, %lu MiB\n", id,
		     cpus, (unsigned long)(ram >> 20));
}

static struct fw_cfg_file dir[16];
static uint32_t ndir;

static const struct fw_cfg_file *
find_file(const char *name)
{
	for (uint32_t i = 0; i < ndir; i++)
		if (streq(dir[i].name, name))
			return &dir[i];
	return NULL;
}

static uint8_t buf[FILE_SIZE + 16];

static void
test_files(void)
{
	const struct fw_cfg_file *f;
	uint32_t count;

	fw_select(FW_CFG_FILE_DIR);
	fw_read(&count, 4);
	ndir = be32(count);
	GUEST_ASSERT_EQ(ndir, 2);
	fw_read(dir, ndir * sizeof(dir[0]));
	for (uint32_t i = 0; i < ndir; i++)
		guest_printf("fwcfg: file %s, %u bytes, selector 0x%x\n",
			     dir[i].name, be32(dir[i].size),
			     be16(dir[i].select));
	/* Sorted by name, selectors from 0x20. */
	GUEST_ASSERT(streq(dir[0].name, "opt/rhyve/file"));
	GUEST_ASSERT(streq(dir[1].name, "opt/rhyve/test"));
	GUEST_ASSERT_EQ(be16(dir[0].select), 0x20);
	GUEST_ASSERT_EQ(be16(dir[1].select), 0x21);

	/* -f opt/rhyve/test,string=hello-fw-cfg: the text, no NUL. */
	f = find_file("opt/rhyve/test");
	GUEST_ASSERT(f != NULL);
	GUEST_ASSERT_EQ(be32(f->size), 12);
	memset(buf, 0xaa, sizeof(buf));
	fw_select(be16(f->select));
	fw_read(buf, 13);
	GUEST_ASSERT(memcmp(buf, "hello-fw-cfg", 12) == 0);
	GUEST_ASSERT_EQ(buf[12], 0); /* past the end */

	/* -f opt/rhyve/file,file=...: 4800 bytes of a known pattern. */
	f = find_file("opt/rhyve/file");
	GUEST_ASSERT(f != NULL);
	GUEST_ASSERT_EQ(be32(f->size), FILE_SIZE);
	fw_select(be16(f->select));
	fw_read(buf, FILE_SIZE);
	for (int i = 0; i < FILE_SIZE; i++)
		GUEST_ASSERT_EQ(buf[i], "0123456789abcdef"[i % 16]);
	/* Byte by byte works as well as REP INSB. */
	fw_select(be16(f->select));
	for (int i = 0; i < 20; i++)
		GUEST_ASSERT_EQ(inb(FW_CFG_DATA), "0123456789abcdef"[i % 16]);
}

int
guest_main(void)
{
	test_items();
	test_files();
	guest_printf("fwcfg: %d cpus and %u files read: ok\n", EXPECT_CPUS,
		     ndir);
	return 0;
}
