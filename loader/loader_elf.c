/*
 * ELF kernels: ELF32 (i386) and ELF64 (x86-64) executables, PT_LOAD
 * segments copied to their physical addresses.
 *
 * The image is untrusted.  Everything is validated before the first byte
 * reaches guest memory, with overflow-checked arithmetic, so a bad image
 * leaves the guest untouched and gets a one-line reason.
 *
 * libelf insists that the section header table lies inside the image,
 * although loading never needs it; so libelf is handed a compact copy of
 * the ELF header (section fields cleared) and the program header table.
 * A truncated kernel then gets the precise diagnosis below ("segment 1
 * data lies past the end of the file") rather than a generic libelf one,
 * and no section data is ever parsed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gelf.h>

#include "loader.h"
#include "loader_int.h"

/* More program headers than any kernel has; bounds the overlap check. */
#define ELF_MAX_PHNUM 512

#define GIB4          (1ULL << 32)

struct elf_seg {
	size_t idx;     /* index in the program header table */
	uint64_t paddr; /* load address */
	uint64_t vaddr;
	uint64_t end; /* paddr + memsz, no wrap */
	uint64_t off;
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags;
	void *dst; /* host address of [paddr, end) */
};

static const char *
elf_libelf_error(void)
{
	const char *msg = elf_errmsg(-1);

	return msg != NULL ? msg : "unknown error";
}

/* The e_ident checks, with messages a person can act on. */
static int
elf_check_ident(const unsigned char *p, size_t len, char *errbuf, size_t errlen)
{
	if (len < SELFMAG || memcmp(p, ELFMAG, SELFMAG) != 0)
		return loader_fail(errbuf, errlen, "not an ELF file");
	if (len < EI_NIDENT)
		return loader_fail(
		    errbuf, errlen,
		    "truncated ELF file: %zu bytes, shorter than the ELF "
		    "identification (%d bytes)",
		    len, EI_NIDENT);
	if (p[EI_CLASS] != ELFCLASS32 && p[EI_CLASS] != ELFCLASS64)
		return loader_fail(
		    errbuf, errlen,
		    "unsupported ELF class %u (need ELFCLASS32 or ELFCLASS64)",
		    p[EI_CLASS]);
	if (p[EI_DATA] == ELFDATA2MSB)
		return loader_fail(
		    errbuf, errlen,
		    "big-endian ELF file (x86 needs little-endian)");
	if (p[EI_DATA] != ELFDATA2LSB)
		return loader_fail(errbuf, errlen,
				   "unsupported ELF data encoding %u",
				   p[EI_DATA]);
	if (p[EI_VERSION] != EV_CURRENT)
		return loader_fail(errbuf, errlen, "unsupported ELF version %u",
				   p[EI_VERSION]);
	return 0;
}

/*
 * What libelf sees: a copy of the ELF header with the section-header
 * fields cleared, followed, if 'phsize' is not 0, by the program header
 * table from 'phoff' of the image (e_phoff then points right after the
 * header).  The caller has checked that both lie inside the image.
 */
static unsigned char *
elf_copy_headers(const unsigned char *image, bool is64, uint64_t phoff,
		 size_t phsize, size_t *lenp)
{
	size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	unsigned char *buf = malloc(ehsize + phsize);

	if (buf == NULL)
		return NULL;
	if (is64) {
		Elf64_Ehdr eh;

		memcpy(&eh, image, sizeof(eh));
		if (phsize > 0)
			eh.e_phoff = ehsize;
		eh.e_shoff = 0;
		eh.e_shnum = 0;
		eh.e_shentsize = 0;
		eh.e_shstrndx = SHN_UNDEF;
		memcpy(buf, &eh, sizeof(eh));
	} else {
		Elf32_Ehdr eh;

		memcpy(&eh, image, sizeof(eh));
		if (phsize > 0)
			eh.e_phoff = (Elf32_Off)ehsize;
		eh.e_shoff = 0;
		eh.e_shnum = 0;
		eh.e_shentsize = 0;
		eh.e_shstrndx = SHN_UNDEF;
		memcpy(buf, &eh, sizeof(eh));
	}
	if (phsize > 0)
		memcpy(buf + ehsize, image + phoff, phsize);
	*lenp = ehsize + phsize;
	return buf;
}

/* libelf on a copy from elf_copy_headers(); NULL + errbuf on failure. */
static Elf *
elf_open_copy(unsigned char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		loader_fail(errbuf, errlen, "libelf: %s", elf_libelf_error());
		return NULL;
	}
	elf = elf_memory((char *)buf, buflen);
	if (elf == NULL || elf_kind(elf) != ELF_K_ELF) {
		loader_fail(errbuf, errlen, "not an ELF file (libelf: %s)",
			    elf_libelf_error());
		if (elf != NULL)
			elf_end(elf);
		return NULL;
	}
	return elf;
}

/* The program header table as the header describes it. */
static int
elf_check_phdrs(const GElf_Ehdr *eh, bool is64, size_t len, size_t *phsizep,
		char *errbuf, size_t errlen)
{
	size_t entsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t phsize;
	uint64_t phend;

	if (eh->e_phnum == 0)
		return loader_fail(errbuf, errlen,
				   "no program headers (nothing to load)");
	if (eh->e_phnum > ELF_MAX_PHNUM)
		return loader_fail(errbuf, errlen,
				   "too many program headers (%u, at most %d)",
				   (unsigned int)eh->e_phnum, ELF_MAX_PHNUM);
	if (eh->e_phentsize != entsize)
		return loader_fail(
		    errbuf, errlen,
		    "bad program header entry size %u (need %zu)",
		    (unsigned int)eh->e_phentsize, entsize);
	phsize = (size_t)eh->e_phnum * entsize; /* small: e_phnum is bounded */
	if (__builtin_add_overflow(eh->e_phoff, (uint64_t)phsize, &phend) ||
	    phend > len)
		return loader_fail(
		    errbuf, errlen,
		    "truncated ELF file: program headers [0x%" PRIx64
		    ", 0x%" PRIx64 ") lie past the end of the file (%zu bytes)",
		    (uint64_t)eh->e_phoff, (uint64_t)eh->e_phoff + phsize, len);
	*phsizep = phsize;
	return 0;
}

/* Machine and type from the header libelf decoded. */
static int
elf_check_ehdr(const GElf_Ehdr *eh, int class, enum loader_mode *modep,
	       char *errbuf, size_t errlen)
{
	if (eh->e_type != ET_EXEC)
		return loader_fail(
		    errbuf, errlen,
		    "not an executable (e_type %u, need ET_EXEC %u)",
		    (unsigned int)eh->e_type, (unsigned int)ET_EXEC);
	if (eh->e_version != EV_CURRENT)
		return loader_fail(errbuf, errlen,
				   "unsupported ELF version %" PRIu32
				   " in the header",
				   (uint32_t)eh->e_version);
	switch (eh->e_machine) {
	case EM_X86_64:
		if (class != ELFCLASS64)
			return loader_fail(
			    errbuf, errlen,
			    "32-bit ELF file for x86-64 (x32) is not "
			    "supported");
		*modep = LOADER_MODE_LONG64;
		return 0;
	case EM_386:
		if (class != ELFCLASS32)
			return loader_fail(
			    errbuf, errlen,
			    "64-bit ELF file for i386 is not supported");
		*modep = LOADER_MODE_PROT32;
		return 0;
	default:
		return loader_fail(
		    errbuf, errlen,
		    "unsupported machine %u (need x86-64 or i386)",
		    (unsigned int)eh->e_machine);
	}
}

/* One PT_LOAD header against the file, the address space and memory. */
static int
elf_check_seg(const GElf_Phdr *ph, size_t idx, size_t len, bool is32,
	      const struct loader_mem *mem, struct elf_seg *seg, char *errbuf,
	      size_t errlen)
{
	uint64_t fend, end;

	seg->idx = idx;
	seg->paddr = ph->p_paddr;
	seg->vaddr = ph->p_vaddr;
	seg->off = ph->p_offset;
	seg->filesz = ph->p_filesz;
	seg->memsz = ph->p_memsz;
	seg->flags = ph->p_flags;
	seg->dst = NULL;

	if (seg->filesz > seg->memsz)
		return loader_fail(errbuf, errlen,
				   "segment %zu: file size 0x%" PRIx64
				   " is larger than its memory size 0x%" PRIx64,
				   idx, seg->filesz, seg->memsz);
	/* Only file-backed bytes are read: p_offset of pure BSS is moot. */
	if (seg->filesz > 0 &&
	    (__builtin_add_overflow(seg->off, seg->filesz, &fend) ||
	     fend > len))
		return loader_fail(
		    errbuf, errlen,
		    "truncated ELF file: segment %zu data [0x%" PRIx64
		    ", 0x%" PRIx64 ") lies past the end of the file (%zu "
		    "bytes)",
		    idx, seg->off, seg->off + seg->filesz, len);
	if (__builtin_add_overflow(seg->paddr, seg->memsz, &end))
		return loader_fail(errbuf, errlen,
				   "segment %zu: address 0x%" PRIx64
				   " + size 0x%" PRIx64
				   " wraps around the address space",
				   idx, seg->paddr, seg->memsz);
	seg->end = end;
	if (seg->memsz == 0)
		return 0; /* nothing to load */
	if (is32 && end > GIB4)
		return loader_fail(errbuf, errlen,
				   "segment %zu [0x%" PRIx64 ", 0x%" PRIx64
				   ") lies above 4 GiB in a 32-bit kernel",
				   idx, seg->paddr, end);
	if (seg->paddr < LOADER_BOOT_AREA_END && end > LOADER_BOOT_AREA_BASE)
		return loader_fail(
		    errbuf, errlen,
		    "segment %zu [0x%" PRIx64 ", 0x%" PRIx64
		    ") overlaps the loader's boot area [0x%llx, 0x%llx)",
		    idx, seg->paddr, end, LOADER_BOOT_AREA_BASE,
		    LOADER_BOOT_AREA_END);
	if (seg->memsz > SIZE_MAX ||
	    (seg->dst = mem->map(mem->arg, seg->paddr, (size_t)seg->memsz)) ==
		NULL)
		return loader_fail(errbuf, errlen,
				   "segment %zu [0x%" PRIx64 ", 0x%" PRIx64
				   ") lies outside guest memory",
				   idx, seg->paddr, end);
	return 0;
}

/*
 * The entry point, as a physical address: inside a segment's load range,
 * or else inside a segment's virtual range (kernels linked high whose
 * e_entry is virtual), translated.  It must be in an executable segment.
 */
static int
elf_find_entry(uint64_t entry, const struct elf_seg *segs, size_t nseg,
	       uint64_t *physp, char *errbuf, size_t errlen)
{
	const struct elf_seg *hit = NULL;
	uint64_t phys = 0;

	for (size_t i = 0; i < nseg && hit == NULL; i++)
		if (entry >= segs[i].paddr && entry < segs[i].end) {
			hit = &segs[i];
			phys = entry;
		}
	for (size_t i = 0; i < nseg && hit == NULL; i++)
		if (entry >= segs[i].vaddr &&
		    entry - segs[i].vaddr < segs[i].memsz) {
			hit = &segs[i];
			phys = entry - segs[i].vaddr + segs[i].paddr;
		}
	if (hit == NULL)
		return loader_fail(errbuf, errlen,
				   "entry point 0x%" PRIx64
				   " lies outside every loaded "
				   "segment",
				   entry);
	if (!(hit->flags & PF_X))
		return loader_fail(errbuf, errlen,
				   "entry point 0x%" PRIx64
				   " lies in segment %zu, which is "
				   "not executable",
				   entry, hit->idx);
	*physp = phys;
	return 0;
}

int
loader_elf_load(const void *image, size_t len, const struct loader_mem *mem,
		struct loader_image *out, char *errbuf, size_t errlen)
{
	const unsigned char *p = image;
	unsigned char *hdr = NULL;
	size_t hdrlen = 0, phnum = 0, nseg = 0;
	struct elf_seg *segs = NULL;
	enum loader_mode mode = LOADER_MODE_LONG64;
	struct loader_image img;
	size_t ehsize, phsize = 0;
	GElf_Ehdr eh;
	Elf *elf = NULL;
	bool is64;
	int ret = -1;

	if (image == NULL && len > 0)
		return loader_fail(errbuf, errlen, "no image");
	if (mem == NULL || mem->map == NULL || out == NULL)
		return loader_fail(errbuf, errlen,
				   "no guest memory to load into");
	if (elf_check_ident(p, len, errbuf, errlen) != 0)
		return -1;
	is64 = p[EI_CLASS] == ELFCLASS64;
	ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (len < ehsize)
		return loader_fail(
		    errbuf, errlen,
		    "truncated ELF file: header needs %zu bytes, file has %zu",
		    ehsize, len);

	/* The ELF header alone first: what kind of file is this? */
	if ((hdr = elf_copy_headers(p, is64, 0, 0, &hdrlen)) == NULL) {
		loader_fail(errbuf, errlen, "out of memory");
		goto out;
	}
	if ((elf = elf_open_copy(hdr, hdrlen, errbuf, errlen)) == NULL)
		goto out;
	if (gelf_getehdr(elf, &eh) == NULL) {
		loader_fail(errbuf, errlen, "bad ELF header: %s",
			    elf_libelf_error());
		goto out;
	}
	if (elf_check_ehdr(&eh, gelf_getclass(elf), &mode, errbuf, errlen) != 0)
		goto out;
	if (elf_check_phdrs(&eh, is64, len, &phsize, errbuf, errlen) != 0)
		goto out;
	elf_end(elf);
	elf = NULL;
	free(hdr);

	/* Then with the program header table. */
	hdr = elf_copy_headers(p, is64, eh.e_phoff, phsize, &hdrlen);
	if (hdr == NULL) {
		loader_fail(errbuf, errlen, "out of memory");
		goto out;
	}
	if ((elf = elf_open_copy(hdr, hdrlen, errbuf, errlen)) == NULL)
		goto out;
	if (elf_getphdrnum(elf, &phnum) != 0 || phnum != eh.e_phnum) {
		loader_fail(errbuf, errlen, "bad program header table: %s",
			    elf_libelf_error());
		goto out;
	}
	segs = calloc(phnum, sizeof(*segs));
	if (segs == NULL) {
		loader_fail(errbuf, errlen, "out of memory");
		goto out;
	}

	/* Pass 1: validate every PT_LOAD; nothing is written yet. */
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		struct elf_seg *seg = &segs[nseg];

		if (gelf_getphdr(elf, (int)i, &ph) == NULL) {
			loader_fail(errbuf, errlen,
				    "bad program header %zu: %s", i,
				    elf_libelf_error());
			goto out;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (elf_check_seg(&ph, i, len, !is64, mem, seg, errbuf,
				  errlen) != 0)
			goto out;
		if (seg->memsz == 0)
			continue;
		for (size_t j = 0; j < nseg; j++)
			if (seg->paddr < segs[j].end &&
			    segs[j].paddr < seg->end) {
				loader_fail(
				    errbuf, errlen,
				    "segment %zu [0x%" PRIx64 ", 0x%" PRIx64
				    ") overlaps segment %zu [0x%" PRIx64
				    ", 0x%" PRIx64 ")",
				    seg->idx, seg->paddr, seg->end, segs[j].idx,
				    segs[j].paddr, segs[j].end);
				goto out;
			}
		nseg++;
	}
	if (nseg == 0) {
		loader_fail(errbuf, errlen, "no loadable segments (PT_LOAD)");
		goto out;
	}

	memset(&img, 0, sizeof(img));
	img.mode = mode;
	img.lowest = UINT64_MAX;
	for (size_t i = 0; i < nseg; i++) {
		if (segs[i].paddr < img.lowest)
			img.lowest = segs[i].paddr;
		if (segs[i].end > img.highest)
			img.highest = segs[i].end;
	}
	if (elf_find_entry(eh.e_entry, segs, nseg, &img.entry, errbuf,
			   errlen) != 0)
		goto out;

	/* Pass 2: copy the file data, zero the rest (BSS). */
	for (size_t i = 0; i < nseg; i++) {
		unsigned char *dst = segs[i].dst;

		/* p_offset of a segment without file data is not checked. */
		if (segs[i].filesz > 0)
			memcpy(dst, p + segs[i].off, (size_t)segs[i].filesz);
		memset(dst + segs[i].filesz, 0,
		       (size_t)(segs[i].memsz - segs[i].filesz));
	}
	*out = img;
	ret = 0;
out:
	if (elf != NULL)
		elf_end(elf);
	free(segs);
	free(hdr);
	return ret;
}
