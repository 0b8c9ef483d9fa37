/*
 * The harness shared by the interp engine's tests against the host CPU
 * (test_interp_fpu.c, test_interp_xsave.c; fpu_harness.c): the state
 * both sides start from and end in, the guest layout, the vCPU, native
 * execution and random operands.
 */
#ifndef RHYVE_TESTS_FPU_HARNESS_H
#define RHYVE_TESTS_FPU_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cunit.h"
#include "interp/interp.h"

/* ---- the state both sides start from and end in --------------------- */

struct state {
	uint8_t fx[512] __attribute__((aligned(16))); /* FXSAVE64 image */
	uint64_t gpr[16];
	uint64_t rflags;
};

#define OFF_GPR    512
#define OFF_RFLAGS (512 + 16 * 8)

#define MEM_SIZE   1280 /* two XSAVE areas: 0 and XS_B */
/* Guest layout (identity-mapped 4 MiB, 2 MiB pages). */
#define G_PML4  0x1000
#define G_PDPT  0x2000
#define G_PD    0x3000
#define G_IDT   0x4000
#define G_VEC   0x5000 /* HLT at G_VEC + 16 * vector */
#define G_GDT   0x6000
#define G_CODE  0x10000
#define G_DATA  0x20000
#define G_STACK 0x80000
#define G_RAM   (4u << 20)

extern uint8_t *guest; /* G_RAM bytes, the vCPU's only RAM slot */
extern struct interp_cpu *cpu;
/* The native side's memory operand area (the guest's is at G_DATA). */
extern uint8_t natmem[MEM_SIZE];

/* The guest memory, page tables, IDT (HLT handlers) and the vCPU; once. */
void guest_setup(void);
/* A fresh 64-bit CPL0 vCPU with SSE enabled. */
void cpu_reset(void);
/* Run 'code' at G_CODE (followed by HLT) in the interpreter: -1 if it
 * completed, else the vector it raised; -2 on an engine error ('err'). */
int interp_run_code(const uint8_t *code, size_t len, char *err, size_t errlen);
/* Run 'hex' in a fresh vCPU after 'setup': the vector it raised or -1. */
int run_hex(const char *hex, void (*setup)(void));

/* FXSAVE64 image <-> the vCPU's state. */
void state_to_cpu(const struct state *s);
void cpu_to_state(struct state *s);

/* Append the bytes of 'hex' ("0f 58") at p + n; the new length. */
size_t emit(uint8_t *p, size_t n, const char *hex);
/* Run 'insn' on the host from *s (rdi: the memory pointer); *s after. */
void native_run(struct state *s, const uint8_t *insn, size_t len);
/* native_run(); true if the instruction raised #XM, with MXCSR and the
 * XMM registers at the fault in fpe_mxcsr and fpe_xmm. */
bool native_run_xm(struct state *s, const uint8_t *insn, size_t len);
extern uint32_t fpe_mxcsr;
extern uint8_t fpe_xmm[16][16];

/* The program's one random sequence (test_rng.h's, seeded from
 * INTERP_FPU_SEED by guest_setup() if set). */
uint64_t fpu_rnd(void);
/* Random vector/x87 data (NaNs, infinities, denormals, extremes...). */
void rnd_vec(uint8_t *p, size_t len);
/* A random state; x87 FSW/FTW random too if 'x87_random'. */
void rnd_state(struct state *s, bool x87_random);
/* Both sides' state and memory: true if equal, else prints what differs. */
bool compare(const char *what, const uint8_t *code, size_t len,
	     const struct state *nat, const struct state *emu,
	     const uint8_t *natm, const uint8_t *emum);

#endif
