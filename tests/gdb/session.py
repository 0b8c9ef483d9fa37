# The acceptance session: registers, memory through the guest's own page
# tables, break, stepi with a timer interrupt pending, watch, threads,
# set var, Ctrl-C, monitor commands, detach.  Both transports run it.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

# -G w: stopped before the first instruction.
check(val("$pc") == val("&_start"), "stopped at _start before it ran")
out = ex("hbreak gdb_break_here")
ex("continue")
check(val("$pc") == val("&gdb_break_here"), "hbreak gdb_break_here stops there")

regs = ex("info registers")
for r in ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",
          "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
          "fs_base", "gs_base", "cr0", "cr3", "cr4", "efer"]:
    check(re.search(r"^%s\s+0x" % r, regs, re.M) is not None,
          "info registers shows %s" % r)
check(val("$cr3") == console_value("cr3"), "cr3 is what the guest printed")
check(val("$fs_base") == console_value("fs_base"), "fs_base as printed")
check(val("$gs_base") == console_value("gs_base"), "gs_base as printed")
check(val("$rdi") == 1, "the argument x (rdi) is 1")
check(val("$cs") == 8 and val("$ss") == 0x10, "cs 8, ss 0x10")
check(val("$eflags") & 0x200, "interrupts are enabled (IF)")

# x87 and SSE (KVM_GET_FPU): pi and 1 pushed, xmm3 loaded by the guest.
check(abs(float(gdb.parse_and_eval("$st0")) - 3.141592653589793) < 1e-12,
      "st0 is pi")
check(float(gdb.parse_and_eval("$st1")) == 1.0, "st1 is 1")
check(val("$fstat") >> 11 & 7 == 6, "fstat: TOP is 6 after two pushes")
check(val("$ftag") == 0x0fff, "ftag: physical registers 6 and 7 valid")
check(val("$fctrl") == 0x37f, "fctrl as FNINIT leaves it")
# (mxcsr: KVM_GET_FPU on this PVM host reports 0 where the guest's own
# FXSAVE shows 0x1f80, so its value is not checked here.)
check(val("$xmm3.v2_int64[0]") == 0x0123456789abcdef, "xmm3 as loaded")
ex("set var $xmm3.v2_int64[0] = 0x1122334455667788")
ex("set var gdb_xmm3_expect = 0x1122334455667788")
check(val("$xmm3.v2_int64[0]") == 0x1122334455667788,
      "xmm3 written (the guest checks it at its end)")

# x/8gx through the guest's alias (a non-identity mapping), and the
# same with the debugger's physical mode on the pattern's address.
pattern = console_value("pattern")
out = ex("x/8gx 0x8000000000")
words = re.findall(r"0x[0-9a-f]{16}", out)
check(words == ["0x%016x" % (0x1111111111111111 * (i + 1)) for i in range(8)],
      "x/8gx 0x8000000000 reads the pattern through the guest's page tables")
ex("monitor phys on")
out = ex("x/2gx %d" % pattern)
check("0x2222222222222222" in out, "monitor phys on: physical addresses")
try:
    gdb.execute("x/gx 0x8000000000", to_string=True)
    fail("0x8000000000 is readable as a physical address")
except gdb.error as e:
    print("expected: %s" % e)
ex("monitor phys off")

# stepi: exactly one instruction, with the 1 kHz timer pending (the PIT
# runs on while the VM is stopped; IRQ0 is due after 50 ms), and no
# interrupt handler runs in between.
ticks = val("gdb_ticks")
time.sleep(0.05)
for i in range(3):
    pc = val("$pc")
    n = insn_length(pc)
    ex("stepi")
    check(val("$pc") == pc + n, "stepi %d advances one instruction (%d bytes)" % (i, n))
check(val("gdb_ticks") == ticks, "no timer interrupt ran during the steps")

# watch: stops at the write, old and new value.
ex("delete")
check(val("gdb_counter") == 3, "gdb_counter is 3 before the watch")
out = ex("watch gdb_counter")
ex("continue")
ev = last_stop()
check(isinstance(ev, gdb.BreakpointEvent) and
      ev.breakpoints[0].type == gdb.BP_HARDWARE_WATCHPOINT,
      "continue stops at the hardware watchpoint")
check(val("gdb_counter") == 6 and val("$rdi") == 2,
      "stopped in the second call, after the write")
ex("delete")

# threads: both vCPUs; the second is parked in the reset state.
out = ex("info threads")
check("vCPU 0, 64-bit mode" in out and "vCPU 1, real mode" in out,
      "info threads lists both vCPUs with their mode")
ex("thread 2")
check(val("$pc") == 0xfff0 and val("$cs") == 0xf000,
      "thread 2: the AP waits for INIT-SIPI at f000:fff0")
ex("thread 1")

# monitor commands
out = ex("monitor help")
check("phys" in out and "marker" in out, "monitor help lists the commands")
out = ex("monitor regs")
check("vcpu 0: rip" in out and "vcpu 1: rip 0xfff0" in out, "monitor regs")
out = ex("monitor trace status")
check("not recording" in out, "monitor trace status")

# set var, then Ctrl-C a spinning guest.
ex("set var gdb_hold = 1")
check(val("gdb_hold") == 1, "set var writes guest memory")
interrupt_after(1.5)
ex("continue")
ev = last_stop()
check(isinstance(ev, gdb.SignalEvent) and ev.stop_signal == "SIGINT",
      "Ctrl-C stops the guest (SIGINT)")
check(val("gdb_hold") == 1 and "gdbstub: ok" not in console(),
      "stopped while the guest spins (wherever: loop or timer handler)")
check(val("gdb_ticks") > ticks + 100,
      "timer interrupts arrived while it ran (%d)" % val("gdb_ticks"))
ex("set var gdb_hold = 0")

passed()
ex("detach")
