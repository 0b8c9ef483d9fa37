# Ctrl-C on a replay: conin.elf polls COM1 for 2 s (the replay answers
# every poll from the trace).  gdb's interrupt stops it wherever it is
# (the kick is the debugger's, not an exit of the recording), a step
# goes on, and the replay then runs to its recorded end.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

interrupt_after(0.25)
ex("continue")
ev = last_stop()
check(isinstance(ev, gdb.SignalEvent) and ev.stop_signal == "SIGINT",
      "Ctrl-C stops the replay (SIGINT)")
pc = val("$pc")
check(0x100000 <= pc < val("&__guest_end"), "stopped in the guest")
check("conin: got" not in console(), "before the guest's end")
ex("stepi")
passed()
ex("continue")
