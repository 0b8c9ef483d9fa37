/*
 * Shared by mmio_insn.c and mmio_insn_cases.S: the layout of the saved
 * state and the flags of a case.
 */
#ifndef MMIO_INSN_H
#define MMIO_INSN_H

/* mt_in/mt_out: the 16 GPRs in encoding order (rax, rcx, ... r15), then
 * RFLAGS. */
#define MT_NREGS  17
#define MT_RFLAGS 16

/* Registers that hold an address in the region under test: compared
 * relative to it (r15 always is). */
#define NORM_SI 0x01
#define NORM_DI 0x02
#define NORM_BX 0x04
/*
 * KVM's instruction emulator does not emulate the instruction (it ends
 * the VM with an emulation failure): its MMIO run is left out under kvm
 * and lockstep, and listed.
 */
#define KVM_NOEMUL 0x08
/*
 * KVM's instruction emulator gets the instruction wrong: TZCNT and LZCNT
 * (F3 0F BC/BD) are BSF and BSR to it.  Under kvm and lockstep a
 * difference is printed as KVM's, not counted as a failure.
 */
#define KVM_WRONG 0x40
/* KVM's instruction emulator raises #UD for it (MOVBE, which CPUID lists
 * and the CPU executes): a difference is printed as KVM's. */
#define KVM_UD 0x80
/* KVM's emulator stores DS as 0x10 (the kernel's) where the CPU has the
 * user selector: PVM's stale view of DS.  A difference is printed as
 * KVM's. */
#define KVM_SEG 0x200000
/* Not run under kvm (and lockstep): PVM hangs the vCPU on SGDT/SIDT at
 * CPL 3, on RAM already. */
#define KVM_HANG 0x20
/* Not run under kvm: KVM's emulator reads the destination of STR/SLDT
 * first (4 bytes), which kmod's decode check refuses. */
#define KVM_READS 0x100000
/* Not run under kvm: the stack in MMIO, whose implicit operands kmod's
 * decode check does not know (it stops the VM). */
#define KVM_STACK 0x1000000
/* The instruction may fault before it reaches memory: no MMIO access is
 * required of it. */
#define NOACCESS 0x10
/* The CPUID feature the instruction needs (not run without it). */
#define NEED_MOVBE  0x00100 /* CPUID.1:ECX[22] */
#define NEED_POPCNT 0x00200 /* CPUID.1:ECX[23] */
#define NEED_LZCNT  0x00400 /* CPUID.80000001H:ECX[5] */
#define NEED_BMI1   0x00800 /* CPUID.7.0:EBX[3] (TZCNT too) */
#define NEED_BMI2   0x01000 /* CPUID.7.0:EBX[8] */
#define NEED_ADX    0x02000 /* CPUID.7.0:EBX[19] */
#define NEED_SSE3   0x04000 /* CPUID.1:ECX[0] */
#define NEED_SSSE3  0x08000 /* CPUID.1:ECX[9] */
#define NEED_CX16   0x10000 /* CPUID.1:ECX[13] */
#define NEED_SSE41  0x20000 /* CPUID.1:ECX[19] */
#define NEED_SSE42  0x40000 /* CPUID.1:ECX[20] */
/* CPUID.1:ECX[26] (and the guest sets CR4.OSXSAVE and XCR0 = 3) */
#define NEED_XSAVE    0x80000
#define NEED_XSAVEOPT 0x400000 /* CPUID.0DH.1:EAX[0] */
#define NEED_XSAVEC   0x800000 /* CPUID.0DH.1:EAX[1] */
#define NEED_ANY      0xcfff00

/* The user segments mmio_insn.c adds to the GDT (the harness runs at
 * CPL 3). */
#define MT_USER_DS 0x2b
#define MT_USER_CS 0x33

#endif
