#!/usr/bin/env python3
"""
Generator of rhyve's x86 opcode tables: reads the opcode description below
(after the Intel SDM Vol. 2 Appendix A opcode maps) and writes
  x86_optab_gen.c      decision trees for every opcode of every map
  x86_optab_mnem.inc   the mnemonic list (X86_MNEM_X(name) lines)
Run it from anywhere: python3 emul/x86_optab_gen.py.  Both outputs are
checked in; rerun after editing this file.

Description syntax, one instruction form per line, grouped under
[SPACE MAP] headers (SPACE: L legacy, V VEX, E EVEX; MAP: 1 one-byte, 0F, 38, 3A):
  OPC[/REG] [selectors] MNEMONIC [operands] [flags]
selectors (lowercase, before the mnemonic):
  m r        ModRM.mod memory / register form
  rmN        ModRM.rm (register forms)
  np p66 pf3 pf2   mandatory prefix (VEX: VEX.pp)
  w0 w1      REX.W / VEX.W ; l0 l1 VEX.L ; i64 o64: not in / only in 64-bit
operands (comma separated): access prefix + (rw) = (write) & (no access),
read by default; then an SDM addressing method and size (Eb Gv Iz Jb Mq Vx
Wss Hx ...) or a fixed register (AL rAX eAX DX CL ES ST0 1).
flags: lock d64 f64 rep repz nop90 (see the C side, x86_decode.c); ud on
an INVALID line: the encoding under that prefix is #UD (Vol. 2D table A-4
leaves it blank) rather than falling back to the prefix-less form.
"""
import os
import re
import sys

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

CC = ['O', 'NO', 'B', 'AE', 'E', 'NE', 'BE', 'A', 'S', 'NS', 'P', 'NP', 'L',
      'GE', 'LE', 'G']

ONEBYTE = r"""
[L 1]
"""

def alu_lines():
    out = []
    for i, m in enumerate(['ADD', 'OR', 'ADC', 'SBB', 'AND', 'SUB', 'XOR',
                           'CMP']):
        b = i * 8
        w = '' if m == 'CMP' else '+'
        lk = '' if m == 'CMP' else ' lock'
        out += ['%02X %s %sEb,Gb%s' % (b, m, w, lk),
                '%02X %s %sEv,Gv%s' % (b + 1, m, w, lk),
                '%02X %s %sGb,Eb' % (b + 2, m, w),
                '%02X %s %sGv,Ev' % (b + 3, m, w),
                '%02X %s %sAL,Ib' % (b + 4, m, w),
                '%02X %s %srAX,Iz' % (b + 5, m, w)]
        for op, ext in [(0x80, 'Eb,Ib'), (0x81, 'Ev,Iz'), (0x83, 'Ev,Ibs')]:
            out.append('%02X/%d %s %s%s%s' % (op, i, m, w, ext, lk))
        out.append('82/%d i64 %s %sEb,Ib%s' % (i, m, w, lk))
    return out

def shift_lines():
    out = []
    names = ['ROL', 'ROR', 'RCL', 'RCR', 'SHL', 'SHR', 'SAL', 'SAR']
    for i, m in enumerate(names):
        for op, ext in [(0xC0, 'Eb,Ib'), (0xC1, 'Ev,Ib'), (0xD0, 'Eb,1'),
                        (0xD1, 'Ev,1'), (0xD2, 'Eb,CL'), (0xD3, 'Ev,CL')]:
            out.append('%02X/%d %s +%s' % (op, i, m, ext))
    return out

ONEBYTE_REST = r"""
06 i64 PUSH ES
07 i64 POP =ES
0E i64 PUSH CS
16 i64 PUSH SS
17 i64 POP =SS
1E i64 PUSH DS
1F i64 POP =DS
27 i64 DAA
2F i64 DAS
37 i64 AAA
3F i64 AAS
60 i64 PUSHA
61 i64 POPA
62 i64 m BOUND Gv,Ma
63 i64 ARPL +Ew,Gw
63 o64 MOVSXD =Gv,Ed
68 PUSH Iz d64
69 IMUL =Gv,Ev,Iz
6A PUSH Ibs d64
6B IMUL =Gv,Ev,Ibs
6C INSB =Yb,DX rep
6D INS =Yz,DX rep
6E OUTSB DX,Xb rep
6F OUTS DX,Xz rep
84 TEST Eb,Gb
85 TEST Ev,Gv
86 XCHG +Eb,+Gb lock
87 XCHG +Ev,+Gv lock
88 MOV =Eb,Gb
89 MOV =Ev,Gv
8A MOV =Gb,Eb
8B MOV =Gv,Ev
8C m MOV =Mw,Sw
8C r MOV =Rv,Sw
8D LEA =Gv,&M
8E m MOV =Sw,Mw movseg
8E r MOV =Sw,Rv movseg
8F/0 POP =Ev d64
90 nop90 XCHG +rAX,+Zv
98 CBW
99 CWD
9A i64 CALLF Ap
9B FWAIT
9C PUSHF d64
9D POPF d64
9E SAHF
9F LAHF
A0 MOV =AL,Ob
A1 MOV =rAX,Ov
A2 MOV =Ob,AL
A3 MOV =Ov,rAX
A4 MOVSB =Yb,Xb rep
A5 MOVS =Yv,Xv rep
A6 CMPSB Xb,Yb repz
A7 CMPS Xv,Yv repz
A8 TEST AL,Ib
A9 TEST rAX,Iz
AA STOSB =Yb,AL rep
AB STOS =Yv,rAX rep
AC LODSB =AL,Xb rep
AD LODS =rAX,Xv rep
AE SCASB AL,Yb repz
AF SCAS rAX,Yv repz
C2 RET Iw f64
C3 RET f64
C4 i64 m LES =Gz,Mp
C5 i64 m LDS =Gz,Mp
C6/0 MOV =Eb,Ib
C6/7 r rm0 XABORT Ib
C7/0 MOV =Ev,Iz
C7/7 r rm0 XBEGIN Jz
C8 ENTER Iw,Ib d64
C9 LEAVE d64
CA RETF Iw
CB RETF
CC INT3
CD INT Ib
CE i64 INTO
CF IRET
D4 i64 AAM Ib
D5 i64 AAD Ib
D6 i64 SALC
D7 XLATB
E0 LOOPNE Jb f64
E1 LOOPE Jb f64
E2 LOOP Jb f64
E3 JCXZ Jb f64
E4 IN =AL,Ib
E5 IN =eAX,Ib
E6 OUT Ib,AL
E7 OUT Ib,eAX
E8 CALL Jz f64
E9 JMP Jz f64
EA i64 JMPF Ap
EB JMP Jb f64
EC IN =AL,DX
ED IN =eAX,DX
EE OUT DX,AL
EF OUT DX,eAX
F1 INT1
F4 HLT
F5 CMC
F6/0 TEST Eb,Ib
F6/1 TEST Eb,Ib
F6/2 NOT +Eb lock
F6/3 NEG +Eb lock
F6/4 MUL Eb
F6/5 IMUL Eb
F6/6 DIV Eb
F6/7 IDIV Eb
F7/0 TEST Ev,Iz
F7/1 TEST Ev,Iz
F7/2 NOT +Ev lock
F7/3 NEG +Ev lock
F7/4 MUL Ev
F7/5 IMUL Ev
F7/6 DIV Ev
F7/7 IDIV Ev
F8 CLC
F9 STC
FA CLI
FB STI
FC CLD
FD STD
FE/0 INC +Eb lock
FE/1 DEC +Eb lock
FF/0 INC +Ev lock
FF/1 DEC +Ev lock
FF/2 CALL Ev f64
FF/3 m CALLF Mp
FF/4 JMP Ev f64
FF/5 m JMPF Mp
FF/6 PUSH Ev d64
"""

def onebyte_gen():
    out = alu_lines() + shift_lines()
    for i in range(8):
        out.append('%02X i64 INC +Zv' % (0x40 + i))
        out.append('%02X i64 DEC +Zv' % (0x48 + i))
        out.append('%02X PUSH Zv d64' % (0x50 + i))
        out.append('%02X POP =Zv d64' % (0x58 + i))
        out.append('%02X MOV =Zb,Ib' % (0xB0 + i))
        out.append('%02X MOV =Zv,Iv' % (0xB8 + i))
        if i:
            out.append('%02X XCHG +rAX,+Zv' % (0x90 + i))
    for i, c in enumerate(CC):
        out.append('%02X J%s Jb f64' % (0x70 + i, c))
    return out

# x87: memory forms by (opcode, reg), register forms by (opcode, modrm).
X87_MEM = {
    0xD8: ['FADD Md', 'FMUL Md', 'FCOM Md', 'FCOMP Md', 'FSUB Md',
           'FSUBR Md', 'FDIV Md', 'FDIVR Md'],
    0xD9: ['FLD Md', None, 'FST =Md', 'FSTP =Md', 'FLDENV Menv',
           'FLDCW Mw', 'FNSTENV =Menv', 'FNSTCW =Mw'],
    0xDA: ['FIADD Md', 'FIMUL Md', 'FICOM Md', 'FICOMP Md', 'FISUB Md',
           'FISUBR Md', 'FIDIV Md', 'FIDIVR Md'],
    0xDB: ['FILD Md', 'FISTTP =Md', 'FIST =Md', 'FISTP =Md', None,
           'FLD Mt', None, 'FSTP =Mt'],
    0xDC: ['FADD Mq', 'FMUL Mq', 'FCOM Mq', 'FCOMP Mq', 'FSUB Mq',
           'FSUBR Mq', 'FDIV Mq', 'FDIVR Mq'],
    0xDD: ['FLD Mq', 'FISTTP =Mq', 'FST =Mq', 'FSTP =Mq', 'FRSTOR Mst',
           None, 'FNSAVE =Mst', 'FNSTSW =Mw'],
    0xDE: ['FIADD Mw', 'FIMUL Mw', 'FICOM Mw', 'FICOMP Mw', 'FISUB Mw',
           'FISUBR Mw', 'FIDIV Mw', 'FIDIVR Mw'],
    0xDF: ['FILD Mw', 'FISTTP =Mw', 'FIST =Mw', 'FISTP =Mw', 'FBLD Mt',
           'FILD Mq', 'FBSTP =Mt', 'FISTP =Mq'],
}

def x87_gen():
    out = []
    for op, forms in X87_MEM.items():
        for reg, f in enumerate(forms):
            if f:
                out.append('%02X/%d m %s' % (op, reg, f))
    def rr(op, reg, text):
        out.append('%02X/%d r %s' % (op, reg, text))
    def r1(op, modrm, text):
        out.append('%02X/%d r rm%d %s' % (op, (modrm >> 3) & 7, modrm & 7,
                                          text))
    for reg, m in enumerate(['FADD', 'FMUL', 'FCOM', 'FCOMP', 'FSUB',
                             'FSUBR', 'FDIV', 'FDIVR']):
        rr(0xD8, reg, m + ' +ST0,STi')
    rr(0xD9, 0, 'FLD STi')
    rr(0xD9, 1, 'FXCH +STi')
    r1(0xD9, 0xD0, 'FNOP')
    for i, m in enumerate(['FCHS', 'FABS', None, None, 'FTST', 'FXAM', None,
                           None, 'FLD1', 'FLDL2T', 'FLDL2E', 'FLDPI',
                           'FLDLG2', 'FLDLN2', 'FLDZ', None, 'F2XM1',
                           'FYL2X', 'FPTAN', 'FPATAN', 'FXTRACT', 'FPREM1',
                           'FDECSTP', 'FINCSTP', 'FPREM', 'FYL2XP1',
                           'FSQRT', 'FSINCOS', 'FRNDINT', 'FSCALE', 'FSIN',
                           'FCOS']):
        if m:
            r1(0xD9, 0xE0 + i, m)
    for reg, m in enumerate(['FCMOVB', 'FCMOVE', 'FCMOVBE', 'FCMOVU']):
        rr(0xDA, reg, m + ' +ST0,STi')
    r1(0xDA, 0xE9, 'FUCOMPP')
    for reg, m in enumerate(['FCMOVNB', 'FCMOVNE', 'FCMOVNBE', 'FCMOVNU']):
        rr(0xDB, reg, m + ' +ST0,STi')
    r1(0xDB, 0xE2, 'FNCLEX')
    r1(0xDB, 0xE3, 'FNINIT')
    rr(0xDB, 5, 'FUCOMI ST0,STi')
    rr(0xDB, 6, 'FCOMI ST0,STi')
    for reg, m in enumerate(['FADD', 'FMUL', None, None, 'FSUBR', 'FSUB',
                             'FDIVR', 'FDIV']):
        if m:
            rr(0xDC, reg, m + ' +STi,ST0')
    rr(0xDD, 0, 'FFREE STi')
    rr(0xDD, 2, 'FST =STi')
    rr(0xDD, 3, 'FSTP =STi')
    rr(0xDD, 4, 'FUCOM STi')
    rr(0xDD, 5, 'FUCOMP STi')
    for reg, m in enumerate(['FADDP', 'FMULP', None, None, 'FSUBRP', 'FSUBP',
                             'FDIVRP', 'FDIVP']):
        if m:
            rr(0xDE, reg, m + ' +STi,ST0')
    r1(0xDE, 0xD9, 'FCOMPP')
    r1(0xDF, 0xE0, 'FNSTSW =AX')
    # Aliases the CPUs decode (AMD APM Vol. 5 / sandpile; capstone too)
    rr(0xD9, 3, 'FSTPNCE =STi')
    rr(0xDC, 2, 'FCOM STi')
    rr(0xDC, 3, 'FCOMP STi')
    rr(0xDD, 1, 'FXCH +STi')
    rr(0xDE, 2, 'FCOMP STi')
    rr(0xDF, 0, 'FFREEP STi')
    rr(0xDF, 1, 'FXCH +STi')
    rr(0xDF, 2, 'FSTP =STi')
    rr(0xDF, 3, 'FSTP =STi')
    r1(0xDB, 0xE0, 'FENI8087_NOP')
    r1(0xDB, 0xE1, 'FDISI8087_NOP')
    r1(0xDB, 0xE4, 'FSETPM')
    rr(0xDF, 5, 'FUCOMIP ST0,STi')
    rr(0xDF, 6, 'FCOMIP ST0,STi')
    return out

# 0F map.  Helpers for the MMX/SSE families follow below.
TWOBYTE = r"""
00/0 m SLDT =Mw
00/0 r SLDT =Rv
00/1 m STR =Mw
00/1 r STR =Rv
00/2 LLDT Ew
00/3 LTR Ew
00/4 VERR Ew
00/5 VERW Ew
01/0 m SGDT =Ms
01/1 m SIDT =Ms
01/2 m LGDT Ms
01/3 m LIDT Ms
01/4 m SMSW =Mw
01/4 r SMSW =Rv
01/6 m LMSW Mw
01/6 r LMSW Rw
01/7 m INVLPG &Mb
01/0 r rm1 VMCALL
01/0 r rm2 VMLAUNCH
01/0 r rm3 VMRESUME
01/0 r rm4 VMXOFF
01/1 r rm0 MONITOR
01/1 r rm1 MWAIT
01/1 r rm2 CLAC
01/1 r rm3 STAC
01/1 r rm7 ENCLS
01/2 r rm0 XGETBV
01/2 r rm1 XSETBV
01/2 r rm4 VMFUNC
01/2 r rm5 XEND
01/2 r rm6 XTEST
01/2 r rm7 ENCLU
01/3 r rm0 VMRUN
01/3 r rm1 VMMCALL
01/3 r rm2 VMLOAD
01/3 r rm3 VMSAVE
01/3 r rm4 STGI
01/3 r rm5 CLGI
01/3 r rm6 SKINIT
01/3 r rm7 INVLPGA
01/5 r rm6 RDPKRU
01/5 r rm7 WRPKRU
01/7 r rm0 o64 SWAPGS
01/7 r rm1 RDTSCP
01/7 r rm2 MONITORX
01/7 r rm3 MWAITX
01/7 r rm4 CLZERO
02 m LAR =Gv,Mw
02 r LAR =Gv,Rz
03 m LSL =Gv,Mw
03 r LSL =Gv,Rz
05 SYSCALL
06 CLTS
07 SYSRET
08 INVD
09 WBINVD
0B UD2
0D/0 m PREFETCH &Mb
0D/1 m PREFETCHW &Mb
0D/2 m PREFETCHWT1 &Mb
0E FEMMS
18 NOP &Ev
18/0 m PREFETCHNTA &Mb
18/1 m PREFETCHT0 &Mb
18/2 m PREFETCHT1 &Mb
18/3 m PREFETCHT2 &Mb
19 m NOP &Ev
19 r NOP &Ev,&Gv
1A m NOP &Ev
1A r NOP &Ev,&Gv
1B m NOP &Ev
1B r NOP &Ev,&Gv
1C m NOP &Ev
1C r NOP &Ev,&Gv
1D m NOP &Ev
1D r NOP &Ev,&Gv
1E m NOP &Ev
1E r NOP &Ev,&Gv
1E/1 pf3 r RDSSP =Ry
1E/7 pf3 r rm2 ENDBR64
1E/7 pf3 r rm3 ENDBR32
1F NOP &Ev
20 MOV =Rr,Cr
21 MOV =Rr,Dr
22 MOV =Cr,Rr
23 MOV =Dr,Rr
2A np CVTPI2PS =Vdq,Qq
2A p66 CVTPI2PD =Vdq,Qq
2B np m MOVNTPS =Mx,Vx vn
2B p66 m MOVNTPD =Mx,Vx vn
2B pf3 m MOVNTSS =Md,Vdq
2B pf2 m MOVNTSD =Mq,Vdq
2C np CVTTPS2PI =Pq,Wq
2C p66 CVTTPD2PI =Pq,Wdq
2D np CVTPS2PI =Pq,Wq
2D p66 CVTPD2PI =Pq,Wdq
30 WRMSR
31 RDTSC
32 RDMSR
33 RDPMC
34 SYSENTER
35 SYSEXIT
37 GETSEC
77 EMMS
78 np VMREAD =Er,Gr
79 np VMWRITE Gr,Er
78/0 p66 r EXTRQ +Udq,Ib,Ib
79 p66 r EXTRQ +Vdq,Udq
78 pf2 r INSERTQ +Vdq,Udq,Ib,Ib
79 pf2 r INSERTQ +Vdq,Udq
A0 PUSH FS d64
A1 POP =FS d64
A2 CPUID
A3 BT Ev,Gv
A4 SHLD +Ev,Gv,Ib
A5 SHLD +Ev,Gv,CL
A8 PUSH GS d64
A9 POP =GS d64
AA RSM
AB BTS +Ev,Gv lock
AC SHRD +Ev,Gv,Ib
AD SHRD +Ev,Gv,CL
AE/0 m FXSAVE =Mfx
AE/1 m FXRSTOR Mfx
AE/2 m LDMXCSR Md
AE/3 m STMXCSR =Md
AE/4 m XSAVE =Mxs
AE/5 m XRSTOR Mxs
AE/6 m XSAVEOPT =Mxs
AE/7 m CLFLUSH &Mb
AE/7 p66 m CLFLUSHOPT &Mb
AE/6 p66 m CLWB &Mb
AE/5 np r rm0 LFENCE
AE/6 np r rm0 MFENCE
AE/7 np r rm0 SFENCE
AE/0 pf3 r o64 RDFSBASE =Ry
AE/1 pf3 r o64 RDGSBASE =Ry
AE/2 pf3 r o64 WRFSBASE Ry
AE/3 pf3 r o64 WRGSBASE Ry
AE/6 pf3 r UMONITOR Ry
AE/6 pf2 r UMWAIT Ry
AE/6 p66 r TPAUSE Ry
AF IMUL +Gv,Ev
B0 CMPXCHG +Eb,Gb lock
B1 CMPXCHG +Ev,Gv lock
B2 m LSS =Gv,Mp
B3 BTR +Ev,Gv lock
B4 m LFS =Gv,Mp
B5 m LGS =Gv,Mp
B6 MOVZX =Gv,Eb
B7 MOVZX =Gv,Ew
B8 pf3 POPCNT =Gv,Ev
B9 UD1 Gv,Ev
BA/4 BT Ev,Ib
BA/5 BTS +Ev,Ib lock
BA/6 BTR +Ev,Ib lock
BA/7 BTC +Ev,Ib lock
BB BTC +Ev,Gv lock
BC BSF =Gv,Ev
BC pf3 TZCNT =Gv,Ev
BD BSR =Gv,Ev
BD pf3 LZCNT =Gv,Ev
BE MOVSX =Gv,Eb
BF MOVSX =Gv,Ew
C0 XADD +Eb,+Gb lock
C1 XADD +Ev,+Gv lock
C3 np m MOVNTI =My,Gy
C7/1 m w0 CMPXCHG8B +Mq lock
C7/1 m w1 CMPXCHG16B +Mdq lock
C7/3 m XRSTORS Mxs
C7/4 m XSAVEC =Mxs
C7/5 m XSAVES =Mxs
C7/6 np m VMPTRLD Mq
C7/6 p66 m VMCLEAR Mq
C7/6 pf3 m VMXON Mq
C7/7 np m VMPTRST =Mq
C7/6 r RDRAND =Rv
C7/7 r RDSEED =Rv
C7/7 pf3 r RDPID =Rr
FF UD0 Gv,Ev
"""

def twobyte_gen():
    out = []
    for i, c in enumerate(CC):
        out.append('%02X CMOV%s +Gv,Ev' % (0x40 + i, c))
        out.append('%02X J%s Jz f64' % (0x80 + i, c))
        out.append('%02X SET%s =Eb' % (0x90 + i, c))
    for i in range(8):
        out.append('%02X BSWAP +Zv' % (0xC8 + i))
    return out

def sse4(opc, base, acc='+', v='v', ps='Vx,Wx', pd='Vx,Wx', ss='Vdq,Wd',
         sd='Vdq,Wq', which='ps pd ss sd'):
    """PS/PD/SS/SD family of one opcode."""
    out = []
    pfx = {'ps': 'np', 'pd': 'p66', 'ss': 'pf3', 'sd': 'pf2'}
    ops = {'ps': ps, 'pd': pd, 'ss': ss, 'sd': sd}
    for k in which.split():
        out.append('%02X %s %s%s %s%s %s' % (opc, pfx[k], base, k.upper(),
                                             acc, ops[k], v))
    return out

def mmxsse(opc, m, acc='+', mmx='Pq,Qq', sse='Vx,Wx', v='v', rest=''):
    out = []
    if mmx:
        out.append('%02X np %s %s%s%s' % (opc, m, acc, mmx, rest))
    if sse:
        out.append('%02X p66 %s %s%s%s %s' % (opc, m, acc, sse, rest, v))
    return out

SSE_0F = r"""
10 np MOVUPS =Vx,Wx vn
10 p66 MOVUPD =Vx,Wx vn
10 pf3 m MOVSS =Vdq,Wd vn
10 pf3 r MOVSS +Vdq,Wd vs
10 pf2 m MOVSD =Vdq,Wq vn
10 pf2 r MOVSD +Vdq,Wq vs
11 np MOVUPS =Wx,Vx vn
11 p66 MOVUPD =Wx,Vx vn
11 pf3 m MOVSS =Wd,Vdq vn
11 pf3 r MOVSS +Wdq,Vd vs2
11 pf2 m MOVSD =Wq,Vdq vn
11 pf2 r MOVSD +Wdq,Vq vs2
12 np m MOVLPS +Vdq,Mq vl0
12 np r MOVHLPS +Vdq,Udq vl0
12 p66 m MOVLPD +Vdq,Mq vl0
12 pf3 MOVSLDUP =Vx,Wx vn
12 pf2 MOVDDUP =Vx,Wdup vn
13 np m MOVLPS =Mq,Vdq vnl0
13 p66 m MOVLPD =Mq,Vdq vnl0
14 np UNPCKLPS +Vx,Wx v
14 p66 UNPCKLPD +Vx,Wx v
15 np UNPCKHPS +Vx,Wx v
15 p66 UNPCKHPD +Vx,Wx v
16 np m MOVHPS +Vdq,Mq vl0
16 np r MOVLHPS +Vdq,Udq vl0
16 p66 m MOVHPD +Vdq,Mq vl0
16 pf3 MOVSHDUP =Vx,Wx vn
17 np m MOVHPS =Mq,Vdq vnl0
17 p66 m MOVHPD =Mq,Vdq vnl0
28 np MOVAPS =Vx,Wx vn
28 p66 MOVAPD =Vx,Wx vn
29 np MOVAPS =Wx,Vx vn
29 p66 MOVAPD =Wx,Vx vn
2E np UCOMISS Vdq,Wd vn
2E p66 UCOMISD Vdq,Wq vn
2F np COMISS Vdq,Wd vn
2F p66 COMISD Vdq,Wq vn
50 np r MOVMSKPS =Gd,Ux vn
50 p66 r MOVMSKPD =Gd,Ux vn
5A np CVTPS2PD =Vx,Wh vn
5A p66 CVTPD2PS =Vh,Wx vn
5A pf3 CVTSS2SD =Vdq,Wd v
5A pf2 CVTSD2SS =Vdq,Wq v
5B np CVTDQ2PS =Vx,Wx vn
5B p66 CVTPS2DQ =Vx,Wx vn
5B pf3 CVTTPS2DQ =Vx,Wx vn
6C p66 PUNPCKLQDQ +Vx,Wx v
6D p66 PUNPCKHQDQ +Vx,Wx v
6E np w0 MOVD =Pq,Ed
6E np w1 MOVQ =Pq,Eq
6E p66 w0 MOVD =Vdq,Ed vnl0
6E p66 w1 MOVQ =Vdq,Eq vnl0
6F np MOVQ =Pq,Qq
6F p66 MOVDQA =Vx,Wx vn
6F pf3 MOVDQU =Vx,Wx vn
70 np PSHUFW =Pq,Qq,Ib
70 p66 PSHUFD =Vx,Wx,Ib vn
70 pf3 PSHUFHW =Vx,Wx,Ib vn
70 pf2 PSHUFLW =Vx,Wx,Ib vn
71/2 np r PSRLW +Nq,Ib
71/4 np r PSRAW +Nq,Ib
71/6 np r PSLLW +Nq,Ib
72/2 np r PSRLD +Nq,Ib
72/4 np r PSRAD +Nq,Ib
72/6 np r PSLLD +Nq,Ib
73/2 np r PSRLQ +Nq,Ib
73/6 np r PSLLQ +Nq,Ib
71/2 p66 r PSRLW +Ux,Ib vd
71/4 p66 r PSRAW +Ux,Ib vd
71/6 p66 r PSLLW +Ux,Ib vd
72/2 p66 r PSRLD +Ux,Ib vd
72/4 p66 r PSRAD +Ux,Ib vd
72/6 p66 r PSLLD +Ux,Ib vd
73/2 p66 r PSRLQ +Ux,Ib vd
73/3 p66 r PSRLDQ +Ux,Ib vd
73/6 p66 r PSLLQ +Ux,Ib vd
73/7 p66 r PSLLDQ +Ux,Ib vd
7C p66 HADDPD +Vx,Wx v
7C pf2 HADDPS +Vx,Wx v
7D p66 HSUBPD +Vx,Wx v
7D pf2 HSUBPS +Vx,Wx v
7E np w0 MOVD =Ed,Pq
7E np w1 MOVQ =Eq,Pq
7E p66 w0 MOVD =Ed,Vdq vnl0
7E p66 w1 MOVQ =Eq,Vdq vnl0
7E pf3 MOVQ =Vdq,Wq vnl0
7F np MOVQ =Qq,Pq
7F p66 MOVDQA =Wx,Vx vn
7F pf3 MOVDQU =Wx,Vx vn
C2 np CMPPS +Vx,Wx,Ib v
C2 p66 CMPPD +Vx,Wx,Ib v
C2 pf3 CMPSS +Vdq,Wd,Ib v
C2 pf2 CMPSD +Vdq,Wq,Ib v
C4 np m PINSRW +Pq,Mw,Ib
C4 np r PINSRW +Pq,Rd,Ib
C4 p66 m PINSRW +Vdq,Mw,Ib vl0
C4 p66 r PINSRW +Vdq,Rd,Ib vl0
C5 np r PEXTRW =Gd,Nq,Ib
C5 p66 r PEXTRW =Gd,Udq,Ib vnl0
C6 np SHUFPS +Vx,Wx,Ib v
C6 p66 SHUFPD +Vx,Wx,Ib v
D0 p66 ADDSUBPD +Vx,Wx v
D0 pf2 ADDSUBPS +Vx,Wx v
D6 p66 MOVQ =Wq,Vdq vnl0
D6 pf3 r MOVQ2DQ =Vdq,Nq
D6 pf2 r MOVDQ2Q =Pq,Udq
D7 np r PMOVMSKB =Gd,Nq
D7 p66 r PMOVMSKB =Gd,Ux vn
E6 p66 CVTTPD2DQ =Vh,Wx vn
E6 pf3 CVTDQ2PD =Vx,Wh vn
E6 pf2 CVTPD2DQ =Vh,Wx vn
E7 np m MOVNTQ =Mq,Pq
E7 p66 m MOVNTDQ =Mx,Vx vn
F0 pf2 m LDDQU =Vx,Mx vn
F7 np r MASKMOVQ Pq,Nq
F7 p66 r MASKMOVDQU Vdq,Udq vnl0
"""

def sse_0f_gen():
    out = []
    out += sse4(0x51, 'SQRT', '=', 'vn', which='ps pd')
    out += sse4(0x51, 'SQRT', '=', 'v', which='ss sd')
    out += sse4(0x52, 'RSQRT', '=', 'vn', which='ps')
    out += sse4(0x52, 'RSQRT', '=', 'v', which='ss')
    out += sse4(0x53, 'RCP', '=', 'vn', which='ps')
    out += sse4(0x53, 'RCP', '=', 'v', which='ss')
    for opc, m in [(0x54, 'AND'), (0x55, 'ANDN'), (0x56, 'OR'),
                   (0x57, 'XOR')]:
        out += sse4(opc, m, which='ps pd')
    for opc, m in [(0x58, 'ADD'), (0x59, 'MUL'), (0x5C, 'SUB'),
                   (0x5D, 'MIN'), (0x5E, 'DIV'), (0x5F, 'MAX')]:
        out += sse4(opc, m)
    for opc, m in zip(range(0x60, 0x6C),
                      ['PUNPCKLBW', 'PUNPCKLWD', 'PUNPCKLDQ', 'PACKSSWB',
                       'PCMPGTB', 'PCMPGTW', 'PCMPGTD', 'PACKUSWB',
                       'PUNPCKHBW', 'PUNPCKHWD', 'PUNPCKHDQ', 'PACKSSDW']):
        out += mmxsse(opc, m)
    for opc, m in [(0x74, 'PCMPEQB'), (0x75, 'PCMPEQW'), (0x76, 'PCMPEQD')]:
        out += mmxsse(opc, m)
    for opc, m in [(0xD1, 'PSRLW'), (0xD2, 'PSRLD'), (0xD3, 'PSRLQ'),
                   (0xE1, 'PSRAW'), (0xE2, 'PSRAD'), (0xF1, 'PSLLW'),
                   (0xF2, 'PSLLD'), (0xF3, 'PSLLQ')]:
        out += mmxsse(opc, m, sse='Vx,Wdq')
    names = {0xD4: 'PADDQ', 0xD5: 'PMULLW', 0xD8: 'PSUBUSB',
             0xD9: 'PSUBUSW', 0xDA: 'PMINUB', 0xDB: 'PAND', 0xDC: 'PADDUSB',
             0xDD: 'PADDUSW', 0xDE: 'PMAXUB', 0xDF: 'PANDN', 0xE0: 'PAVGB',
             0xE3: 'PAVGW', 0xE4: 'PMULHUW', 0xE5: 'PMULHW', 0xE8: 'PSUBSB',
             0xE9: 'PSUBSW', 0xEA: 'PMINSW', 0xEB: 'POR', 0xEC: 'PADDSB',
             0xED: 'PADDSW', 0xEE: 'PMAXSW', 0xEF: 'PXOR', 0xF4: 'PMULUDQ',
             0xF5: 'PMADDWD', 0xF6: 'PSADBW', 0xF8: 'PSUBB', 0xF9: 'PSUBW',
             0xFA: 'PSUBD', 0xFB: 'PSUBQ', 0xFC: 'PADDB', 0xFD: 'PADDW',
             0xFE: 'PADDD'}
    for opc, m in names.items():
        out += mmxsse(opc, m)
    out += ['2A pf3 CVTSI2SS =Vdq,Ey vs', '2A pf2 CVTSI2SD =Vdq,Ey vs',
            '2C pf3 CVTTSS2SI =Gy,Wd vn', '2C pf2 CVTTSD2SI =Gy,Wq vn',
            '2D pf3 CVTSS2SI =Gy,Wd vn', '2D pf2 CVTSD2SI =Gy,Wq vn']
    return out

SSE_38 = r"""
10 p66 PBLENDVB +Vdq,Wdq
14 p66 BLENDVPS +Vdq,Wdq
15 p66 BLENDVPD +Vdq,Wdq
17 p66 PTEST Vx,Wx vn
20 p66 PMOVSXBW =Vx,Wh vn
21 p66 PMOVSXBD =Vx,Wqr vn
22 p66 PMOVSXBQ =Vx,We vn
23 p66 PMOVSXWD =Vx,Wh vn
24 p66 PMOVSXWQ =Vx,Wqr vn
25 p66 PMOVSXDQ =Vx,Wh vn
28 p66 PMULDQ +Vx,Wx v
29 p66 PCMPEQQ +Vx,Wx v
2A p66 m MOVNTDQA =Vx,Mx vn
2B p66 PACKUSDW +Vx,Wx v
30 p66 PMOVZXBW =Vx,Wh vn
31 p66 PMOVZXBD =Vx,Wqr vn
32 p66 PMOVZXBQ =Vx,We vn
33 p66 PMOVZXWD =Vx,Wh vn
34 p66 PMOVZXWQ =Vx,Wqr vn
35 p66 PMOVZXDQ =Vx,Wh vn
37 p66 PCMPGTQ +Vx,Wx v
38 p66 PMINSB +Vx,Wx v
39 p66 PMINSD +Vx,Wx v
3A p66 PMINUW +Vx,Wx v
3B p66 PMINUD +Vx,Wx v
3C p66 PMAXSB +Vx,Wx v
3D p66 PMAXSD +Vx,Wx v
3E p66 PMAXUW +Vx,Wx v
3F p66 PMAXUD +Vx,Wx v
40 p66 PMULLD +Vx,Wx v
41 p66 PHMINPOSUW =Vdq,Wdq vnl0
80 p66 m INVEPT Gr,Mdq
81 p66 m INVVPID Gr,Mdq
82 p66 m INVPCID Gr,Mdq
C8 np SHA1NEXTE +Vdq,Wdq
C9 np SHA1MSG1 +Vdq,Wdq
CA np SHA1MSG2 +Vdq,Wdq
CB np SHA256RNDS2 +Vdq,Wdq
CC np SHA256MSG1 +Vdq,Wdq
CD np SHA256MSG2 +Vdq,Wdq
DB p66 AESIMC =Vdq,Wdq vnl0
DC p66 AESENC +Vdq,Wdq vl0
DD p66 AESENCLAST +Vdq,Wdq vl0
DE p66 AESDEC +Vdq,Wdq vl0
DF p66 AESDECLAST +Vdq,Wdq vl0
F0 np m MOVBE =Gv,Mv
F1 np m MOVBE =Mv,Gv
F0 pf3 INVALID ud
F1 pf3 INVALID ud
F0 pf2 CRC32 +Gy,Eb
F1 pf2 CRC32 +Gy,Ev
F6 p66 ADCX +Gy,Ey
F6 pf3 ADOX +Gy,Ey
F6 pf2 INVALID ud
F6 np m WRSS Mv,Gy
F9 p66 INVALID ud
F9 pf3 INVALID ud
F9 pf2 INVALID ud
F5 p66 m WRUSS Mv,Gy
F8 p66 m MOVDIR64B Gr,Mzo
F9 np m MOVDIRI =My,Gy
"""

def ssse3_gen():
    out = []
    for opc, m in enumerate(['PSHUFB', 'PHADDW', 'PHADDD', 'PHADDSW',
                             'PMADDUBSW', 'PHSUBW', 'PHSUBD', 'PHSUBSW',
                             'PSIGNB', 'PSIGNW', 'PSIGND', 'PMULHRSW']):
        out += mmxsse(opc, m)
    for opc, m in [(0x1C, 'PABSB'), (0x1D, 'PABSW'), (0x1E, 'PABSD')]:
        out += mmxsse(opc, m, acc='=', v='vn')
    return out

SSE_3A = r"""
08 p66 ROUNDPS =Vx,Wx,Ib vn
09 p66 ROUNDPD =Vx,Wx,Ib vn
0A p66 ROUNDSS +Vdq,Wd,Ib v
0B p66 ROUNDSD +Vdq,Wq,Ib v
0C p66 BLENDPS +Vx,Wx,Ib v
0D p66 BLENDPD +Vx,Wx,Ib v
0E p66 PBLENDW +Vx,Wx,Ib v
0F np PALIGNR +Pq,Qq,Ib
0F p66 PALIGNR +Vx,Wx,Ib v
14 p66 m PEXTRB =Mb,Vdq,Ib vnl0
14 p66 r PEXTRB =Rd,Vdq,Ib vnl0
15 p66 m PEXTRW =Mw,Vdq,Ib vnl0
15 p66 r PEXTRW =Rd,Vdq,Ib vnl0
16 p66 w0 PEXTRD =Ed,Vdq,Ib vnl0
16 p66 w1 PEXTRQ =Eq,Vdq,Ib vnl0
17 p66 EXTRACTPS =Ed,Vdq,Ib vnl0
20 p66 m PINSRB +Vdq,Mb,Ib vl0
20 p66 r PINSRB +Vdq,Rd,Ib vl0
21 p66 INSERTPS +Vdq,Wd,Ib vl0
22 p66 w0 PINSRD +Vdq,Ed,Ib vl0
22 p66 w1 PINSRQ +Vdq,Eq,Ib vl0
40 p66 DPPS +Vx,Wx,Ib v
41 p66 DPPD +Vdq,Wdq,Ib vl0
42 p66 MPSADBW +Vx,Wx,Ib v
44 p66 PCLMULQDQ +Vdq,Wdq,Ib vl0
60 p66 PCMPESTRM Vdq,Wdq,Ib vnl0
61 p66 PCMPESTRI Vdq,Wdq,Ib vnl0
62 p66 PCMPISTRM Vdq,Wdq,Ib vnl0
63 p66 PCMPISTRI Vdq,Wdq,Ib vnl0
CC np SHA1RNDS4 +Vdq,Wdq,Ib
DF p66 AESKEYGENASSIST =Vdq,Wdq,Ib vnl0
"""

# VEX-only forms.
VEX_0F = r"""
AE/2 np l0 m VLDMXCSR Md
AE/3 np l0 m VSTMXCSR =Md
77 np l0 VZEROUPPER
77 np l1 VZEROALL
41 np w0 l1 r KANDW =Kr,Kh,Km
41 np w1 l1 r KANDQ =Kr,Kh,Km
41 p66 w0 l1 r KANDB =Kr,Kh,Km
41 p66 w1 l1 r KANDD =Kr,Kh,Km
42 np w0 l1 r KANDNW =Kr,Kh,Km
42 np w1 l1 r KANDNQ =Kr,Kh,Km
42 p66 w0 l1 r KANDNB =Kr,Kh,Km
42 p66 w1 l1 r KANDND =Kr,Kh,Km
44 np w0 l0 r KNOTW =Kr,Km
44 np w1 l0 r KNOTQ =Kr,Km
44 p66 w0 l0 r KNOTB =Kr,Km
44 p66 w1 l0 r KNOTD =Kr,Km
45 np w0 l1 r KORW =Kr,Kh,Km
45 np w1 l1 r KORQ =Kr,Kh,Km
45 p66 w0 l1 r KORB =Kr,Kh,Km
45 p66 w1 l1 r KORD =Kr,Kh,Km
46 np w0 l1 r KXNORW =Kr,Kh,Km
46 np w1 l1 r KXNORQ =Kr,Kh,Km
46 p66 w0 l1 r KXNORB =Kr,Kh,Km
46 p66 w1 l1 r KXNORD =Kr,Kh,Km
47 np w0 l1 r KXORW =Kr,Kh,Km
47 np w1 l1 r KXORQ =Kr,Kh,Km
47 p66 w0 l1 r KXORB =Kr,Kh,Km
47 p66 w1 l1 r KXORD =Kr,Kh,Km
4A np w0 l1 r KADDW =Kr,Kh,Km
4A np w1 l1 r KADDQ =Kr,Kh,Km
4A p66 w0 l1 r KADDB =Kr,Kh,Km
4A p66 w1 l1 r KADDD =Kr,Kh,Km
4B p66 w0 l1 r KUNPCKBW =Kr,Kh,Km
4B np w0 l1 r KUNPCKWD =Kr,Kh,Km
4B np w1 l1 r KUNPCKDQ =Kr,Kh,Km
90 np w0 l0 KMOVW =Kr,Kmw
90 np w1 l0 KMOVQ =Kr,Kmq
90 p66 w0 l0 KMOVB =Kr,Kmb
90 p66 w1 l0 KMOVD =Kr,Kmd
91 np w0 l0 m KMOVW =Mw,Kr
91 np w1 l0 m KMOVQ =Mq,Kr
91 p66 w0 l0 m KMOVB =Mb,Kr
91 p66 w1 l0 m KMOVD =Md,Kr
92 np w0 l0 r KMOVW =Kr,Rd
92 p66 w0 l0 r KMOVB =Kr,Rd
92 pf2 w0 l0 r KMOVD =Kr,Rd
92 pf2 w1 l0 r KMOVQ =Kr,Rq
93 np w0 l0 r KMOVW =Gd,Km
93 p66 w0 l0 r KMOVB =Gd,Km
93 pf2 w0 l0 r KMOVD =Gd,Km
93 pf2 w1 l0 r KMOVQ =Gq,Km
98 np w0 l0 r KORTESTW Kr,Km
98 np w1 l0 r KORTESTQ Kr,Km
98 p66 w0 l0 r KORTESTB Kr,Km
98 p66 w1 l0 r KORTESTD Kr,Km
99 np w0 l0 r KTESTW Kr,Km
99 np w1 l0 r KTESTQ Kr,Km
99 p66 w0 l0 r KTESTB Kr,Km
99 p66 w1 l0 r KTESTD Kr,Km
"""

VEX_38 = r"""
0C p66 w0 VPERMILPS =Vx,Hx,Wx
0D p66 w0 VPERMILPD =Vx,Hx,Wx
0E p66 w0 VTESTPS Vx,Wx
0F p66 w0 VTESTPD Vx,Wx
13 p66 w0 VCVTPH2PS =Vx,Wh
16 p66 w0 l1 VPERMPS =Vx,Hx,Wx
18 p66 w0 VBROADCASTSS =Vx,Wd
19 p66 w0 l1 VBROADCASTSD =Vx,Wq
1A p66 w0 l1 m VBROADCASTF128 =Vx,Mdq
2C p66 w0 m VMASKMOVPS =Vx,Hx,Mx
2D p66 w0 m VMASKMOVPD =Vx,Hx,Mx
2E p66 w0 m VMASKMOVPS =Mx,Hx,Vx
2F p66 w0 m VMASKMOVPD =Mx,Hx,Vx
36 p66 w0 l1 VPERMD =Vx,Hx,Wx
45 p66 w0 VPSRLVD =Vx,Hx,Wx
45 p66 w1 VPSRLVQ =Vx,Hx,Wx
46 p66 w0 VPSRAVD =Vx,Hx,Wx
47 p66 w0 VPSLLVD =Vx,Hx,Wx
47 p66 w1 VPSLLVQ =Vx,Hx,Wx
58 p66 w0 VPBROADCASTD =Vx,Wd
59 p66 w0 VPBROADCASTQ =Vx,Wq
5A p66 w0 l1 m VBROADCASTI128 =Vx,Mdq
78 p66 w0 VPBROADCASTB =Vx,Wb
79 p66 w0 VPBROADCASTW =Vx,Ww
8C p66 w0 m VPMASKMOVD =Vx,Hx,Mx
8C p66 w1 m VPMASKMOVQ =Vx,Hx,Mx
8E p66 w0 m VPMASKMOVD =Mx,Hx,Vx
8E p66 w1 m VPMASKMOVQ =Mx,Hx,Vx
90 p66 w0 m VPGATHERDD +Vx,Gvx,+Hx
90 p66 w1 m VPGATHERDQ +Vx,Gvh,+Hx
91 p66 w0 m VPGATHERQD +Vh,Gvx,+Hh
91 p66 w1 m VPGATHERQQ +Vx,Gvx,+Hx
92 p66 w0 m VGATHERDPS +Vx,Gvx,+Hx
92 p66 w1 m VGATHERDPD +Vx,Gvh,+Hx
93 p66 w0 m VGATHERQPS +Vh,Gvx,+Hh
93 p66 w1 m VGATHERQPD +Vx,Gvx,+Hx
F2 np l0 ANDN =Gy,By,Ey
F3/1 np l0 BLSR =By,Ey
F3/2 np l0 BLSMSK =By,Ey
F3/3 np l0 BLSI =By,Ey
F5 np l0 BZHI =Gy,Ey,By
F5 pf3 l0 PEXT =Gy,By,Ey
F5 pf2 l0 PDEP =Gy,By,Ey
F6 pf2 l0 MULX =Gy,=By,Ey
F7 np l0 BEXTR =Gy,Ey,By
F7 p66 l0 SHLX =Gy,Ey,By
F7 pf3 l0 SARX =Gy,Ey,By
F7 pf2 l0 SHRX =Gy,Ey,By
"""

VEX_3A = r"""
00 p66 w1 l1 VPERMQ =Vx,Wx,Ib
01 p66 w1 l1 VPERMPD =Vx,Wx,Ib
02 p66 w0 VPBLENDD =Vx,Hx,Wx,Ib
04 p66 w0 VPERMILPS =Vx,Wx,Ib
05 p66 w0 VPERMILPD =Vx,Wx,Ib
06 p66 w0 l1 VPERM2F128 =Vx,Hx,Wx,Ib
18 p66 w0 l1 VINSERTF128 =Vx,Hx,Wdq,Ib
19 p66 w0 l1 VEXTRACTF128 =Wdq,Vx,Ib
1D p66 w0 VCVTPS2PH =Wh,Vx,Ib
38 p66 w0 l1 VINSERTI128 =Vx,Hx,Wdq,Ib
39 p66 w0 l1 VEXTRACTI128 =Wdq,Vx,Ib
46 p66 w0 l1 VPERM2I128 =Vx,Hx,Wx,Ib
4A p66 w0 VBLENDVPS =Vx,Hx,Wx,Lx
4B p66 w0 VBLENDVPD =Vx,Hx,Wx,Lx
4C p66 w0 VPBLENDVB =Vx,Hx,Wx,Lx
F0 pf2 l0 RORX =Gy,Ey,Ib
30 p66 w0 l0 r KSHIFTRB =Kr,Km,Ib
30 p66 w1 l0 r KSHIFTRW =Kr,Km,Ib
31 p66 w0 l0 r KSHIFTRD =Kr,Km,Ib
31 p66 w1 l0 r KSHIFTRQ =Kr,Km,Ib
32 p66 w0 l0 r KSHIFTLB =Kr,Km,Ib
32 p66 w1 l0 r KSHIFTLW =Kr,Km,Ib
33 p66 w0 l0 r KSHIFTLD =Kr,Km,Ib
33 p66 w1 l0 r KSHIFTLQ =Kr,Km,Ib
"""

def fma_gen():
    out = []
    # 96-9F, A6-AF, B6-BF: FMADDSUB, FMSUBADD, FMADD, FMSUB, FNMADD, FNMSUB
    names = {6: 'FMADDSUB', 7: 'FMSUBADD', 8: 'FMADD', 0xA: 'FMSUB',
             0xC: 'FNMADD', 0xE: 'FNMSUB'}
    for hi, order in [(0x90, '132'), (0xA0, '213'), (0xB0, '231')]:
        for lo, n in names.items():
            out.append('%02X p66 w0 V%s%sPS +Vx,Hx,Wx' % (hi + lo, n, order))
            out.append('%02X p66 w1 V%s%sPD +Vx,Hx,Wx' % (hi + lo, n, order))
            if lo >= 8:
                out.append('%02X p66 w0 V%s%sSS +Vdq,Hdq,Wd' %
                           (hi + lo + 1, n, order))
                out.append('%02X p66 w1 V%s%sSD +Vdq,Hdq,Wq' %
                           (hi + lo + 1, n, order))
    return out

# --------------------------------------------------------------------------
# EVEX (AVX-512) forms: [E 0F], [E 38], [E 3A].  Same line syntax, plus
# selectors el1 el2 el12 (EVEX.L'L must be 1, 2, or 1 or 2: 256/512-bit only
# forms) and these flags after the operands (SDM Vol. 2A 2.6):
#   tuple type for disp8*N (2.6.5, tables 2-34/2-35): fv hv (full/half
#   vector, with broadcast N is the element), fvm hvm qvm ovm (N = VL, VL/2,
#   VL/4, VL/8), t1s1 t1s2 t1s4 t1s8 (scalar: N = element), n16 n32 (T2/T4/
#   T8/M128: fixed N), dup (MOVDDUP: 8 at 128 bits, else VL)
#   bc       embedded broadcast with a memory operand (element 4 << W)
#   bc4      the same, element 4 bytes whatever W
#   er sae   EVEX.b in the register form: static rounding / SAE (table 2-36)
#   nok      no masking (EVEX.aaa must be 0);  noz  no zeroing (EVEX.z 0)
#   kreq     a mask other than k0 is required (gathers, scatters)
EVEX_FLAGS = ['fv', 'hv', 'fvm', 'hvm', 'qvm', 'ovm', 't1s1', 't1s2', 't1s4',
              't1s8', 'n16', 'n32', 'dup', 'bc', 'bc4', 'er', 'sae', 'nok',
              'noz', 'kreq']
# the tuple code in the leaf (x86_decode.c evex_n()): 0-3 N = VL >> code,
# 8-14 N = 1 << (code - 8), 16 MOVDDUP
EVEX_TUPLE = {'fv': 0, 'fvm': 0, 'hv': 1, 'hvm': 1, 'qvm': 2, 'ovm': 3,
              't1s1': 8, 't1s2': 9, 't1s4': 10, 't1s8': 11, 'n16': 12,
              'n32': 13, 'dup': 16}

def fp_forms(opcs, pfxs, m, p_ops, s_ops, rnd):
    """The PS, PD, SS, SD forms (W0, W1, W0, W1) of an FP operation: packed
    full vector with broadcast, scalar T1S; s_ops has %s for d/q."""
    return ['%02X %s w0 %sPS %s fv bc %s' % (opcs[0], pfxs[0], m, p_ops, rnd),
            '%02X %s w1 %sPD %s fv bc %s' % (opcs[1], pfxs[1], m, p_ops, rnd),
            '%02X %s w0 %sSS %s t1s4 %s' % (opcs[2], pfxs[2], m, s_ops % 'd',
                                           rnd),
            '%02X %s w1 %sSD %s t1s8 %s' % (opcs[3], pfxs[3], m, s_ops % 'q',
                                           rnd)]

SSE_PFX = ('np', 'p66', 'pf3', 'pf2')
P66 = ('p66',) * 4

def evex_0f_gen():
    out = []
    # FP arithmetic: packed (fv, broadcast) and scalar (t1s)
    for opc, m, rnd in [(0x58, 'ADD', 'er'), (0x59, 'MUL', 'er'),
                        (0x5C, 'SUB', 'er'), (0x5D, 'MIN', 'sae'),
                        (0x5E, 'DIV', 'er'), (0x5F, 'MAX', 'sae')]:
        out += fp_forms((opc,) * 4, SSE_PFX, 'V' + m, '=Vx,Hx,Wx',
                        '=Vdq,Hdq,W%s', rnd)
    out += fp_forms((0x51,) * 4, SSE_PFX, 'VSQRT', '=Vx,Wx', '=Vdq,Hdq,W%s',
                    'er')
    # FP logic (AVX512DQ) and unpacks, shuffles
    for opc, m in [(0x54, 'AND'), (0x55, 'ANDN'), (0x56, 'OR'),
                   (0x57, 'XOR'), (0x14, 'UNPCKL'), (0x15, 'UNPCKH')]:
        out += ['%02X np w0 V%sPS =Vx,Hx,Wx fv bc' % (opc, m),
                '%02X p66 w1 V%sPD =Vx,Hx,Wx fv bc' % (opc, m)]
    out += ['C6 np w0 VSHUFPS =Vx,Hx,Wx,Ib fv bc',
            'C6 p66 w1 VSHUFPD =Vx,Hx,Wx,Ib fv bc',
            'C2 np w0 VCMPPS =Kr,Hx,Wx,Ib fv bc sae noz',
            'C2 p66 w1 VCMPPD =Kr,Hx,Wx,Ib fv bc sae noz',
            'C2 pf3 w0 VCMPSS =Kr,Hdq,Wd,Ib t1s4 sae noz',
            'C2 pf2 w1 VCMPSD =Kr,Hdq,Wq,Ib t1s8 sae noz',
            '2E np w0 VUCOMISS Vdq,Wd t1s4 sae nok',
            '2E p66 w1 VUCOMISD Vdq,Wq t1s8 sae nok',
            '2F np w0 VCOMISS Vdq,Wd t1s4 sae nok',
            '2F p66 w1 VCOMISD Vdq,Wq t1s8 sae nok']
    # moves
    for opc, m, pfx, w in [(0x10, 'VMOVUPS', 'np', 0), (0x10, 'VMOVUPD',
                                                      'p66', 1),
                           (0x28, 'VMOVAPS', 'np', 0), (0x28, 'VMOVAPD',
                                                      'p66', 1),
                           (0x6F, 'VMOVDQA32', 'p66', 0),
                           (0x6F, 'VMOVDQA64', 'p66', 1),
                           (0x6F, 'VMOVDQU32', 'pf3', 0),
                           (0x6F, 'VMOVDQU64', 'pf3', 1),
                           (0x6F, 'VMOVDQU8', 'pf2', 0),
                           (0x6F, 'VMOVDQU16', 'pf2', 1)]:
        st = opc + 1 if opc != 0x6F else 0x7F
        out += ['%02X %s w%d %s =Vx,Wx fvm' % (opc, pfx, w, m),
                '%02X %s w%d %s =Wx,Vx fvm' % (st, pfx, w, m)]
    out += ['10 pf3 w0 m VMOVSS =Vdq,Md t1s4',
            '10 pf3 w0 r VMOVSS =Vdq,Hdq,Udq',
            '11 pf3 w0 m VMOVSS =Md,Vdq t1s4',
            '11 pf3 w0 r VMOVSS =Udq,Hdq,Vdq',
            '10 pf2 w1 m VMOVSD =Vdq,Mq t1s8',
            '10 pf2 w1 r VMOVSD =Vdq,Hdq,Udq',
            '11 pf2 w1 m VMOVSD =Mq,Vdq t1s8',
            '11 pf2 w1 r VMOVSD =Udq,Hdq,Vdq',
            '2B np w0 m VMOVNTPS =Mx,Vx fvm nok',
            '2B p66 w1 m VMOVNTPD =Mx,Vx fvm nok',
            'E7 p66 w0 m VMOVNTDQ =Mx,Vx fvm nok',
            '12 pf2 w1 VMOVDDUP =Vx,Wx dup',
            '12 pf3 w0 VMOVSLDUP =Vx,Wx fvm',
            '16 pf3 w0 VMOVSHDUP =Vx,Wx fvm']
    # conversions
    out += ['5A np w0 VCVTPS2PD =Vx,Wh hv bc sae',
            '5A p66 w1 VCVTPD2PS =Vh,Wx fv bc er',
            '5A pf3 w0 VCVTSS2SD =Vdq,Hdq,Wd t1s4 sae',
            '5A pf2 w1 VCVTSD2SS =Vdq,Hdq,Wq t1s8 er',
            '5B np w0 VCVTDQ2PS =Vx,Wx fv bc er',
            '5B p66 w0 VCVTPS2DQ =Vx,Wx fv bc er',
            '5B pf3 w0 VCVTTPS2DQ =Vx,Wx fv bc sae',
            'E6 pf3 w0 VCVTDQ2PD =Vx,Wh hv bc']
    # integer: dword/qword with broadcast, byte/word without (AVX512BW)
    for opc, m in [(0xFE, 'VPADDD'), (0xFA, 'VPSUBD'), (0xDB, 'VPANDD'),
                   (0xDF, 'VPANDND'), (0xEB, 'VPORD'), (0xEF, 'VPXORD'),
                   (0x62, 'VPUNPCKLDQ'), (0x6A, 'VPUNPCKHDQ')]:
        out.append('%02X p66 w0 %s =Vx,Hx,Wx fv bc' % (opc, m))
    for opc, m in [(0xD4, 'VPADDQ'), (0xFB, 'VPSUBQ'), (0xDB, 'VPANDQ'),
                   (0xDF, 'VPANDNQ'), (0xEB, 'VPORQ'), (0xEF, 'VPXORQ'),
                   (0xF4, 'VPMULUDQ'), (0x6C, 'VPUNPCKLQDQ'),
                   (0x6D, 'VPUNPCKHQDQ')]:
        out.append('%02X p66 w1 %s =Vx,Hx,Wx fv bc' % (opc, m))
    for opc, m in [(0xFC, 'VPADDB'), (0xFD, 'VPADDW'), (0xF8, 'VPSUBB'),
                   (0xF9, 'VPSUBW'), (0xEC, 'VPADDSB'), (0xED, 'VPADDSW'),
                   (0xDC, 'VPADDUSB'), (0xDD, 'VPADDUSW'), (0xE8, 'VPSUBSB'),
                   (0xE9, 'VPSUBSW'), (0xD8, 'VPSUBUSB'), (0xD9, 'VPSUBUSW'),
                   (0xDA, 'VPMINUB'), (0xDE, 'VPMAXUB'), (0xEA, 'VPMINSW'),
                   (0xEE, 'VPMAXSW'), (0xE0, 'VPAVGB'), (0xE3, 'VPAVGW'),
                   (0xD5, 'VPMULLW'), (0xE5, 'VPMULHW'), (0xE4, 'VPMULHUW'),
                   (0xF5, 'VPMADDWD'), (0x60, 'VPUNPCKLBW'),
                   (0x61, 'VPUNPCKLWD'), (0x68, 'VPUNPCKHBW'),
                   (0x69, 'VPUNPCKHWD'), (0x63, 'VPACKSSWB'),
                   (0x67, 'VPACKUSWB')]:
        out.append('%02X p66 %s =Vx,Hx,Wx fvm' % (opc, m))
    out += ['6B p66 w0 VPACKSSDW =Vx,Hx,Wx fv bc',
            'F6 p66 VPSADBW =Vx,Hx,Wx fvm nok',
            '74 p66 VPCMPEQB =Kr,Hx,Wx fvm noz',
            '75 p66 VPCMPEQW =Kr,Hx,Wx fvm noz',
            '76 p66 w0 VPCMPEQD =Kr,Hx,Wx fv bc noz',
            '64 p66 VPCMPGTB =Kr,Hx,Wx fvm noz',
            '65 p66 VPCMPGTW =Kr,Hx,Wx fvm noz',
            '66 p66 w0 VPCMPGTD =Kr,Hx,Wx fv bc noz',
            '70 p66 w0 VPSHUFD =Vx,Wx,Ib fv bc',
            '70 pf3 VPSHUFHW =Vx,Wx,Ib fvm',
            '70 pf2 VPSHUFLW =Vx,Wx,Ib fvm']
    # shifts by xmm count (M128) and by immediate (VEX.vvvv destination)
    for opc, m, w in [(0xD1, 'VPSRLW', ''), (0xD2, 'VPSRLD', 'w0'),
                      (0xD3, 'VPSRLQ', 'w1'), (0xE1, 'VPSRAW', ''),
                      (0xE2, 'VPSRAD', 'w0'), (0xF1, 'VPSLLW', ''),
                      (0xF2, 'VPSLLD', 'w0'), (0xF3, 'VPSLLQ', 'w1')]:
        out.append('%02X p66 %s %s =Vx,Hx,Wdq n16' % (opc, w, m))
    out.append('E2 p66 w1 VPSRAQ =Vx,Hx,Wdq n16')
    for opc, reg, m, w, t in [(0x71, 2, 'VPSRLW', '', 'fvm'),
                              (0x71, 4, 'VPSRAW', '', 'fvm'),
                              (0x71, 6, 'VPSLLW', '', 'fvm'),
                              (0x72, 0, 'VPRORD', 'w0', 'fv bc'),
                              (0x72, 0, 'VPRORQ', 'w1', 'fv bc'),
                              (0x72, 1, 'VPROLD', 'w0', 'fv bc'),
                              (0x72, 1, 'VPROLQ', 'w1', 'fv bc'),
                              (0x72, 2, 'VPSRLD', 'w0', 'fv bc'),
                              (0x72, 4, 'VPSRAD', 'w0', 'fv bc'),
                              (0x72, 4, 'VPSRAQ', 'w1', 'fv bc'),
                              (0x72, 6, 'VPSLLD', 'w0', 'fv bc'),
                              (0x73, 2, 'VPSRLQ', 'w1', 'fv bc'),
                              (0x73, 3, 'VPSRLDQ', '', 'fvm nok'),
                              (0x73, 6, 'VPSLLQ', 'w1', 'fv bc'),
                              (0x73, 7, 'VPSLLDQ', '', 'fvm nok')]:
        out.append('%02X/%d p66 %s %s =Hx,Wx,Ib %s' % (opc, reg, w, m, t))
    # movlps/movhps family (128 bits, no masking)
    out += ['12 np w0 m el0 VMOVLPS =Vdq,Hdq,Mq t1s8 nok',
            '12 np w0 r el0 VMOVHLPS =Vdq,Hdq,Udq nok',
            '13 np w0 m el0 VMOVLPS =Mq,Vdq t1s8 nok',
            '12 p66 w1 m el0 VMOVLPD =Vdq,Hdq,Mq t1s8 nok',
            '13 p66 w1 m el0 VMOVLPD =Mq,Vdq t1s8 nok',
            '16 np w0 m el0 VMOVHPS =Vdq,Hdq,Mq t1s8 nok',
            '16 np w0 r el0 VMOVLHPS =Vdq,Hdq,Udq nok',
            '17 np w0 m el0 VMOVHPS =Mq,Vdq t1s8 nok',
            '16 p66 w1 m el0 VMOVHPD =Vdq,Hdq,Mq t1s8 nok',
            '17 p66 w1 m el0 VMOVHPD =Mq,Vdq t1s8 nok']
    # scalar <-> GPR conversions (EVEX.W as REX.W: ignored outside 64-bit
    # mode, as for the VEX forms); T1F tuple: N is the source size
    for opc, m, rnd in [(0x2C, 'VCVTT%s2SI', 'sae'), (0x2D, 'VCVT%s2SI', 'er'),
                        (0x78, 'VCVTT%s2USI', 'sae'),
                        (0x79, 'VCVT%s2USI', 'er')]:
        for pfx, t, src, tt in [('pf3', 'SS', 'Wd', 't1s4'),
                                ('pf2', 'SD', 'Wq', 't1s8')]:
            out += ['%02X %s wx0 %s =Gd,%s %s %s nok' % (opc, pfx, m % t, src,
                                                        tt, rnd),
                    '%02X %s wx1 %s =Gq,%s %s %s nok' % (opc, pfx, m % t, src,
                                                        tt, rnd)]
    for opc, m in [(0x2A, 'VCVTSI2'), (0x7B, 'VCVTUSI2')]:
        out += ['%02X pf3 wx0 %sSS =Vdq,Hdq,Ed t1s4 er nok' % (opc, m),
                '%02X pf3 wx1 %sSS =Vdq,Hdq,Eq t1s8 er nok' % (opc, m),
                '%02X pf2 wx0 %sSD =Vdq,Hdq,Ed t1s4 nok' % (opc, m),
                '%02X pf2 wx1 %sSD =Vdq,Hdq,Eq t1s8 er nok' % (opc, m)]
    # packed conversions of AVX512F/DQ (unsigned, quadword)
    out += ['78 np w0 VCVTTPS2UDQ =Vx,Wx fv bc sae',
            '78 np w1 VCVTTPD2UDQ =Vh,Wx fv bc sae',
            '78 p66 w0 VCVTTPS2UQQ =Vx,Wh hv bc sae',
            '78 p66 w1 VCVTTPD2UQQ =Vx,Wx fv bc sae',
            '79 np w0 VCVTPS2UDQ =Vx,Wx fv bc er',
            '79 np w1 VCVTPD2UDQ =Vh,Wx fv bc er',
            '79 p66 w0 VCVTPS2UQQ =Vx,Wh hv bc er',
            '79 p66 w1 VCVTPD2UQQ =Vx,Wx fv bc er',
            '7A p66 w0 VCVTTPS2QQ =Vx,Wh hv bc sae',
            '7A p66 w1 VCVTTPD2QQ =Vx,Wx fv bc sae',
            '7A pf3 w0 VCVTUDQ2PD =Vx,Wh hv bc',
            '7A pf3 w1 VCVTUQQ2PD =Vx,Wx fv bc er',
            '7A pf2 w0 VCVTUDQ2PS =Vx,Wx fv bc er',
            '7A pf2 w1 VCVTUQQ2PS =Vh,Wx fv bc er',
            '7B p66 w0 VCVTPS2QQ =Vx,Wh hv bc er',
            '7B p66 w1 VCVTPD2QQ =Vx,Wx fv bc er',
            '5B np w1 VCVTQQ2PS =Vh,Wx fv bc er',
            'E6 p66 w1 VCVTTPD2DQ =Vh,Wx fv bc sae',
            'E6 pf3 w1 VCVTQQ2PD =Vx,Wx fv bc er',
            'E6 pf2 w1 VCVTPD2DQ =Vh,Wx fv bc er']
    # word insert/extract (AVX512BW, 128 bits, W ignored)
    out += ['C4 p66 m el0 VPINSRW =Vdq,Hdq,Mw,Ib t1s2 nok',
            'C4 p66 r el0 VPINSRW =Vdq,Hdq,Rd,Ib nok',
            'C5 p66 r el0 VPEXTRW =Gd,Udq,Ib nok']
    # GPR <-> xmm (L'L must be 0)
    out += ['6E p66 w0 el0 VMOVD =Vdq,Ed t1s4 nok',
            '7E p66 w0 el0 VMOVD =Ed,Vdq t1s4 nok',
            '6E p66 w1 el0 VMOVQ =Vdq,Eq t1s8 nok',
            '7E p66 w1 el0 VMOVQ =Eq,Vdq t1s8 nok',
            '7E pf3 w1 el0 VMOVQ =Vdq,Wq t1s8 nok',
            'D6 p66 w1 el0 VMOVQ =Wq,Vdq t1s8 nok']
    return out

def evex_38_gen():
    out = []
    for opc, m in [(0x00, 'VPSHUFB'), (0x04, 'VPMADDUBSW'),
                   (0x0B, 'VPMULHRSW'), (0x38, 'VPMINSB'), (0x3A, 'VPMINUW'),
                   (0x3C, 'VPMAXSB'), (0x3E, 'VPMAXUW')]:
        out.append('%02X p66 %s =Vx,Hx,Wx fvm' % (opc, m))
    out += ['1C p66 VPABSB =Vx,Wx fvm', '1D p66 VPABSW =Vx,Wx fvm',
            '1E p66 w0 VPABSD =Vx,Wx fv bc', '1F p66 w1 VPABSQ =Vx,Wx fv bc']
    for opc, m in [(0x39, 'VPMINS'), (0x3B, 'VPMINU'), (0x3D, 'VPMAXS'),
                   (0x3F, 'VPMAXU'), (0x40, 'VPMULL'), (0x45, 'VPSRLV'),
                   (0x46, 'VPSRAV'), (0x47, 'VPSLLV'), (0x64, 'VPBLENDM'),
                   (0x76, 'VPERMI2'), (0x7E, 'VPERMT2'), (0x0C, None)]:
        if m is None:
            continue
        acc = '+' if m in ('VPERMI2', 'VPERMT2') else '='
        out += ['%02X p66 w0 %sD %sVx,Hx,Wx fv bc' % (opc, m, acc),
                '%02X p66 w1 %sQ %sVx,Hx,Wx fv bc' % (opc, m, acc)]
    out += ['65 p66 w0 VBLENDMPS =Vx,Hx,Wx fv bc',
            '65 p66 w1 VBLENDMPD =Vx,Hx,Wx fv bc',
            '66 p66 w0 VPBLENDMB =Vx,Hx,Wx fvm',
            '66 p66 w1 VPBLENDMW =Vx,Hx,Wx fvm',
            '36 p66 w0 el12 VPERMD =Vx,Hx,Wx fv bc',
            '36 p66 w1 el12 VPERMQ =Vx,Hx,Wx fv bc',
            '16 p66 w0 el12 VPERMPS =Vx,Hx,Wx fv bc',
            '16 p66 w1 el12 VPERMPD =Vx,Hx,Wx fv bc',
            '8D p66 w0 VPERMB =Vx,Hx,Wx fvm',
            '8D p66 w1 VPERMW =Vx,Hx,Wx fvm',
            '29 p66 w1 VPCMPEQQ =Kr,Hx,Wx fv bc noz',
            '37 p66 w1 VPCMPGTQ =Kr,Hx,Wx fv bc noz',
            '26 p66 w0 VPTESTMB =Kr,Hx,Wx fvm noz',
            '26 p66 w1 VPTESTMW =Kr,Hx,Wx fvm noz',
            '26 pf3 w0 VPTESTNMB =Kr,Hx,Wx fvm noz',
            '26 pf3 w1 VPTESTNMW =Kr,Hx,Wx fvm noz',
            '27 p66 w0 VPTESTMD =Kr,Hx,Wx fv bc noz',
            '27 p66 w1 VPTESTMQ =Kr,Hx,Wx fv bc noz',
            '27 pf3 w0 VPTESTNMD =Kr,Hx,Wx fv bc noz',
            '27 pf3 w1 VPTESTNMQ =Kr,Hx,Wx fv bc noz',
            '28 pf3 w0 r VPMOVM2B =Vx,Km nok',
            '28 pf3 w1 r VPMOVM2W =Vx,Km nok',
            '38 pf3 w0 r VPMOVM2D =Vx,Km nok',
            '38 pf3 w1 r VPMOVM2Q =Vx,Km nok',
            '29 pf3 w0 r VPMOVB2M =Kr,Ux nok',
            '29 pf3 w1 r VPMOVW2M =Kr,Ux nok',
            '39 pf3 w0 r VPMOVD2M =Kr,Ux nok',
            '39 pf3 w1 r VPMOVQ2M =Kr,Ux nok',
            '18 p66 w0 VBROADCASTSS =Vx,Wd t1s4',
            '19 p66 w1 el12 VBROADCASTSD =Vx,Wq t1s8',
            '58 p66 w0 VPBROADCASTD =Vx,Wd t1s4',
            '59 p66 w1 VPBROADCASTQ =Vx,Wq t1s8',
            '78 p66 w0 VPBROADCASTB =Vx,Wb t1s1',
            '79 p66 w0 VPBROADCASTW =Vx,Ww t1s2',
            '7A p66 w0 r VPBROADCASTB =Vx,Rd',
            '7B p66 w0 r VPBROADCASTW =Vx,Rd',
            '7C p66 w0 r VPBROADCASTD =Vx,Rd',
            '7C p66 w1 r VPBROADCASTQ =Vx,Ry',
            '2A p66 w0 m VMOVNTDQA =Vx,Mx fvm nok',
            'C4 p66 w0 VPCONFLICTD =Vx,Wx fv bc',
            'C4 p66 w1 VPCONFLICTQ =Vx,Wx fv bc',
            '44 p66 w0 VPLZCNTD =Vx,Wx fv bc',
            '44 p66 w1 VPLZCNTQ =Vx,Wx fv bc']
    out += ['0C p66 w0 VPERMILPS =Vx,Hx,Wx fv bc',
            '0D p66 w1 VPERMILPD =Vx,Hx,Wx fv bc',
            '10 p66 w1 VPSRLVW =Vx,Hx,Wx fvm',
            '11 p66 w1 VPSRAVW =Vx,Hx,Wx fvm',
            '12 p66 w1 VPSLLVW =Vx,Hx,Wx fvm',
            '13 p66 w0 VCVTPH2PS =Vx,Wh hvm sae',
            '14 p66 w0 VPRORVD =Vx,Hx,Wx fv bc',
            '14 p66 w1 VPRORVQ =Vx,Hx,Wx fv bc',
            '15 p66 w0 VPROLVD =Vx,Hx,Wx fv bc',
            '15 p66 w1 VPROLVQ =Vx,Hx,Wx fv bc',
            '28 p66 w1 VPMULDQ =Vx,Hx,Wx fv bc',
            '2B p66 w0 VPACKUSDW =Vx,Hx,Wx fv bc',
            '2A pf3 w1 r VPBROADCASTMB2Q =Vx,Km nok',
            '3A pf3 w0 r VPBROADCASTMW2D =Vx,Km nok',
            # tuple T2/T4/T8 broadcasts of 2, 4, 8 elements
            '19 p66 w0 el12 VBROADCASTF32X2 =Vx,Wq t1s8',
            '59 p66 w0 VBROADCASTI32X2 =Vx,Wq t1s8',
            '1A p66 w0 m el12 VBROADCASTF32X4 =Vx,Mdq n16',
            '1A p66 w1 m el12 VBROADCASTF64X2 =Vx,Mdq n16',
            '5A p66 w0 m el12 VBROADCASTI32X4 =Vx,Mdq n16',
            '5A p66 w1 m el12 VBROADCASTI64X2 =Vx,Mdq n16',
            '1B p66 w0 m el2 VBROADCASTF32X8 =Vx,Mqq n32',
            '1B p66 w1 m el2 VBROADCASTF64X4 =Vx,Mqq n32',
            '5B p66 w0 m el2 VBROADCASTI32X8 =Vx,Mqq n32',
            '5B p66 w1 m el2 VBROADCASTI64X4 =Vx,Mqq n32',
            # AVX512_VNNI, AVX512_BF16, AVX512_4VNNIW, AVX512_4FMAPS (the
            # 4-register block zmm2+3 is H; the memory operand m128, N 16)
            '50 p66 w0 VPDPBUSD +Vx,Hx,Wx fv bc',
            '51 p66 w0 VPDPBUSDS +Vx,Hx,Wx fv bc',
            '52 p66 w0 VPDPWSSD +Vx,Hx,Wx fv bc',
            '53 p66 w0 VPDPWSSDS +Vx,Hx,Wx fv bc',
            '52 pf3 w0 VDPBF16PS +Vx,Hx,Wx fv bc',
            '72 pf3 w0 VCVTNEPS2BF16 =Vh,Wx fv bc',
            '72 pf2 w0 VCVTNE2PS2BF16 =Vx,Hx,Wx fv bc',
            '52 pf2 w0 m el2 VP4DPWSSD +Vx,Hx,Mdq n16',
            '53 pf2 w0 m el2 VP4DPWSSDS +Vx,Hx,Mdq n16',
            '9A pf2 w0 m el2 V4FMADDPS +Vx,Hx,Mdq n16',
            'AA pf2 w0 m el2 V4FNMADDPS +Vx,Hx,Mdq n16',
            '9B pf2 w0 m V4FMADDSS +Vdq,Hdq,Mdq n16',
            'AB pf2 w0 m V4FNMADDSS +Vdq,Hdq,Mdq n16',
            # AVX512_BITALG, AVX512_VPOPCNTDQ
            '54 p66 w0 VPOPCNTB =Vx,Wx fvm',
            '54 p66 w1 VPOPCNTW =Vx,Wx fvm',
            '55 p66 w0 VPOPCNTD =Vx,Wx fv bc',
            '55 p66 w1 VPOPCNTQ =Vx,Wx fv bc',
            '8F p66 w0 VPSHUFBITQMB =Kr,Hx,Wx fvm noz',
            # expand / compress: tuple T1S (N = the element)
            '62 p66 w0 VPEXPANDB =Vx,Wx t1s1',
            '62 p66 w1 VPEXPANDW =Vx,Wx t1s2',
            '63 p66 w0 VPCOMPRESSB =Wx,Vx t1s1',
            '63 p66 w1 VPCOMPRESSW =Wx,Vx t1s2',
            '88 p66 w0 VEXPANDPS =Vx,Wx t1s4',
            '88 p66 w1 VEXPANDPD =Vx,Wx t1s8',
            '89 p66 w0 VPEXPANDD =Vx,Wx t1s4',
            '89 p66 w1 VPEXPANDQ =Vx,Wx t1s8',
            '8A p66 w0 VCOMPRESSPS =Wx,Vx t1s4',
            '8A p66 w1 VCOMPRESSPD =Wx,Vx t1s8',
            '8B p66 w0 VPCOMPRESSD =Wx,Vx t1s4',
            '8B p66 w1 VPCOMPRESSQ =Wx,Vx t1s8',
            # AVX512_VP2INTERSECT: a pair of mask registers
            '68 pf2 w0 VP2INTERSECTD =Kr,Hx,Wx fv bc nok',
            '68 pf2 w1 VP2INTERSECTQ =Kr,Hx,Wx fv bc nok',
            # AVX512_VBMI2 variable shifts, VBMI, IFMA
            '70 p66 w1 VPSHLDVW +Vx,Hx,Wx fvm',
            '71 p66 w0 VPSHLDVD +Vx,Hx,Wx fv bc',
            '71 p66 w1 VPSHLDVQ +Vx,Hx,Wx fv bc',
            '72 p66 w1 VPSHRDVW +Vx,Hx,Wx fvm',
            '73 p66 w0 VPSHRDVD +Vx,Hx,Wx fv bc',
            '73 p66 w1 VPSHRDVQ +Vx,Hx,Wx fv bc',
            '75 p66 w0 VPERMI2B +Vx,Hx,Wx fvm',
            '75 p66 w1 VPERMI2W +Vx,Hx,Wx fvm',
            '77 p66 w0 VPERMI2PS +Vx,Hx,Wx fv bc',
            '77 p66 w1 VPERMI2PD +Vx,Hx,Wx fv bc',
            '7D p66 w0 VPERMT2B +Vx,Hx,Wx fvm',
            '7D p66 w1 VPERMT2W +Vx,Hx,Wx fvm',
            '7F p66 w0 VPERMT2PS +Vx,Hx,Wx fv bc',
            '7F p66 w1 VPERMT2PD +Vx,Hx,Wx fv bc',
            '83 p66 w1 VPMULTISHIFTQB =Vx,Hx,Wx fv bc',
            'B4 p66 w1 VPMADD52LUQ +Vx,Hx,Wx fv bc',
            'B5 p66 w1 VPMADD52HUQ +Vx,Hx,Wx fv bc',
            # AVX512ER (512 bits)
            'C8 p66 w0 el2 VEXP2PS =Vx,Wx fv bc sae',
            'C8 p66 w1 el2 VEXP2PD =Vx,Wx fv bc sae',
            'CA p66 w0 el2 VRCP28PS =Vx,Wx fv bc sae',
            'CA p66 w1 el2 VRCP28PD =Vx,Wx fv bc sae',
            'CB p66 w0 VRCP28SS =Vdq,Hdq,Wd t1s4 sae',
            'CB p66 w1 VRCP28SD =Vdq,Hdq,Wq t1s8 sae',
            'CC p66 w0 el2 VRSQRT28PS =Vx,Wx fv bc sae',
            'CC p66 w1 el2 VRSQRT28PD =Vx,Wx fv bc sae',
            'CD p66 w0 VRSQRT28SS =Vdq,Hdq,Wd t1s4 sae',
            'CD p66 w1 VRSQRT28SD =Vdq,Hdq,Wq t1s8 sae',
            # GFNI, VAES (no masking for VAES)
            'CF p66 w0 VGF2P8MULB =Vx,Hx,Wx fvm',
            'DC p66 VAESENC =Vx,Hx,Wx fvm nok',
            'DD p66 VAESENCLAST =Vx,Hx,Wx fvm nok',
            'DE p66 VAESDEC =Vx,Hx,Wx fvm nok',
            'DF p66 VAESDECLAST =Vx,Hx,Wx fvm nok']
    # VSCALEF, VGETEXP, VRCP14, VRSQRT14
    for opc, m, p_ops, rnd in [(0x2C, 'VSCALEF', '=Vx,Hx,Wx', 'er'),
                               (0x42, 'VGETEXP', '=Vx,Wx', 'sae'),
                               (0x4C, 'VRCP14', '=Vx,Wx', ''),
                               (0x4E, 'VRSQRT14', '=Vx,Wx', '')]:
        out += fp_forms((opc, opc, opc + 1, opc + 1), P66, m, p_ops,
                        '=Vdq,Hdq,W%s', rnd)
    # down-converts (memory destination VL/2, VL/4, VL/8; zeroing only
    # with a register destination)
    for base, k in [(0x10, 'US'), (0x20, 'S'), (0x30, '')]:
        for lo, m, dst, t in [(0, 'WB', 'Wh', 'hvm'), (1, 'DB', 'Wqr', 'qvm'),
                              (2, 'QB', 'We', 'ovm'), (3, 'DW', 'Wh', 'hvm'),
                              (4, 'QW', 'Wqr', 'qvm'), (5, 'QD', 'Wh', 'hvm')]:
            out.append('%02X pf3 w0 VPMOV%s%s =%s,Vx %s' % (base + lo, k, m,
                                                            dst, t))
    # gathers and scatters (VSIB, SDM 2.6.5 T1S; a mask other than k0,
    # no zeroing); the AVX512PF prefetches (512 bits)
    out += ['90 p66 w0 m VPGATHERDD +Vx,Gvx t1s4 kreq noz',
            '90 p66 w1 m VPGATHERDQ +Vx,Gvh t1s8 kreq noz',
            '91 p66 w0 m VPGATHERQD +Vh,Gvx t1s4 kreq noz',
            '91 p66 w1 m VPGATHERQQ +Vx,Gvx t1s8 kreq noz',
            '92 p66 w0 m VGATHERDPS +Vx,Gvx t1s4 kreq noz',
            '92 p66 w1 m VGATHERDPD +Vx,Gvh t1s8 kreq noz',
            '93 p66 w0 m VGATHERQPS +Vh,Gvx t1s4 kreq noz',
            '93 p66 w1 m VGATHERQPD +Vx,Gvx t1s8 kreq noz',
            'A0 p66 w0 m VPSCATTERDD =Gvx,Vx t1s4 kreq noz',
            'A0 p66 w1 m VPSCATTERDQ =Gvh,Vx t1s8 kreq noz',
            'A1 p66 w0 m VPSCATTERQD =Gvx,Vh t1s4 kreq noz',
            'A1 p66 w1 m VPSCATTERQQ =Gvx,Vx t1s8 kreq noz',
            'A2 p66 w0 m VSCATTERDPS =Gvx,Vx t1s4 kreq noz',
            'A2 p66 w1 m VSCATTERDPD =Gvh,Vx t1s8 kreq noz',
            'A3 p66 w0 m VSCATTERQPS =Gvx,Vh t1s4 kreq noz',
            'A3 p66 w1 m VSCATTERQPD =Gvx,Vx t1s8 kreq noz']
    for reg, m in [(1, 'VGATHERPF0'), (2, 'VGATHERPF1'), (5, 'VSCATTERPF0'),
                   (6, 'VSCATTERPF1')]:
        out += ['C6/%d p66 w0 m el2 %sDPS &Gvx t1s4 kreq noz' % (reg, m),
                'C6/%d p66 w1 m el2 %sDPD &Gvh t1s8 kreq noz' % (reg, m),
                'C7/%d p66 w0 m el2 %sQPS &Gvx t1s4 kreq noz' % (reg, m),
                'C7/%d p66 w1 m el2 %sQPD &Gvx t1s8 kreq noz' % (reg, m)]
    # sign/zero extensions: source VL/2, VL/4, VL/8
    for base, k in [(0x20, 'SX'), (0x30, 'ZX')]:
        for lo, m, src, t in [(0, 'BW', 'Wh', 'hvm'), (1, 'BD', 'Wqr', 'qvm'),
                              (2, 'BQ', 'We', 'ovm'), (3, 'WD', 'Wh', 'hvm'),
                              (4, 'WQ', 'Wqr', 'qvm')]:
            out.append('%02X p66 VPMOV%s%s =Vx,%s %s' % (base + lo, k, m,
                                                          src, t))
        out.append('%02X p66 w0 VPMOV%sDQ =Vx,Wh hvm' % (base + 5, k))
    # FMA: as the VEX forms, with broadcast and rounding
    names = {6: 'FMADDSUB', 7: 'FMSUBADD', 8: 'FMADD', 0xA: 'FMSUB',
             0xC: 'FNMADD', 0xE: 'FNMSUB'}
    for hi, order in [(0x90, '132'), (0xA0, '213'), (0xB0, '231')]:
        for lo, n in names.items():
            out.append('%02X p66 w0 V%s%sPS +Vx,Hx,Wx fv bc er' %
                       (hi + lo, n, order))
            out.append('%02X p66 w1 V%s%sPD +Vx,Hx,Wx fv bc er' %
                       (hi + lo, n, order))
            if lo >= 8:
                out.append('%02X p66 w0 V%s%sSS +Vdq,Hdq,Wd t1s4 er' %
                           (hi + lo + 1, n, order))
                out.append('%02X p66 w1 V%s%sSD +Vdq,Hdq,Wq t1s8 er' %
                           (hi + lo + 1, n, order))
    return out

def evex_3a_gen():
    out = ['25 p66 w0 VPTERNLOGD +Vx,Hx,Wx,Ib fv bc',
           '25 p66 w1 VPTERNLOGQ +Vx,Hx,Wx,Ib fv bc',
           '3E p66 w0 VPCMPUB =Kr,Hx,Wx,Ib fvm noz',
           '3E p66 w1 VPCMPUW =Kr,Hx,Wx,Ib fvm noz',
           '3F p66 w0 VPCMPB =Kr,Hx,Wx,Ib fvm noz',
           '3F p66 w1 VPCMPW =Kr,Hx,Wx,Ib fvm noz',
           '1E p66 w0 VPCMPUD =Kr,Hx,Wx,Ib fv bc noz',
           '1E p66 w1 VPCMPUQ =Kr,Hx,Wx,Ib fv bc noz',
           '1F p66 w0 VPCMPD =Kr,Hx,Wx,Ib fv bc noz',
           '1F p66 w1 VPCMPQ =Kr,Hx,Wx,Ib fv bc noz',
           '0F p66 VPALIGNR =Vx,Hx,Wx,Ib fvm',
           '03 p66 w0 VALIGND =Vx,Hx,Wx,Ib fv bc',
           '03 p66 w1 VALIGNQ =Vx,Hx,Wx,Ib fv bc',
           '00 p66 w1 el12 VPERMQ =Vx,Wx,Ib fv bc',
           '01 p66 w1 el12 VPERMPD =Vx,Wx,Ib fv bc',
           '04 p66 w0 VPERMILPS =Vx,Wx,Ib fv bc',
           '05 p66 w1 VPERMILPD =Vx,Wx,Ib fv bc',
           '18 p66 w0 el12 VINSERTF32X4 =Vx,Hx,Wdq,Ib n16',
           '38 p66 w0 el12 VINSERTI32X4 =Vx,Hx,Wdq,Ib n16',
           '19 p66 w0 el12 VEXTRACTF32X4 =Wdq,Vx,Ib n16',
           '39 p66 w0 el12 VEXTRACTI32X4 =Wdq,Vx,Ib n16',
           '1A p66 w1 el2 VINSERTF64X4 =Vx,Hx,Wqq,Ib n32',
           '3A p66 w1 el2 VINSERTI64X4 =Vx,Hx,Wqq,Ib n32',
           '1B p66 w1 el2 VEXTRACTF64X4 =Wqq,Vx,Ib n32',
           '3B p66 w1 el2 VEXTRACTI64X4 =Wqq,Vx,Ib n32',
           # AVX512DQ: the other element size of the same opcodes
           '18 p66 w1 el12 VINSERTF64X2 =Vx,Hx,Wdq,Ib n16',
           '38 p66 w1 el12 VINSERTI64X2 =Vx,Hx,Wdq,Ib n16',
           '19 p66 w1 el12 VEXTRACTF64X2 =Wdq,Vx,Ib n16',
           '39 p66 w1 el12 VEXTRACTI64X2 =Wdq,Vx,Ib n16',
           '1A p66 w0 el2 VINSERTF32X8 =Vx,Hx,Wqq,Ib n32',
           '3A p66 w0 el2 VINSERTI32X8 =Vx,Hx,Wqq,Ib n32',
           '1B p66 w0 el2 VEXTRACTF32X8 =Wqq,Vx,Ib n32',
           '3B p66 w0 el2 VEXTRACTI32X8 =Wqq,Vx,Ib n32']
    # VRNDSCALE, VGETMANT, VRANGE, VFIXUPIMM, VREDUCE, VFPCLASS
    for opc, m, acc, nds in [(0x08, 'VRNDSCALE', '=', False),
                             (0x26, 'VGETMANT', '=', False),
                             (0x50, 'VRANGE', '=', True),
                             (0x54, 'VFIXUPIMM', '+', True),
                             (0x56, 'VREDUCE', '=', False)]:
        h = 'Hx,' if nds else ''
        opcs = ((opc, opc, opc + 1, opc + 1) if opc != 0x08 else
                (0x08, 0x09, 0x0A, 0x0B))
        out += fp_forms(opcs, P66, m, '%sVx,%sWx,Ib' % (acc, h),
                        acc + 'Vdq,Hdq,W%s,Ib', 'sae')
    out += ['66 p66 w0 VFPCLASSPS =Kr,Wx,Ib fv bc noz',
            '66 p66 w1 VFPCLASSPD =Kr,Wx,Ib fv bc noz',
            '67 p66 w0 VFPCLASSSS =Kr,Wd,Ib t1s4 noz',
            '67 p66 w1 VFPCLASSSD =Kr,Wq,Ib t1s8 noz']
    # byte/word/dword/qword insert and extract (128 bits, no masking)
    out += ['14 p66 m el0 VPEXTRB =Mb,Vdq,Ib t1s1 nok',
            '14 p66 r el0 VPEXTRB =Rd,Vdq,Ib nok',
            '15 p66 m el0 VPEXTRW =Mw,Vdq,Ib t1s2 nok',
            '15 p66 r el0 VPEXTRW =Rd,Vdq,Ib nok',
            '16 p66 wx0 el0 VPEXTRD =Ed,Vdq,Ib t1s4 nok',
            '16 p66 wx1 el0 VPEXTRQ =Eq,Vdq,Ib t1s8 nok',
            '17 p66 el0 VEXTRACTPS =Ed,Vdq,Ib t1s4 nok',
            '20 p66 m el0 VPINSRB =Vdq,Hdq,Mb,Ib t1s1 nok',
            '20 p66 r el0 VPINSRB =Vdq,Hdq,Rd,Ib nok',
            '21 p66 w0 el0 VINSERTPS =Vdq,Hdq,Wd,Ib t1s4 nok',
            '22 p66 wx0 el0 VPINSRD =Vdq,Hdq,Ed,Ib t1s4 nok',
            '22 p66 wx1 el0 VPINSRQ =Vdq,Hdq,Eq,Ib t1s8 nok']
    # 128-bit lane shuffles, VCVTPS2PH, VDBPSADBW, VPCLMULQDQ,
    # VBMI2 shifts by immediate, GFNI affine
    out += ['23 p66 w0 el12 VSHUFF32X4 =Vx,Hx,Wx,Ib fv bc',
            '23 p66 w1 el12 VSHUFF64X2 =Vx,Hx,Wx,Ib fv bc',
            '43 p66 w0 el12 VSHUFI32X4 =Vx,Hx,Wx,Ib fv bc',
            '43 p66 w1 el12 VSHUFI64X2 =Vx,Hx,Wx,Ib fv bc',
            '1D p66 w0 VCVTPS2PH =Wh,Vx,Ib hvm sae',
            '42 p66 w0 VDBPSADBW =Vx,Hx,Wx,Ib fvm',
            '44 p66 VPCLMULQDQ =Vx,Hx,Wx,Ib fvm nok',
            '70 p66 w1 VPSHLDW =Vx,Hx,Wx,Ib fvm',
            '71 p66 w0 VPSHLDD =Vx,Hx,Wx,Ib fv bc',
            '71 p66 w1 VPSHLDQ =Vx,Hx,Wx,Ib fv bc',
            '72 p66 w1 VPSHRDW =Vx,Hx,Wx,Ib fvm',
            '73 p66 w0 VPSHRDD =Vx,Hx,Wx,Ib fv bc',
            '73 p66 w1 VPSHRDQ =Vx,Hx,Wx,Ib fv bc',
            'CE p66 w1 VGF2P8AFFINEQB =Vx,Hx,Wx,Ib fv bc',
            'CF p66 w1 VGF2P8AFFINEINVQB =Vx,Hx,Wx,Ib fv bc']
    return out

THREEDNOW = {
    0x0C: 'PI2FW', 0x0D: 'PI2FD', 0x1C: 'PF2IW', 0x1D: 'PF2ID',
    0x8A: 'PFNACC', 0x8E: 'PFPNACC', 0x90: 'PFCMPGE', 0x94: 'PFMIN',
    0x96: 'PFRCP', 0x97: 'PFRSQRT', 0x9A: 'PFSUB', 0x9E: 'PFADD',
    0xA0: 'PFCMPGT', 0xA4: 'PFMAX', 0xA6: 'PFRCPIT1', 0xA7: 'PFRSQIT1',
    0xAA: 'PFSUBR', 0xAE: 'PFACC', 0xB0: 'PFCMPEQ', 0xB4: 'PFMUL',
    0xB6: 'PFRCPIT2', 0xB7: 'PMULHRW', 0xBB: 'PSWAPD', 0xBF: 'PAVGUSB',
}

# --------------------------------------------------------------------------
# Operand specs.  Methods and sizes are numbered as in x86_decode.c.
METHODS = ['NONE', 'E', 'G', 'M', 'R', 'I', 'IS', 'J', 'O', 'A', 'S', 'C',
           'D', 'P', 'Q', 'N', 'V', 'W', 'U', 'H', 'L', 'Z', 'X', 'Y',
           'FIX', 'SEG', 'ST0', 'STI', 'ONE', 'KR', 'KM', 'KH', 'B', 'GVSIB',
           'IMPL']
SIZES = ['0', 'b', 'w', 'd', 'q', 't', 'dq', 'qq', 'v', 'z', 'y', 'p', 'a',
         's', 'x', 'h', 'qr', 'e', 'r', 'fx', 'xs', 'env', 'st', 'zo', 'dup']
FIXED = {
    'AL': (0, 'b'), 'CL': (1, 'b'), 'DX': (2, 'w'), 'AX': (0, 'w'),
    'rAX': (0, 'v'), 'eAX': (0, 'z'),
}
SEGS = {'ES': 0, 'CS': 1, 'SS': 2, 'DS': 3, 'FS': 4, 'GS': 5}
MODRM_METHODS = {'E', 'G', 'M', 'R', 'S', 'C', 'D', 'P', 'Q', 'N', 'V', 'W',
                 'U', 'KR', 'KM', 'STI', 'GVSIB'}

def parse_operand(tok):
    acc = 1
    if tok[0] in '+=&':
        acc = {'+': 3, '=': 2, '&': 0}[tok[0]]
        tok = tok[1:]
    if tok in FIXED:
        n, s = FIXED[tok]
        return ('FIX', s, acc, n)
    if tok in SEGS:
        return ('SEG', 'w', acc, SEGS[tok])
    if tok == 'ST0':
        return ('ST0', 't', acc, 0)
    if tok == 'STi':
        return ('STI', 't', acc, 0)
    if tok == '1':
        return ('ONE', 'b', acc, 1)
    if tok.startswith('Ibs'):
        return ('IS', 'b', acc, 0)
    if tok.startswith('Kr') or tok.startswith('Km') or tok.startswith('Kh'):
        m = {'Kr': 'KR', 'Km': 'KM', 'Kh': 'KH'}[tok[:2]]
        s = tok[2:] or 'q'
        return (m, s, acc, 0)
    if tok.startswith('Gvx') or tok.startswith('Gvh'):
        # VSIB memory operand: index xmm/ymm per the size letter
        return ('GVSIB', tok[2], acc, 0)
    m, s = tok[0], tok[1:] or '0'
    if m not in METHODS:
        raise ValueError('bad operand ' + tok)
    if s not in SIZES:
        raise ValueError('bad size ' + tok)
    return (m, s, acc, 0)

SEL_ORDER = ['mode', 'pfx', 'mod', 'reg', 'rm', 'w', 'wx', 'l', 'll']
# wx: VEX.W used as REX.W (the VEX forms of legacy w0/w1 lines: VMOVD/Q,
# VPEXTRD/Q, VPINSRD/Q): ignored outside 64-bit mode (SDM MOVD/MOVQ: "VEX.W1
# in non-64 bit is ignored, the instructions behaves as if the W0 version
# is used").  w: VEX.W as an opcode extension, in every mode.
KIND = {'leaf': 0, 'mode': 1, 'pfx': 2, 'mod': 3, 'reg': 4, 'rm': 5, 'w': 6,
        'l': 7, 'wx': 8, 'll': 9}
NVALS = {'mode': 2, 'pfx': 4, 'mod': 2, 'reg': 8, 'rm': 8, 'w': 2, 'l': 2,
         'wx': 2, 'll': 4}
FLAGS = ['lock', 'd64', 'f64', 'rep', 'repz', 'nop90', 'movseg', 'p66',
         'pf3', 'pf2', 'mem', 'vex', 'pfx_used', 'hasmodrm', 'ud']
LINE_FLAGS = {'lock', 'd64', 'f64', 'rep', 'repz', 'nop90', 'movseg', 'ud',
              'v', 'vn', 'vl0', 'vnl0', 'vs', 'vs2', 'vd'} | set(EVEX_FLAGS)

class Line:
    def __init__(self, space, mapname, text):
        self.text = text
        t = text.split()
        opc = t[0]
        self.reg = None
        if '/' in opc:
            opc, r = opc.split('/')
            self.reg = int(r)
        self.opc = int(opc, 16)
        self.space, self.map = space, mapname
        sel = {}
        if self.reg is not None:
            sel['reg'] = [self.reg]
        i = 1
        while i < len(t) and not t[i][0].isupper():
            s = t[i]
            if s == 'm':
                sel['mod'] = [0]
            elif s == 'r':
                sel['mod'] = [1]
            elif s.startswith('rm'):
                sel['rm'] = [int(s[2:])]
            elif s in ('np', 'p66', 'pf3', 'pf2'):
                sel['pfx'] = [['np', 'p66', 'pf3', 'pf2'].index(s)]
            elif s in ('w0', 'w1'):
                sel['w'] = [int(s[1])]
            elif s in ('wx0', 'wx1'):
                sel['wx'] = [int(s[2])]
            elif s in ('l0', 'l1'):
                sel['l'] = [int(s[1])]
            elif s in ('el0', 'el1', 'el2', 'el12'):
                sel['ll'] = [int(c) for c in s[2:]]
            elif s == 'i64':
                sel['mode'] = [0]
            elif s == 'o64':
                sel['mode'] = [1]
            elif s == 'nop90':
                self.nop90 = True
            else:
                raise ValueError('bad selector %s in %s' % (s, text))
            i += 1
        self.sel = sel
        self.mnem = t[i]
        i += 1
        self.ops = []
        if i < len(t) and t[i] not in LINE_FLAGS:
            self.ops = [parse_operand(o) for o in t[i].split(',')]
            i += 1
        self.flags = set(t[i:])
        if getattr(self, 'nop90', False):
            self.flags.add('nop90')
        for f in self.flags:
            if f not in LINE_FLAGS:
                raise ValueError('bad flag %s in %s' % (f, text))

    def modrm(self):
        return (any(o[0] in MODRM_METHODS for o in self.ops) or
                any(k in self.sel for k in ('mod', 'reg', 'rm')))

def vex_from(line):
    """The VEX form of a legacy SSE line flagged v/vn/vl0/vnl0/vs/vs2/vd."""
    f = line.flags & {'v', 'vn', 'vl0', 'vnl0', 'vs', 'vs2', 'vd'}
    if not f:
        return None
    f = f.pop()
    ops = list(line.ops)
    sel = dict(line.sel)
    if f in ('vl0', 'vnl0'):
        sel['l'] = [0]
    if 'w' in sel:
        sel['wx'] = sel.pop('w')
    if f in ('v', 'vl0'):
        # NDS: H after the destination, the destination becomes write-only
        d = ops[0]
        ops = [(d[0], d[1], 2, d[3]), ('H', d[1], 1, 0)] + ops[1:]
    elif f == 'vs':  # movss/movsd reg, cvtsi2ss: dst, H, src
        d = ops[0]
        ops = [(d[0], d[1], 2, d[3]), ('H', 'dq', 1, 0)] + ops[1:]
    elif f == 'vs2':  # movss store reg form: W, H, V
        d = ops[0]
        ops = [(d[0], d[1], 2, d[3]), ('H', 'dq', 1, 0)] + ops[1:]
    elif f == 'vd':  # shift by immediate: H is the destination
        s = ops[0]
        ops = [('H', s[1], 2, 0), (s[0], s[1], 1, s[3])] + ops[1:]
    elif f in ('vn', 'vnl0'):
        pass
    nl = Line.__new__(Line)
    nl.text = 'VEX of ' + line.text
    nl.opc, nl.reg = line.opc, line.reg
    nl.space, nl.map = 'V', line.map
    nl.sel = sel
    nl.mnem = 'V' + line.mnem
    nl.ops = ops
    nl.flags = set()
    return nl

def all_lines():
    lines = []
    def add(space, mapname, src):
        for text in src:
            text = text.strip()
            if text and not text.startswith('#'):
                lines.append(Line(space, mapname, text))
    add('L', '1', onebyte_gen() + ONEBYTE_REST.splitlines() + x87_gen())
    add('L', '0F', TWOBYTE.splitlines() + twobyte_gen() +
        SSE_0F.splitlines() + sse_0f_gen())
    add('L', '38', SSE_38.splitlines() + ssse3_gen())
    add('L', '3A', SSE_3A.splitlines())
    for l in list(lines):
        v = vex_from(l)
        if v:
            lines.append(v)
    add('V', '0F', VEX_0F.splitlines())
    add('V', '38', VEX_38.splitlines() + fma_gen())
    add('V', '3A', VEX_3A.splitlines())
    add('E', '0F', evex_0f_gen())
    add('E', '38', evex_38_gen())
    add('E', '3A', evex_3a_gen())
    return lines

# --------------------------------------------------------------------------
entries = []   # (kind, mnem, flags, idx, nops)
opsets = {}    # tuple of 4 spec indexes -> index
specs = {}     # spec tuple -> index
mnems = {}

def spec_index(s):
    key = (METHODS.index(s[0]), SIZES.index(s[1]), s[2], s[3])
    if key not in specs:
        specs[key] = len(specs) + 1
    return specs[key]

def opset_index(ops):
    t = tuple(spec_index(o) for o in ops) + (0,) * (4 - len(ops))
    if t not in opsets:
        opsets[t] = len(opsets)
    return opsets[t]

def mnem_id(m):
    if m not in mnems:
        mnems[m] = len(mnems)  # INVALID is 0
    return mnems[m]

leaf_cache = {}

def evex_bits(line):
    """The leaf flags of an EVEX form (x86_optab.h EVF_*)."""
    t = [f for f in line.flags if f in EVEX_TUPLE]
    if len(t) > 1:
        raise ValueError('two tuple types: ' + line.text)
    bits = EVEX_TUPLE[t[0]] if t else 0
    w = line.sel.get('w', [0])[0]
    if 'bc' in line.flags or 'bc4' in line.flags:
        bits |= 0x20
        if 'bc' in line.flags and w:
            bits |= 0x40
    for i, f in enumerate(['er', 'sae', 'nok', 'noz', 'kreq']):
        if f in line.flags:
            bits |= 0x80 << i
    return bits

def leaf(line):
    if line.space == 'E':
        key = (mnem_id(line.mnem), evex_bits(line), opset_index(line.ops),
               len(line.ops))
        if key not in leaf_cache:
            entries.append((0, key[0], key[1], key[2], key[3]))
            leaf_cache[key] = len(entries) - 1
        return leaf_cache[key]
    fl = set(line.flags) & set(FLAGS)
    p = line.sel.get('pfx')
    if p is not None and p[0] > 0:
        fl.add(['', 'p66', 'pf3', 'pf2'][p[0]])
    if line.sel.get('mod') == [0] or any(o[0] in ('M', 'GVSIB')
                                          for o in line.ops):
        fl.add('mem')
    bits = 0
    for f in fl:
        bits |= 1 << FLAGS.index(f)
    key = (mnem_id(line.mnem), bits, opset_index(line.ops), len(line.ops))
    if key not in leaf_cache:
        entries.append((0, key[0], bits, key[2], key[3]))
        leaf_cache[key] = len(entries) - 1
    return leaf_cache[key]

def build(lines, used):
    """Decision tree over the lines of one opcode; returns entry index."""
    if not lines:
        return 0
    for s in SEL_ORDER:
        if s in used:
            continue
        if any(s in l.sel for l in lines):
            n = NVALS[s]
            kids = []
            for v in range(n):
                spec = [l for l in lines if s in l.sel and v in l.sel[s]]
                wild = [l for l in lines if s not in l.sel]
                kids.append(spec + wild)
            base = len(entries)
            for v in range(n):
                entries.append(None)
            for v in range(n):
                e = build(kids[v], used | {s})
                entries[base + v] = ('link', e)
            entries.append((KIND[s], 0, 0, base, 0))
            return len(entries) - 1
    if len(lines) > 1:
        # the most specific form wins (F3 0F BC TZCNT over BSF)
        best = max(len(l.sel) for l in lines)
        top = [l for l in lines if len(l.sel) == best]
        if len(top) > 1:
            raise ValueError('ambiguous: ' + ' | '.join(l.text for l in top))
        lines = top
    return leaf(lines[0])

def main():
    lines = all_lines()
    entries.append((0, 0, 0, 0, 0))  # 0: invalid
    mnem_id('INVALID')
    # Mnemonic ids are stable: the order of the checked-in list first (ids
    # may be stored, in traces), new mnemonics appended after it.
    try:
        prev = open(os.path.join(OUT_DIR, 'x86_optab_mnem.inc')).read()
        for name in re.findall(r'X86_MNEM_X\((\w+)\)', prev):
            mnem_id(name)
    except OSError:
        pass
    roots = {}
    spaces = [('L', '1'), ('L', '0F'), ('L', '38'), ('L', '3A'),
              ('V', '0F'), ('V', '38'), ('V', '3A'),
              ('E', '0F'), ('E', '38'), ('E', '3A')]
    for sp in spaces:
        byop = {}
        for l in lines:
            if (l.space, l.map) == sp:
                byop.setdefault(l.opc, []).append(l)
        tab = []
        for opc in range(256):
            ls = byop.get(opc, [])
            # (an INVALID ud line takes the ModRM-ness of the others)
            mr = {l.modrm() for l in ls if 'ud' not in l.flags}
            if len(mr) > 1:
                # an opcode has ModRM for all or none of its forms
                raise ValueError('modrm mix at %s %02x: %s' %
                                 (sp, opc, [l.text for l in ls]))
            e = build(ls, set())
            tab.append((e, bool(mr and mr.pop())))
        roots[sp] = tab
    # Resolve links: a node's children are copied in place (idx = base).
    final = []
    for e in entries:
        final.append(e)
    def resolve(i):
        e = final[i]
        while e[0] == 'link':
            e = final[e[1]]
        return e
    for m in ['PAUSE', 'NOP', 'CWDE', 'CDQE', 'CDQ', 'CQO', 'PUSHAD',
              'POPAD', 'PUSHFD', 'PUSHFQ', 'POPFD', 'POPFQ', 'IRETD',
              'IRETQ', 'JECXZ', 'JRCXZ', 'MOVSW', 'MOVSD', 'MOVSQ', 'CMPSW',
              'CMPSD', 'CMPSQ', 'STOSW', 'STOSD', 'STOSQ', 'LODSW', 'LODSD',
              'LODSQ', 'SCASW', 'SCASD', 'SCASQ', 'INSW', 'INSD', 'OUTSW',
              'OUTSD', 'SYSEXITQ', 'SYSRETQ', 'FXSAVE64', 'FXRSTOR64',
              'XSAVE64', 'XRSTOR64', 'XSAVEOPT64', 'XSAVEC64', 'XSAVES64',
              'XRSTORS64', 'UD1', 'EVEX_UNKNOWN', 'XOP_UNKNOWN', 'RETFQ',
              'CALLF', 'JMPF', 'MOVABS']:
        mnem_id(m)
    for v in THREEDNOW.values():
        mnem_id(v)
    out = []
    out.append('/* Generated by x86_optab_gen.py: do not edit. */')
    out.append('/* clang-format off */')
    out.append('#include "x86_optab.h"')
    out.append('')
    out.append('const struct x86_opspec x86_opspecs[%d] = {' %
               (len(specs) + 1))
    out.append('\t{ 0, 0, 0, 0 },')
    for key, i in sorted(specs.items(), key=lambda kv: kv[1]):
        out.append('\t{ OM_%s, OS_%s, %d, %d },' %
                   (METHODS[key[0]], SIZES[key[1]].upper(), key[2], key[3]))
    out.append('};')
    out.append('')
    out.append('const uint8_t x86_opsets[%d][4] = {' % len(opsets))
    for key, i in sorted(opsets.items(), key=lambda kv: kv[1]):
        out.append('\t{ %d, %d, %d, %d },' % key)
    out.append('};')
    out.append('')
    out.append('const struct x86_opent x86_opents[%d] = {' % len(final))
    for i in range(len(final)):
        e = resolve(i)
        out.append('\t{ %d, %d, %d, 0x%x, %d },' %
                   (e[1], e[0], e[4], e[2], e[3]))
    out.append('};')
    out.append('')
    names = {('L', '1'): 'X86_TAB_1', ('L', '0F'): 'X86_TAB_0F',
             ('L', '38'): 'X86_TAB_38', ('L', '3A'): 'X86_TAB_3A',
             ('V', '0F'): 'X86_TAB_V0F', ('V', '38'): 'X86_TAB_V38',
             ('V', '3A'): 'X86_TAB_V3A', ('E', '0F'): 'X86_TAB_E0F',
             ('E', '38'): 'X86_TAB_E38', ('E', '3A'): 'X86_TAB_E3A'}
    out.append('const uint16_t x86_oproots[X86_NTAB][256] = {')
    for sp in spaces:
        out.append('\t[%s] = {' % names[sp])
        row = []
        for e, mr in roots[sp]:
            row.append('0x%04x' % (e | (0x8000 if mr else 0)))
        for i in range(0, 256, 8):
            out.append('\t\t' + ', '.join(row[i:i + 8]) + ',')
        out.append('\t},')
    out.append('};')
    out.append('')
    out.append('const uint16_t x86_3dnow[256] = {')
    for k, v in sorted(THREEDNOW.items()):
        out.append('\t[0x%02x] = X86_M_%s,' % (k, v))
    out.append('};')
    out.append('')
    open(os.path.join(OUT_DIR, 'x86_optab_gen.c'), 'w').write(
        '\n'.join(out))
    h = ['/* Generated by x86_optab_gen.py: do not edit. */',
         '/* clang-format off */',
         '/* Internal to emul: the opcode tables the decoder walks. */',
         '#ifndef RHYVE_EMUL_X86_OPTAB_H', '#define RHYVE_EMUL_X86_OPTAB_H',
         '', '#include "x86.h"', '']
    h.append('enum x86_om {')
    for m in METHODS:
        h.append('\tOM_%s,' % m)
    h.append('};')
    h.append('enum x86_os {')
    for z in SIZES:
        h.append('\tOS_%s,' % z.upper())
    h.append('};')
    h.append('enum x86_ent_kind {')
    for k, v in sorted(KIND.items(), key=lambda kv: kv[1]):
        h.append('\tEK_%s = %d,' % (k.upper(), v))
    h.append('};')
    for i, f in enumerate(FLAGS):
        h.append('#define EF_%s 0x%x' % (f.upper(), 1 << i))
    h += ['',
          'struct x86_opspec {',
          '\tuint8_t method, size, access, arg;',
          '};',
          'struct x86_opent {',
          '\tuint16_t mnem;',
          '\tuint8_t kind, nops;',
          '\tuint16_t flags, idx; /* leaf: opset; node: first child */',
          '};',
          'enum {',
          '\tX86_TAB_1, X86_TAB_0F, X86_TAB_38, X86_TAB_3A,',
          '\tX86_TAB_V0F, X86_TAB_V38, X86_TAB_V3A,',
          '\tX86_TAB_E0F, X86_TAB_E38, X86_TAB_E3A, X86_NTAB',
          '};',
          '#define X86_ROOT_MODRM 0x8000',
          '/* EVEX leaves: flags hold these instead of EF_* */',
          '#define EVF_TUPLE 0x1f /* disp8*N: see x86_decode.c evex_n() */',
          '#define EVF_BC 0x20    /* embedded broadcast with memory */',
          '#define EVF_BC8 0x40   /* broadcast element 8 bytes (else 4) */',
          '#define EVF_ER 0x80    /* register form EVEX.b: rounding */',
          '#define EVF_SAE 0x100  /* register form EVEX.b: SAE */',
          '#define EVF_NOK 0x200  /* no masking: EVEX.aaa must be 0 */',
          '#define EVF_NOZ 0x400  /* no zeroing: EVEX.z must be 0 */',
          '#define EVF_KREQ 0x800 /* EVEX.aaa must not be 0 */',
          'extern const struct x86_opspec x86_opspecs[%d];' % (len(specs) + 1),
          'extern const uint8_t x86_opsets[%d][4];' % len(opsets),
          'extern const struct x86_opent x86_opents[%d];' % len(final),
          'extern const uint16_t x86_oproots[X86_NTAB][256];',
          'extern const uint16_t x86_3dnow[256];',
          '', '#endif', '']
    open(os.path.join(OUT_DIR, 'x86_optab.h'), 'w').write('\n'.join(h))
    inc = ['/* Generated by x86_optab_gen.py: do not edit. */']
    for m, i in sorted(mnems.items(), key=lambda kv: kv[1]):
        if m != 'INVALID':
            inc.append('X86_MNEM_X(%s)' % m)
    open(os.path.join(OUT_DIR, 'x86_optab_mnem.inc'), 'w').write(
        '\n'.join(inc) + '\n')
    print('%d entries, %d opsets, %d specs, %d mnemonics' %
          (len(final), len(opsets), len(specs), len(mnems)))

if __name__ == '__main__':
    main()
