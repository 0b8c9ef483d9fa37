/*
 * emul: the x86 architecture as rhyve's layers share it.  Today the
 * architectural constants and GDT descriptor packing; the instruction
 * decoder and the page-table walker come here next.
 */
#ifndef RHYVE_EMUL_X86_H
#define RHYVE_EMUL_X86_H

#include <stdint.h>

/* Control registers */
#define CR0_PE         (1ULL << 0)
#define CR0_MP         (1ULL << 1)
#define CR0_EM         (1ULL << 2)
#define CR0_TS         (1ULL << 3)
#define CR0_ET         (1ULL << 4)
#define CR0_NE         (1ULL << 5)
#define CR0_WP         (1ULL << 16)
#define CR0_AM         (1ULL << 18)
#define CR0_NW         (1ULL << 29)
#define CR0_CD         (1ULL << 30)
#define CR0_PG         (1ULL << 31)

#define CR4_PSE        (1ULL << 4)
#define CR4_PAE        (1ULL << 5)
#define CR4_PGE        (1ULL << 7)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)

/* MSRs */
#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_CSTAR          0xc0000083
#define MSR_SFMASK         0xc0000084
#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC            0x00000010
#define MSR_APIC_BASE      0x0000001b
#define MSR_SYSENTER_CS    0x00000174
#define MSR_SYSENTER_ESP   0x00000175
#define MSR_SYSENTER_EIP   0x00000176
#define MSR_PAT            0x00000277

#define EFER_SCE           (1ULL << 0)
#define EFER_LME           (1ULL << 8)
#define EFER_LMA           (1ULL << 10)
#define EFER_NXE           (1ULL << 11)

/* RFLAGS */
#define PSL_C    (1ULL << 0)
#define PSL_1    (1ULL << 1) /* always set */
#define PSL_Z    (1ULL << 6)
#define PSL_T    (1ULL << 8)
#define PSL_I    (1ULL << 9)
#define PSL_D    (1ULL << 10)
#define PSL_V    (1ULL << 11)
#define PSL_IOPL (3ULL << 12)
#define PSL_RF   (1ULL << 16)
#define PSL_VM   (1ULL << 17)

/* Page-table entries */
#define PG_V  (1ULL << 0)
#define PG_RW (1ULL << 1)
#define PG_U  (1ULL << 2)
#define PG_A  (1ULL << 5)
#define PG_M  (1ULL << 6)
#define PG_PS (1ULL << 7)
#define PG_G  (1ULL << 8)
#define PG_NX (1ULL << 63)

/* Segment descriptor types (the type field with S=1) */
#define SDT_MEMRWA 0x3 /* data, read/write, accessed */
#define SDT_MEMERA 0xb /* code, execute/read, accessed */
#define SDT_SYSLDT 0x2
#define SDT_SYSBSY 0xb /* busy 32/64-bit TSS */

/*
 * A GDT/LDT descriptor from base, limit and attributes given in the VMX
 * access-rights layout of struct seg_desc (type, S, DPL, P in bits 0-7;
 * AVL, L, D/B, G in bits 12-15).  'limit' is the byte limit; with G set its
 * low 12 bits are dropped.
 */
uint64_t x86_desc_pack(uint32_t base, uint32_t limit, uint32_t access);
/* The reverse of x86_desc_pack(): base, byte limit and access rights. */
void x86_desc_unpack(uint64_t desc, uint32_t *base, uint32_t *limit,
		     uint32_t *access);

/* "#GP", "#PF", ... for vectors 0-31; NULL for others. */
const char *x86_exception_name(unsigned int vector);

#endif
