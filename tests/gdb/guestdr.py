# The guest's own debug registers (debugreg.elf: breakpoints, data
# breakpoints, single-step by TF, general detect) while gdb uses its own
# (a hardware breakpoint and a write watchpoint): gdb stops where it
# should, and every check of the guest passes (the interp engine keeps
# the guest's registers in effect beside the debugger's; kvm does not).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

check(val("$pc") == val("&_start"), "stopped at _start before it ran")
ex("hbreak debugreg_done")
ex("watch debugreg_stage")
ex("continue")
check(val("debugreg_stage") == 1, "watch: stage 1")
ex("continue")
check(val("debugreg_stage") == 2, "watch: stage 2")
ex("continue")
check(val("$pc") == val("&debugreg_done"), "hbreak debugreg_done")
check("FAILED" not in console(), "no check of the guest failed so far")
ex("delete")

passed()
ex("continue")
