/*
 * multiboot: a multiboot v1 kernel, ELF32 with a multiboot header (with
 * MB_AOUT, as multiboot_aout.c builds it, the header's address fields say
 * where it goes instead).  Its entry, mb_entry, keeps EAX and EBX before
 * the runtime's _start.  Booted with --cmdline MB_CMDLINE and --initrd
 * multiboot-module.txt (see CMakeLists.txt), it checks the entry state and
 * the multiboot information: the magic, the memory sizes against the
 * memory map, the map itself, the command line, module 0 and the boot
 * loader's name.
 */
#include "guest.h"

#define MB_MAGIC_EAX    0x2badb002u
#define MB_CMDLINE      "multiboot test: arg1 arg2=two"
#define MB_MODULE       "rhyve multiboot module\n"
#define MB_MODULE_END   "multiboot-module.txt"

#define MBI_MEM         0x001u
#define MBI_CMDLINE     0x004u
#define MBI_MODS        0x008u
#define MBI_MMAP        0x040u
#define MBI_LOADER_NAME 0x200u

#define CR0_PE          0x00000001UL
#define CR0_PG          0x80000000UL
#define FLAGS_IF        0x00000200UL

#ifdef MB_AOUT
#define MB_NAME  "multiboot_aout"
#define MB_FLAGS "0x00010003" /* page-aligned modules, memory, addresses */
#else
#define MB_NAME  "multiboot"
#define MB_FLAGS "0x00000003" /* page-aligned modules, memory */
#endif

/* The header (first in .text.start, so in the file's first 8 KiB). */
__asm__(".section .text.start, \"ax\", @progbits\n"
	".balign 4\n"
	"mb_header:\n"
	"	.long 0x1badb002\n"
	"	.long " MB_FLAGS "\n"
	"	.long -(0x1badb002 + " MB_FLAGS ")\n"
#ifdef MB_AOUT
	"	.long mb_header\n"     /* header_addr */
	"	.long __guest_start\n" /* load_addr */
	"	.long __bss_start\n"   /* load_end_addr */
	"	.long __guest_end\n"   /* bss_end_addr */
	"	.long mb_entry\n"      /* entry_addr */
#endif
	"	.globl mb_entry\n"
	"mb_entry:\n"
	"	movl %eax, mb_eax\n"
	"	movl %ebx, mb_ebx\n"
	"	jmp _start\n"
	".previous\n");

uint32_t mb_eax, mb_ebx;
extern char __guest_start[], __guest_end[];

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
};

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

static int
streq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* Is [start, end) inside one available (type 1) range of the map? */
static int
available(const struct mb_info *mbi, uint64_t start, uint64_t end)
{
	uint32_t off = 0;

	while (off < mbi->mmap_length) {
		const struct mb_mmap *e =
		    (const struct mb_mmap *)(uintptr_t)(mbi->mmap_addr + off);

		if (e->type == 1 && start >= e->addr && end <= e->addr + e->len)
			return 1;
		off += e->size + 4;
	}
	return 0;
}

int
guest_main(void)
{
	const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)mb_ebx;
	const struct mb_module *mod;
	const char *name;
	uint32_t off, n = 0, len;
	uint64_t ram_1m_end = 0;

	guest_printf(MB_NAME ": eax 0x%x ebx 0x%x\n", (unsigned)mb_eax,
		     (unsigned)mb_ebx);
	/* The entry state: flat 32-bit protected mode, no paging. */
	GUEST_ASSERT_EQ(mb_eax, MB_MAGIC_EAX);
	GUEST_ASSERT((read_cr0() & (CR0_PE | CR0_PG)) == CR0_PE);
	GUEST_ASSERT((read_flags() & FLAGS_IF) == 0);
	GUEST_ASSERT_EQ(read_ds(), read_ss());
	GUEST_ASSERT_EQ(read_es(), read_ds());

	/* The information rhyve provides. */
	GUEST_ASSERT(mbi != 0);
	GUEST_ASSERT_EQ(
	    mbi->flags &
		(MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME),
	    MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME);
	GUEST_ASSERT_EQ(mbi->mem_lower, 639);
	guest_printf(MB_NAME ": mem_lower %u KiB, mem_upper %u KiB\n",
		     (unsigned)mbi->mem_lower, (unsigned)mbi->mem_upper);

	/* The memory map: sizes of 20, ascending, as rhyve lays it out. */
	GUEST_ASSERT(mbi->mmap_length > 0);
	for (off = 0; off < mbi->mmap_length; n++) {
		const struct mb_mmap *e =
		    (const struct mb_mmap *)(uintptr_t)(mbi->mmap_addr + off);

		guest_printf(MB_NAME ": mmap 0x%llx +0x%llx type %u\n",
			     (unsigned long long)e->addr,
			     (unsigned long long)e->len, (unsigned)e->type);
		GUEST_ASSERT_EQ(e->size, 20);
		if (e->type == 1 && e->addr == 0x100000)
			ram_1m_end = e->addr + e->len;
		off += e->size + 4;
	}
	GUEST_ASSERT_EQ(off, mbi->mmap_length);
	GUEST_ASSERT_EQ(n, 5);
	GUEST_ASSERT(available(mbi, 0, 0x9fc00));
	GUEST_ASSERT(!available(mbi, 0xe0000000, 0xe0000001)); /* ECAM */
	GUEST_ASSERT(!available(mbi, 0x9fc00, 0x9fc01));
	GUEST_ASSERT(!available(mbi, 0xfee00000, 0xfee00001));
	/* mem_upper: the KiB from 1 MiB to the first hole. */
	GUEST_ASSERT_EQ(ram_1m_end, 0x100000 + (uint64_t)mbi->mem_upper * 1024);
	GUEST_ASSERT(
	    available(mbi, (uintptr_t)__guest_start, (uintptr_t)__guest_end));

	/* The command line, as given. */
	name = (const char *)(uintptr_t)mbi->cmdline;
	guest_printf(MB_NAME ": cmdline \"%s\"\n", name);
	GUEST_ASSERT(streq(name, MB_CMDLINE));

	/* Module 0: the file, page-aligned above the kernel, in RAM. */
	GUEST_ASSERT_EQ(mbi->mods_count, 1);
	mod = (const struct mb_module *)(uintptr_t)mbi->mods_addr;
	len = mod->mod_end - mod->mod_start;
	guest_printf(MB_NAME ": module 0x%x-0x%x \"%s\"\n",
		     (unsigned)mod->mod_start, (unsigned)mod->mod_end,
		     (const char *)(uintptr_t)mod->string);
	GUEST_ASSERT_EQ(mod->mod_start & 0xfff, 0);
	GUEST_ASSERT(mod->mod_start >= (uintptr_t)__guest_end);
	GUEST_ASSERT(available(mbi, mod->mod_start, mod->mod_end));
	GUEST_ASSERT_EQ(len, sizeof(MB_MODULE) - 1);
	GUEST_ASSERT(memcmp((const void *)(uintptr_t)mod->mod_start, MB_MODULE,
			    len) == 0);
	name = (const char *)(uintptr_t)mod->string;
	GUEST_ASSERT(strlen(name) >= sizeof(MB_MODULE_END) - 1);
	GUEST_ASSERT(streq(name + strlen(name) - (sizeof(MB_MODULE_END) - 1),
			   MB_MODULE_END));

	GUEST_ASSERT(
	    streq((const char *)(uintptr_t)mbi->boot_loader_name, "rhyve"));
	guest_printf(MB_NAME ": ok\n");
	return 0;
}
