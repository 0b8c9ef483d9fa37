/*
 * The test guests' tiny runtime: start-up code (start64.S / start32.S),
 * serial output on COM1, a printf, port I/O helpers, exit through the
 * pc-testdev debug-exit port, assertions and (64-bit) an IDT whose
 * exceptions are reported on the console.
 *
 * A guest defines guest_main(); its return value is passed to
 * guest_exit().  Everything here is freestanding: no libc.
 */
#ifndef RHYVE_GUEST_H
#define RHYVE_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- devices ----------------------------------------------------------- */

#define COM1_PORT        0x3f8
#define DEBUG_EXIT_PORT  0xf4         /* pc-testdev isa-debug-exit */
#define TESTDEV_SCRATCH  0xe0         /* pc-testdev 4-byte scratch port */
#define TESTDEV_MMIO     0xff000000UL /* pc-testdev 64 KiB MMIO region */
#define TESTDEV_MMIO_LEN 0x10000UL

/*
 * Codes for guest_exit().  rhyve exits with status (code << 1) | 1, so
 * GUEST_EXIT_OK gives 1, GUEST_EXIT_EXCEPTION 125 and GUEST_EXIT_FAIL 127.
 */
#define GUEST_EXIT_OK        0x00
#define GUEST_EXIT_EXCEPTION 0x3e /* unhandled CPU exception */
#define GUEST_EXIT_FAIL      0x3f /* failed assertion, unexpected state */

/* ---- the guest's entry point ------------------------------------------ */

int guest_main(void);

/* ---- port I/O ---------------------------------------------------------- */

static inline uint8_t
inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t
inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t
inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void
outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %w1" : : "a"(v), "Nd"(port));
}

static inline void
outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %w1" : : "a"(v), "Nd"(port));
}

static inline void
outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port));
}

/*
 * REP string I/O of 'count' elements (DF clear: ascending addresses).
 * They return the final index register so callers can check how far it
 * moved.
 */
#define GUEST_REP_INS(name, sfx, type)                                         \
	static inline type *name(uint16_t port, type *buf, size_t count)       \
	{                                                                      \
		__asm__ volatile("rep ins" sfx " %%dx, (%%" GUEST_DI ")"       \
				 : "+D"(buf), "+c"(count)                      \
				 : "d"(port)                                   \
				 : "memory");                                  \
		return buf;                                                    \
	}
#define GUEST_REP_OUTS(name, sfx, type)                                        \
	static inline const type *name(uint16_t port, const type *buf,         \
				       size_t count)                           \
	{                                                                      \
		__asm__ volatile("rep outs" sfx " (%%" GUEST_SI "), %%dx"      \
				 : "+S"(buf), "+c"(count)                      \
				 : "d"(port)                                   \
				 : "memory");                                  \
		return buf;                                                    \
	}
#ifdef __x86_64__
#define GUEST_DI "rdi"
#define GUEST_SI "rsi"
#else
#define GUEST_DI "edi"
#define GUEST_SI "esi"
#endif
GUEST_REP_INS(insb, "b", uint8_t)
GUEST_REP_INS(insw, "w", uint16_t)
GUEST_REP_INS(insl, "l", uint32_t)
GUEST_REP_OUTS(outsb, "b", uint8_t)
GUEST_REP_OUTS(outsw, "w", uint16_t)
GUEST_REP_OUTS(outsl, "l", uint32_t)

/* ---- CPU helpers ------------------------------------------------------- */

static inline void
cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void
hlt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

static inline void
sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/*
 * Enable interrupts and halt until one arrives: STI's one-instruction
 * shadow keeps an interrupt from slipping in before the HLT.  Interrupts
 * stay enabled afterwards.
 */
static inline void
sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

static inline unsigned long
read_cr0(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline unsigned long
read_cr4(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline unsigned long
read_cr3(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t
rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* A "memory" clobber: an MSR write can change what memory accesses do. */
static inline void
wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static inline unsigned long
read_flags(void)
{
	unsigned long v;

	__asm__ volatile("pushf; pop %0" : "=r"(v));
	return v;
}

#define GUEST_READ_SEG(name, reg)                                              \
	static inline uint16_t name(void)                                      \
	{                                                                      \
		uint16_t v;                                                    \
		__asm__ volatile("mov %%" reg ", %0" : "=r"(v));               \
		return v;                                                      \
	}
GUEST_READ_SEG(read_cs, "cs")
GUEST_READ_SEG(read_ds, "ds")
GUEST_READ_SEG(read_es, "es")
GUEST_READ_SEG(read_ss, "ss")
GUEST_READ_SEG(read_fs, "fs")
GUEST_READ_SEG(read_gs, "gs")

/* A descriptor-table pointer as LGDT/LIDT take it. */
struct guest_dtr {
	uint16_t limit;
	unsigned long base;
} __attribute__((packed));

static inline void
lidt(const struct guest_dtr *dtr)
{
	__asm__ volatile("lidt %0" : : "m"(*dtr) : "memory");
}

static inline void
sidt(struct guest_dtr *dtr)
{
	__asm__ volatile("sidt %0" : "=m"(*dtr));
}

/* ---- console (COM1, polled) -------------------------------------------- */

void guest_putc(char c);
void guest_puts(const char *s); /* no newline added */
int guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int guest_vprintf(const char *fmt, va_list ap);

/* ---- exit and assertions ----------------------------------------------- */

/*
 * Write 'code' to the debug-exit port.  Should that not stop the VM (no
 * pc-testdev), the vCPU halts with interrupts off (rhyve status 2).
 */
__attribute__((noreturn)) void guest_exit(int code);

__attribute__((noreturn)) void guest_assert_fail(const char *file, int line,
						 const char *expr);
__attribute__((noreturn)) void guest_assert_eq_fail(const char *file, int line,
						    const char *a,
						    const char *b, uint64_t va,
						    uint64_t vb);

#ifdef __FILE_NAME__
#define GUEST_FILE __FILE_NAME__
#else
#define GUEST_FILE __FILE__
#endif

/* Print "ASSERTION FAILED: file:line: expr" and exit with GUEST_EXIT_FAIL. */
#define GUEST_ASSERT(cond)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			guest_assert_fail(GUEST_FILE, __LINE__, #cond);        \
	} while (0)

/* As GUEST_ASSERT(a == b), printing both values (as uint64_t) if not. */
#define GUEST_ASSERT_EQ(a, b)                                                  \
	do {                                                                   \
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);             \
		if (va_ != vb_)                                                \
			guest_assert_eq_fail(GUEST_FILE, __LINE__, #a, #b,     \
					     va_, vb_);                        \
	} while (0)

/* ---- exceptions (64-bit guests) ---------------------------------------- */

#ifdef __x86_64__
/*
 * What the exception stubs save, lowest address first.  A handler may
 * change it (e.g. advance rip past the faulting instruction); it is
 * restored by IRETQ when the handler returns.
 */
struct guest_trap_frame {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error_code;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_trap_handler_t)(struct guest_trap_frame *tf);

/*
 * Load an IDT covering all 256 vectors with interrupt gates (done by the
 * start-up code before guest_main()).  An exception without a handler
 * prints its vector, name, error code and rip, an interrupt (32-255)
 * without one its vector and rip; both exit with GUEST_EXIT_EXCEPTION.
 */
void guest_idt_init(void);
/*
 * Install (or with NULL remove) the handler for 'vector': an exception
 * (0-31) or an interrupt (32-255).  Handlers run with interrupts disabled;
 * an interrupt handler sends the EOI to its controller itself, and may
 * enable interrupts to let a higher-priority one nest.
 */
void guest_set_trap_handler(unsigned int vector, guest_trap_handler_t fn);
#endif

/* ---- string functions (the compiler may emit calls to these) ----------- */

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
