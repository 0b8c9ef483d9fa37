# Watchpoints on an engine that checks data breakpoints on every access
# (interp; KVM's instruction emulator, which runs guest kernel code on
# PVM hosts, ignores them, and kvm watches writes by single steps):
# rwatch and awatch stop at the reads and writes, and watch runs the
# guest at full speed, timer interrupts and all; on a replay too.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

check(val("$pc") == val("&_start"), "stopped at _start before it ran")
ex("hbreak gdb_break_here")
ex("continue")
check(val("$rdi") == 1, "in the first call, before its write")
ex("delete")

# rwatch: x86 has no read-only data breakpoint (gdb uses R/W 11), so
# the write of the first call stops too, then the read after it.
ex("rwatch gdb_counter")
ex("continue")
ev = last_stop()
check(isinstance(ev, gdb.BreakpointEvent) and
      ev.breakpoints[0].type == gdb.BP_READ_WATCHPOINT,
      "continue stops at the read watchpoint")
check(val("gdb_counter") == 3 and val("$rdi") == 1,
      "after the write of the first call (value 3)")
pc = val("$pc")
ex("continue")
check(val("gdb_counter") == 3 and val("$rdi") == 1 and val("$pc") > pc,
      "then after its read")
ex("delete")

# awatch: the second call's write, then its read.
ex("awatch gdb_counter")
ex("continue")
ev = last_stop()
check(isinstance(ev, gdb.BreakpointEvent) and
      ev.breakpoints[0].type == gdb.BP_ACCESS_WATCHPOINT,
      "continue stops at the access watchpoint")
check(val("gdb_counter") == 6 and val("$rdi") == 2,
      "at the write of the second call (value 6)")
pc = val("$pc")
ex("continue")
check(val("gdb_counter") == 6 and val("$rdi") == 2 and val("$pc") != pc,
      "then at its read")
ex("delete")

# watch: the third call's write; then, live, with the watchpoint still
# set the guest spins (gdb_hold) and the timer interrupts go on (no
# steps).  A replay (RHYVE_GDB_REPLAY) takes no writes: it runs on.
replay = bool(os.environ.get("RHYVE_GDB_REPLAY"))
if not replay:
    ex("set var gdb_hold = 1")
ex("watch gdb_counter")
ex("continue")
check(val("gdb_counter") == 9 and val("$rdi") == 3,
      "watch: the write of the third call (value 9)")
if not replay:
    ticks = val("gdb_ticks")
    interrupt_after(3)
    ex("continue")
    ev = last_stop()
    check(isinstance(ev, gdb.SignalEvent) and ev.stop_signal == "SIGINT",
          "Ctrl-C stops the spinning guest")
    check(val("gdb_ticks") > ticks + 20,
          "timer interrupts ran under the watchpoint (%d -> %d)" %
          (ticks, val("gdb_ticks")))
    ex("delete")
    ex("set var gdb_hold = 0")
    passed()
    ex("detach")
else:
    ex("delete")
    passed()
    ex("continue")
