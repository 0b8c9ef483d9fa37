/* Fake guest memory and the ELF builder of image_util.h. */
#include <sys/mman.h>

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "image_util.h"

struct fakemem fakemem;

static void *
fakemem_map(void *arg, uint64_t gpa, size_t len)
{
	struct fakemem *m = arg;

	if (gpa > m->size || len > m->size - gpa)
		return NULL;
	if (gpa < m->hole_end && gpa + len > m->hole_base)
		return NULL;
	return m->buf + gpa;
}

struct loader_mem fakemem_lmem = { .map = fakemem_map, .arg = &fakemem };

void
fakemem_reset(size_t size)
{
	if (fakemem.buf == NULL) {
		void *p =
		    mmap(NULL, FAKEMEM_MAX, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		CU_ASSERT_FATAL(p != MAP_FAILED);
		fakemem.buf = p;
	}
	fakemem.size = size;
	fakemem.hole_base = fakemem.hole_end = 0;
	if (size <= FAKEMEM_SMALL) {
		memset(fakemem.buf, FAKEMEM_FILL, size);
		fakemem.filled = size;
	} else {
		madvise(fakemem.buf, FAKEMEM_MAX, MADV_DONTNEED);
		fakemem.filled = 0;
	}
}

bool
fakemem_untouched(void)
{
	for (size_t i = 0; i < fakemem.filled; i++)
		if (fakemem.buf[i] != FAKEMEM_FILL)
			return false;
	return true;
}

void
fakemem_free(void)
{
	if (fakemem.buf != NULL)
		munmap(fakemem.buf, FAKEMEM_MAX);
	fakemem.buf = NULL;
}

/* The class's header fields, written through the matching struct. */
static void
put_ehdr(unsigned char *img, int elfclass, uint64_t entry, uint16_t machine,
	 size_t nseg)
{
	unsigned char ident[EI_NIDENT] = { 0 };

	memcpy(ident, ELFMAG, SELFMAG);
	ident[EI_CLASS] = (unsigned char)elfclass;
	ident[EI_DATA] = ELFDATA2LSB;
	ident[EI_VERSION] = EV_CURRENT;
	if (elfclass == ELFCLASS64) {
		Elf64_Ehdr eh = {
			.e_type = ET_EXEC,
			.e_machine = machine,
			.e_version = EV_CURRENT,
			.e_entry = entry,
			.e_phoff = sizeof(Elf64_Ehdr),
			.e_ehsize = sizeof(Elf64_Ehdr),
			.e_phentsize = sizeof(Elf64_Phdr),
			.e_phnum = (uint16_t)nseg,
		};

		memcpy(eh.e_ident, ident, EI_NIDENT);
		memcpy(img, &eh, sizeof(eh));
	} else {
		Elf32_Ehdr eh = {
			.e_type = ET_EXEC,
			.e_machine = machine,
			.e_version = EV_CURRENT,
			.e_entry = (uint32_t)entry,
			.e_phoff = sizeof(Elf32_Ehdr),
			.e_ehsize = sizeof(Elf32_Ehdr),
			.e_phentsize = sizeof(Elf32_Phdr),
			.e_phnum = (uint16_t)nseg,
		};

		memcpy(eh.e_ident, ident, EI_NIDENT);
		memcpy(img, &eh, sizeof(eh));
	}
}

static void
put_phdr(unsigned char *at, int elfclass, const struct image_seg *s,
	 uint64_t off)
{
	if (elfclass == ELFCLASS64) {
		Elf64_Phdr ph = {
			.p_type = s->type,
			.p_flags = s->flags,
			.p_offset = off,
			.p_vaddr = s->vaddr,
			.p_paddr = s->paddr,
			.p_filesz = s->filesz,
			.p_memsz = s->memsz,
			.p_align = 0x1000,
		};

		memcpy(at, &ph, sizeof(ph));
	} else {
		Elf32_Phdr ph = {
			.p_type = s->type,
			.p_flags = s->flags,
			.p_offset = (uint32_t)off,
			.p_vaddr = (uint32_t)s->vaddr,
			.p_paddr = (uint32_t)s->paddr,
			.p_filesz = (uint32_t)s->filesz,
			.p_memsz = (uint32_t)s->memsz,
			.p_align = 0x1000,
		};

		memcpy(at, &ph, sizeof(ph));
	}
}

unsigned char *
image_elf_build(int elfclass, uint64_t entry, uint16_t machine,
		const struct image_seg *segs, size_t nseg, size_t data_off,
		size_t *lenp)
{
	bool is64 = elfclass == ELFCLASS64;
	size_t ehsz = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t off = ehsz + nseg * phsz;
	size_t len;
	unsigned char *img;

	if (data_off > off)
		off = data_off;
	len = off;
	for (size_t i = 0; i < nseg; i++)
		len += segs[i].data ? segs[i].filesz : 0;
	img = calloc(1, len);
	CU_ASSERT_FATAL(img != NULL);
	put_ehdr(img, elfclass, entry, machine, nseg);
	for (size_t i = 0; i < nseg; i++) {
		put_phdr(img + ehsz + i * phsz, elfclass, &segs[i], off);
		if (segs[i].data) {
			memcpy(img + off, segs[i].data, segs[i].filesz);
			off += segs[i].filesz;
		}
	}
	*lenp = len;
	return img;
}
