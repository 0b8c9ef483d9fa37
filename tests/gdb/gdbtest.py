# Helpers for the gdb test scripts (run inside gdb by run-gdb.sh).
import os
import re
import signal
import sys
import threading
import time

import gdb


stops = []
gdb.events.stop.connect(lambda ev: stops.append(ev))


def last_stop():
    return stops[-1] if stops else None


def fail(msg):
    print("GDBTEST FAIL: " + msg)
    sys.stdout.flush()
    gdb.execute("kill")
    os._exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg)


def ex(cmd):
    print("(gdb) " + cmd)
    out = gdb.execute(cmd, to_string=True)
    print(out, end="")
    return out


def val(expr):
    return int(gdb.parse_and_eval(expr)) & 0xFFFFFFFFFFFFFFFF


def console():
    """What the guest has printed on COM1 so far."""
    with open(os.environ["RHYVE_CONSOLE"]) as f:
        return f.read()


def console_value(name):
    m = re.search(r"\b%s (0x[0-9a-f]+)" % name, console())
    if m is None:
        fail("the guest did not print %s" % name)
    return int(m.group(1), 16)


def interrupt_after(seconds):
    """gdb's own Ctrl-C (SIGINT to gdb) while the next command runs."""
    def send():
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(seconds, send).start()


def insn_length(pc):
    arch = gdb.selected_frame().architecture()
    return arch.disassemble(pc)[0]["length"]


def passed():
    print("GDBTEST PASS")
    sys.stdout.flush()
