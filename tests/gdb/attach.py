# Attach to a guest that is already running (-G without w): conin.elf
# polls COM1 for 2 s.  gdb stops it wherever it is, reads its state, and
# a detach lets it run on to its own end.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

pc = val("$pc")
check(val("$cs") == 8 and 0x100000 <= pc < val("&__guest_end"),
      "stopped in the running guest's 64-bit code (pc 0x%x)" % pc)
check("conin: type a line" in console(), "the guest ran before gdb came")
out = ex("info threads")
check("vCPU 0, 64-bit mode" in out, "info threads")
ex("stepi")
passed()
ex("detach")
