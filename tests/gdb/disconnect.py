# A debugger that goes away without detaching, with a breakpoint and a
# watchpoint inserted: the guest runs on to its end without them.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbtest import *  # noqa: E402,F401

ex("set breakpoint always-inserted on")
ex("hbreak gdb_break_here")
ex("continue")
check(val("$pc") == val("&gdb_break_here"), "stopped at gdb_break_here")
ex("watch gdb_counter")
ex("stepi")
passed()
ex("disconnect")
