/*
 * The x86-64 registers as gdb sees them: the order of 'g' and 'p', the
 * sizes, and the target description gdb reads with qXfer:features:read.
 * The description follows gdb's own features (org.gnu.gdb.i386.core,
 * .sse, .segments) so that gdb's amd64 code recognises the machine, and
 * adds the system registers a kernel debugger wants (CR0-CR4, CR8, EFER)
 * in a feature of rhyve's own, which gdb lists with "info registers".
 */
#include <stddef.h>

#include "gdb.h"

static const struct gdb_x86_regdef {
	const char *name;
	unsigned char size;
} gdb_x86_regs[GDB_X86_NREGS] = {
	[GDB_X86_RAX] = { "rax", 8 },
	[GDB_X86_RBX] = { "rbx", 8 },
	[GDB_X86_RCX] = { "rcx", 8 },
	[GDB_X86_RDX] = { "rdx", 8 },
	[GDB_X86_RSI] = { "rsi", 8 },
	[GDB_X86_RDI] = { "rdi", 8 },
	[GDB_X86_RBP] = { "rbp", 8 },
	[GDB_X86_RSP] = { "rsp", 8 },
	[GDB_X86_R8] = { "r8", 8 },
	[GDB_X86_R9] = { "r9", 8 },
	[GDB_X86_R10] = { "r10", 8 },
	[GDB_X86_R11] = { "r11", 8 },
	[GDB_X86_R12] = { "r12", 8 },
	[GDB_X86_R13] = { "r13", 8 },
	[GDB_X86_R14] = { "r14", 8 },
	[GDB_X86_R15] = { "r15", 8 },
	[GDB_X86_RIP] = { "rip", 8 },
	[GDB_X86_EFLAGS] = { "eflags", 4 },
	[GDB_X86_CS] = { "cs", 4 },
	[GDB_X86_SS] = { "ss", 4 },
	[GDB_X86_DS] = { "ds", 4 },
	[GDB_X86_ES] = { "es", 4 },
	[GDB_X86_FS] = { "fs", 4 },
	[GDB_X86_GS] = { "gs", 4 },
	[GDB_X86_ST0 + 0] = { "st0", 10 },
	[GDB_X86_ST0 + 1] = { "st1", 10 },
	[GDB_X86_ST0 + 2] = { "st2", 10 },
	[GDB_X86_ST0 + 3] = { "st3", 10 },
	[GDB_X86_ST0 + 4] = { "st4", 10 },
	[GDB_X86_ST0 + 5] = { "st5", 10 },
	[GDB_X86_ST0 + 6] = { "st6", 10 },
	[GDB_X86_ST0 + 7] = { "st7", 10 },
	[GDB_X86_FCTRL] = { "fctrl", 4 },
	[GDB_X86_FSTAT] = { "fstat", 4 },
	[GDB_X86_FTAG] = { "ftag", 4 },
	[GDB_X86_FISEG] = { "fiseg", 4 },
	[GDB_X86_FIOFF] = { "fioff", 4 },
	[GDB_X86_FOSEG] = { "foseg", 4 },
	[GDB_X86_FOOFF] = { "fooff", 4 },
	[GDB_X86_FOP] = { "fop", 4 },
	[GDB_X86_XMM0 + 0] = { "xmm0", 16 },
	[GDB_X86_XMM0 + 1] = { "xmm1", 16 },
	[GDB_X86_XMM0 + 2] = { "xmm2", 16 },
	[GDB_X86_XMM0 + 3] = { "xmm3", 16 },
	[GDB_X86_XMM0 + 4] = { "xmm4", 16 },
	[GDB_X86_XMM0 + 5] = { "xmm5", 16 },
	[GDB_X86_XMM0 + 6] = { "xmm6", 16 },
	[GDB_X86_XMM0 + 7] = { "xmm7", 16 },
	[GDB_X86_XMM0 + 8] = { "xmm8", 16 },
	[GDB_X86_XMM0 + 9] = { "xmm9", 16 },
	[GDB_X86_XMM0 + 10] = { "xmm10", 16 },
	[GDB_X86_XMM0 + 11] = { "xmm11", 16 },
	[GDB_X86_XMM0 + 12] = { "xmm12", 16 },
	[GDB_X86_XMM0 + 13] = { "xmm13", 16 },
	[GDB_X86_XMM0 + 14] = { "xmm14", 16 },
	[GDB_X86_XMM0 + 15] = { "xmm15", 16 },
	[GDB_X86_MXCSR] = { "mxcsr", 4 },
	[GDB_X86_FS_BASE] = { "fs_base", 8 },
	[GDB_X86_GS_BASE] = { "gs_base", 8 },
	[GDB_X86_CR0] = { "cr0", 8 },
	[GDB_X86_CR2] = { "cr2", 8 },
	[GDB_X86_CR3] = { "cr3", 8 },
	[GDB_X86_CR4] = { "cr4", 8 },
	[GDB_X86_CR8] = { "cr8", 8 },
	[GDB_X86_EFER] = { "efer", 8 },
};

int
gdb_x86_reg_size(int regno)
{
	if (regno < 0 || regno >= GDB_X86_NREGS)
		return 0;
	return gdb_x86_regs[regno].size;
}

const char *
gdb_x86_reg_name(int regno)
{
	if (regno < 0 || regno >= GDB_X86_NREGS)
		return NULL;
	return gdb_x86_regs[regno].name;
}

/*
 * The description, in the order of enum gdb_x86_reg: gdb numbers the
 * <reg> elements in document order, which makes that the layout of 'g'.
 */
/* clang-format off */
#define FLAG(n, b) "<field name=\"" n "\" start=\"" #b "\" end=\"" #b "\"/>"
#define REG(n, bits, type) \
	"<reg name=\"" n "\" bitsize=\"" #bits "\" type=\"" type "\"/>"
#define REGG(n, bits, type, group) \
	"<reg name=\"" n "\" bitsize=\"" #bits "\" type=\"" type \
	"\" group=\"" group "\"/>"
#define REG8(p, bits, type) \
	REG(p "0", bits, type) REG(p "1", bits, type) REG(p "2", bits, type) \
	REG(p "3", bits, type) REG(p "4", bits, type) REG(p "5", bits, type) \
	REG(p "6", bits, type) REG(p "7", bits, type)

static const char gdb_x86_xml[] =
	"<?xml version=\"1.0\"?>"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\">"
	"<architecture>i386:x86-64</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<flags id=\"i386_eflags\" size=\"4\">"
	FLAG("CF", 0) FLAG("", 1) FLAG("PF", 2) FLAG("AF", 4) FLAG("ZF", 6)
	FLAG("SF", 7) FLAG("TF", 8) FLAG("IF", 9) FLAG("DF", 10) FLAG("OF", 11)
	FLAG("NT", 14) FLAG("RF", 16) FLAG("VM", 17) FLAG("AC", 18)
	FLAG("VIF", 19) FLAG("VIP", 20) FLAG("ID", 21)
	"</flags>"
	REG("rax", 64, "int64") REG("rbx", 64, "int64")
	REG("rcx", 64, "int64") REG("rdx", 64, "int64")
	REG("rsi", 64, "int64") REG("rdi", 64, "int64")
	REG("rbp", 64, "data_ptr") REG("rsp", 64, "data_ptr")
	REG("r8", 64, "int64") REG("r9", 64, "int64")
	REG("r10", 64, "int64") REG("r11", 64, "int64")
	REG("r12", 64, "int64") REG("r13", 64, "int64")
	REG("r14", 64, "int64") REG("r15", 64, "int64")
	REG("rip", 64, "code_ptr") REG("eflags", 32, "i386_eflags")
	REG("cs", 32, "int32") REG("ss", 32, "int32")
	REG("ds", 32, "int32") REG("es", 32, "int32")
	REG("fs", 32, "int32") REG("gs", 32, "int32")
	REG8("st", 80, "i387_ext")
	REGG("fctrl", 32, "int", "float") REGG("fstat", 32, "int", "float")
	REGG("ftag", 32, "int", "float") REGG("fiseg", 32, "int", "float")
	REGG("fioff", 32, "int", "float") REGG("foseg", 32, "int", "float")
	REGG("fooff", 32, "int", "float") REGG("fop", 32, "int", "float")
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.sse\">"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\">"
	"<field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/>"
	"<field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/>"
	"<field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/>"
	"<field name=\"uint128\" type=\"uint128\"/>"
	"</union>"
	"<flags id=\"i386_mxcsr\" size=\"4\">"
	FLAG("IE", 0) FLAG("DE", 1) FLAG("ZE", 2) FLAG("OE", 3) FLAG("UE", 4)
	FLAG("PE", 5) FLAG("DAZ", 6) FLAG("IM", 7) FLAG("DM", 8) FLAG("ZM", 9)
	FLAG("OM", 10) FLAG("UM", 11) FLAG("PM", 12) FLAG("FZ", 15)
	"</flags>"
	REG8("xmm", 128, "vec128")
	REG("xmm8", 128, "vec128") REG("xmm9", 128, "vec128")
	REG("xmm10", 128, "vec128") REG("xmm11", 128, "vec128")
	REG("xmm12", 128, "vec128") REG("xmm13", 128, "vec128")
	REG("xmm14", 128, "vec128") REG("xmm15", 128, "vec128")
	REGG("mxcsr", 32, "i386_mxcsr", "vector")
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.segments\">"
	REG("fs_base", 64, "int") REG("gs_base", 64, "int")
	"</feature>"
	"<feature name=\"org.rhyve.gdb.x86.sys\">"
	REGG("cr0", 64, "int64", "system") REGG("cr2", 64, "int64", "system")
	REGG("cr3", 64, "int64", "system") REGG("cr4", 64, "int64", "system")
	REGG("cr8", 64, "int64", "system") REGG("efer", 64, "int64", "system")
	"</feature>"
	"</target>";
/* clang-format on */

const char *
gdb_x86_target_xml(void)
{
	return gdb_x86_xml;
}
