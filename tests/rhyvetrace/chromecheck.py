#!/usr/bin/env python3
"""The acceptance check of 'rhyvetrace export --format=chrome' on mktrace's
trace: chromecheck.py FILE.json.  The file must be valid trace-event JSON
in the object form (what Perfetto UI and chrome://tracing load) and show
the trace's content: a process named after config.name, a thread per
vCPU, one complete event per exit, instant events for injections, markers
and the end, and times in order per thread."""
import json
import sys


def fail(msg):
    print("chromecheck:", msg)
    sys.exit(1)


def strict_constant(name):
    fail("non-standard JSON constant " + name)


with open(sys.argv[1], encoding="utf-8") as f:
    doc = json.load(f, parse_constant=strict_constant)

if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
    fail("no traceEvents list")
evs = doc["traceEvents"]
for e in evs:
    for key in ("ph", "pid", "tid", "name"):
        if key not in e:
            fail("event without %s: %r" % (key, e))
    if e["ph"] not in ("M", "X", "i"):
        fail("unexpected ph %r" % e["ph"])
    if not isinstance(e["pid"], int) or not isinstance(e["tid"], int):
        fail("pid/tid not integers: %r" % e)
    if e["ph"] != "M":
        if not isinstance(e.get("ts"), (int, float)) or e["ts"] < 0:
            fail("bad ts: %r" % e)
    if e["ph"] == "X":
        if not isinstance(e.get("dur"), (int, float)) or e["dur"] <= 0:
            fail("bad dur: %r" % e)
    if e["ph"] == "i" and e.get("s") not in ("t", "p", "g"):
        fail("instant without scope: %r" % e)

meta = [e for e in evs if e["ph"] == "M"]
procs = [e["args"]["name"] for e in meta if e["name"] == "process_name"]
if procs != ["mkvm"]:
    fail("process names %r" % procs)
threads = {e["tid"]: e["args"]["name"] for e in meta if e["name"] == "thread_name"}
vcpu_threads = sorted(n for n in threads.values() if n.startswith("vcpu "))
if vcpu_threads != ["vcpu 0", "vcpu 1"]:
    fail("thread names %r" % threads)

exits = [e for e in evs if e["ph"] == "X" and e.get("cat") == "exit"]
if len(exits) != 203:
    fail("%d exit slices, expected 203" % len(exits))
names = {}
for e in exits:
    names[e["name"]] = names.get(e["name"], 0) + 1
    if threads.get(e["tid"], "").startswith("vcpu ") is False:
        fail("exit on a thread without a vcpu name: %r" % e)
want = {"inout": 100, "mmio": 100, "hlt": 1, "suspended": 1, "engine-error": 1}
if names != want:
    fail("exit names %r" % names)

first = min(exits, key=lambda e: e["ts"])
a = first["args"]
if (first["name"], a.get("rip"), a.get("port"), a.get("value"), a.get("dir"),
        a.get("insn")) != ("inout", "0x100040", "0x3f8", "0x41", "out", "ee"):
    fail("first exit %r" % first)
if first["ts"] != 4.5:  # event 7 at 1000 + 7 * 500 ns
    fail("first exit ts %r, expected 4.5 us" % first["ts"])
mm = [e for e in exits if e["name"] == "mmio"][0]["args"]
if (mm.get("gpa"), mm.get("value"), mm.get("dir")) != ("0xfee00030", "0x50014", "read"):
    fail("mmio args %r" % mm)
err = [e for e in exits if e["name"] == "engine-error"][0]["args"]
if err.get("msg") != 'KVM_RUN: "internal" error' or err.get("suberror") != "0x3":
    fail("engine error args %r" % err)
susp = [e for e in exits if e["name"] == "suspended"][0]["args"]
if susp.get("how") != "poweroff":
    fail("suspended args %r" % susp)

inst = [e for e in evs if e["ph"] == "i"]
injects = [e for e in inst if e["name"].startswith("inject ")]
markers = [e for e in inst if e.get("cat") == "marker"]
ends = [e for e in inst if e.get("cat") == "end"]
if len(injects) != 11 or len(markers) != 2 or len(ends) != 1:
    fail("instants: %d injects, %d markers, %d ends" %
         (len(injects), len(markers), len(ends)))
if "inject extint 32" not in [e["name"] for e in injects]:
    fail("inject names %r" % sorted({e["name"] for e in injects}))
if sorted(e["name"] for e in markers) != sorted(["boot", 'done "q" \\ \x01 \u00fc']):
    fail("marker names %r" % [e["name"] for e in markers])
ckpts = [e for e in evs if e["ph"] == "X" and e.get("cat") == "checkpoint"]
if len(ckpts) != 1 or ckpts[0]["args"].get("pages") != 2:
    fail("checkpoints %r" % ckpts)

# Per thread: ts never goes back, and exit slices do not overlap.
last = {}
end = {}
for e in evs:
    if e["ph"] == "M":
        continue
    t = e["tid"]
    if e["ts"] < last.get(t, 0):
        fail("ts goes back on tid %d: %r after %r" % (t, e["ts"], last[t]))
    last[t] = e["ts"]
    if e["ph"] == "X":
        if e["ts"] < end.get(t, 0) - 1e-9:
            fail("overlapping slices on tid %d at %r" % (t, e["ts"]))
        end[t] = e["ts"] + e["dur"]
print("chromecheck: ok, %d events" % len(evs))
