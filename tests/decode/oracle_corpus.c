/*
 * decode_oracle: the walkers that feed check_one(): every instruction of
 * an ELF file's executable sections, and random byte sequences (plain and
 * EVEX-shaped).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/test_rng.h"
#include "decode_oracle.h"

unsigned long insn_limit = ~0UL;

int
run_elf(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	uint8_t *m;
	unsigned long before = n_total;
	cs_insn *ci;

	if (fd < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED || sb.st_size < (off_t)sizeof(Elf32_Ehdr) ||
	    memcmp(m, ELFMAG, SELFMAG) != 0) {
		fprintf(stderr, "%s: not an ELF file\n", path);
		return -1;
	}
	ci = cs_malloc(cs[0]);
	int is64 = m[EI_CLASS] == ELFCLASS64;
	int mode = is64 ? X86_MODE_64 : X86_MODE_32;
	unsigned int shnum;
	uint64_t shoff;
	size_t shentsize;

	if (is64) {
		Elf64_Ehdr *eh = (Elf64_Ehdr *)m;
		shnum = eh->e_shnum;
		shoff = eh->e_shoff;
		shentsize = sizeof(Elf64_Shdr);
	} else {
		Elf32_Ehdr *eh = (Elf32_Ehdr *)m;
		shnum = eh->e_shnum;
		shoff = eh->e_shoff;
		shentsize = sizeof(Elf32_Shdr);
	}
	if (shoff + (uint64_t)shnum * shentsize > (uint64_t)sb.st_size)
		shnum = 0;
	for (unsigned int s = 0; s < shnum; s++) {
		uint64_t off, size, addr, flags;
		uint32_t type;

		if (is64) {
			Elf64_Shdr *sh = (Elf64_Shdr *)(m + shoff) + s;
			off = sh->sh_offset, size = sh->sh_size;
			addr = sh->sh_addr, flags = sh->sh_flags;
			type = sh->sh_type;
		} else {
			Elf32_Shdr *sh = (Elf32_Shdr *)(m + shoff) + s;
			off = sh->sh_offset, size = sh->sh_size;
			addr = sh->sh_addr, flags = sh->sh_flags;
			type = sh->sh_type;
		}
		if (type != SHT_PROGBITS || !(flags & SHF_EXECINSTR) ||
		    off + size > (uint64_t)sb.st_size)
			continue;
		for (uint64_t i = 0; i < size && n_total < insn_limit;) {
			unsigned int l;

			l = check_one(mode, m + off + i,
				      size - i < 15 ? size - i : 15, addr + i,
				      ci);
			i += l ? l : 1;
		}
	}
	cs_free(ci, 1);
	munmap(m, (size_t)sb.st_size);
	printf("  %-60s %9lu insns (%s)\n", path, n_total - before,
	       is64 ? "64-bit" : "32-bit");
	return 0;
}

static void
gen(uint8_t *b)
{
	static const uint8_t pfx[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0,
				       0x2e, 0x3e, 0x26, 0x64, 0x65,
				       0x36, 0x48, 0x41, 0x4c, 0x40 };
	uint64_t r = rnd();
	unsigned int k = 0, shape = r % 8;

	r >>= 3;
	for (unsigned int i = 0; i < 16; i += 8) {
		uint64_t v = rnd();
		memcpy(b + i, &v, i + 8 <= 15 ? 8 : 7);
	}
	if (shape < 3)
		return; /* pure random */
	/* 0-2 prefixes */
	for (unsigned int n = r % 3; n > 0; n--) {
		r >>= 2;
		b[k++] = pfx[(r >> 4) % sizeof(pfx)];
		r >>= 4;
	}
	switch (shape) {
	case 3:
	case 4:
		b[k++] = 0x0f;
		break;
	case 5:
		b[k++] = 0x0f;
		b[k++] = (r & 1) ? 0x38 : 0x3a;
		break;
	case 6:
		b[k] = (r & 1) ? 0xc4 : 0xc5;
		b[k + 1] |= 0xc0 & (r & 2 ? 0xc0 : 0xff);
		if (b[k] == 0xc4)
			b[k + 1] =
			    (uint8_t)((b[k + 1] & 0xe0) | (1 + (r >> 2) % 3));
		break;
	case 7:
		break; /* random after prefixes */
	}
}

/*
 * An EVEX-shaped sequence: 62, P0-P2 with the fixed bits mostly right (a
 * few per cent left random to exercise the #UD checks), a map 1-3, then
 * random opcode, ModRM, SIB and the rest; outside 64-bit mode P0's R and
 * X set (else it is BOUND).  Half the time the ModRM is a memory form with
 * an 8-bit displacement, to exercise disp8*N.
 */
static void
gen_evex(int mode, uint8_t *b)
{
	uint64_t r = rnd();

	for (unsigned int i = 0; i < 16; i += 8) {
		uint64_t v = rnd();
		memcpy(b + i, &v, i + 8 <= 15 ? 8 : 7);
	}
	b[0] = 0x62;
	if (r % 16 != 0) {
		b[1] = (uint8_t)((b[1] & 0xf0) | (1 + (r >> 4) % 3));
		b[2] |= 0x04;
	}
	if (mode != X86_MODE_64)
		b[1] |= 0xc0;
	if ((r >> 8) % 4 != 0 && mode != X86_MODE_64)
		b[3] |= 0x08; /* V' = 1 */
	if ((r >> 10) % 2)
		b[5] = (uint8_t)((b[5] & 0x3f) | 0x40); /* mod 01: disp8 */
}

int
run_random(int mode, unsigned long count, uint64_t seed, bool evex)
{
	cs_insn *ci = cs_malloc(cs[mode]);
	uint8_t b[16];

	rng = seed ? seed : 1; /* xorshift: not 0 */
	for (unsigned long i = 0; i < count; i++) {
		if (evex)
			gen_evex(mode, b);
		else
			gen(b);
		check_one(mode, b, 15, 0x1000, ci);
	}
	cs_free(ci, 1);
	return 0;
}
