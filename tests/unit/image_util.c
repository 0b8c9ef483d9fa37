/* Fake guest memory and the ELF builder of image_util.h. */
#include <sys/mman.h>

#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A step of the builder that cannot fail but for the host (no memory). */
#define NEED(cond)                                                             \
	do {                                                                   \
		if (!(cond))                                                   \
			CU_FAIL_FATAL("image_elf_build: " #cond);              \
	} while (0)

unsigned char *
image_elf_build(int elfclass, uint64_t entry, uint16_t machine,
		const struct image_seg *segs, size_t nseg, size_t data_off,
		size_t *lenp)
{
	int fd = memfd_create("rhyve-unit-elf", MFD_CLOEXEC);
	GElf_Ehdr eh;
	size_t off, len;
	unsigned char *img;
	Elf *e;

	NEED(fd >= 0);
	NEED(elf_version(EV_CURRENT) != EV_NONE);
	e = elf_begin(fd, ELF_C_WRITE, NULL);
	NEED(e != NULL);
	/* The layout is ours: the headers, then the data from 'off'. */
	elf_flagelf(e, ELF_C_SET, ELF_F_LAYOUT);
	NEED(gelf_newehdr(e, elfclass) != NULL);
	NEED(gelf_getehdr(e, &eh) != NULL);
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = gelf_fsize(e, ELF_T_EHDR, 1, EV_CURRENT);
	eh.e_ehsize = (uint16_t)eh.e_phoff;
	eh.e_phentsize = (uint16_t)gelf_fsize(e, ELF_T_PHDR, 1, EV_CURRENT);
	eh.e_phnum = (uint16_t)nseg;
	off = eh.e_phoff + nseg * eh.e_phentsize;
	if (data_off > off)
		off = data_off;
	len = off;
	if (nseg > 0)
		NEED(gelf_newphdr(e, nseg) != NULL);
	NEED(gelf_update_ehdr(e, &eh) != 0);
	for (size_t i = 0; i < nseg; i++) {
		GElf_Phdr ph = {
			.p_type = segs[i].type,
			.p_flags = segs[i].flags,
			.p_offset = len,
			.p_vaddr = segs[i].vaddr,
			.p_paddr = segs[i].paddr,
			.p_filesz = segs[i].filesz,
			.p_memsz = segs[i].memsz,
			.p_align = 0x1000,
		};

		NEED(gelf_update_phdr(e, (int)i, &ph) != 0);
		if (segs[i].data)
			len += segs[i].filesz;
	}
	NEED(elf_update(e, ELF_C_WRITE) >= 0);
	elf_end(e);
	/* The segments' data: the file carries it, libelf's sections not. */
	NEED(ftruncate(fd, (off_t)len) == 0);
	for (size_t i = 0; i < nseg; i++)
		if (segs[i].data) {
			NEED(pwrite(fd, segs[i].data, segs[i].filesz,
				    (off_t)off) == (ssize_t)segs[i].filesz);
			off += segs[i].filesz;
		}
	img = malloc(len);
	NEED(img != NULL);
	NEED(pread(fd, img, len, 0) == (ssize_t)len);
	close(fd);
	*lenp = len;
	return img;
}
