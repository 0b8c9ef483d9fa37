# The README's commands.  CMake does the building; this file installs what
# a fresh Debian machine lacks and names the jobs.
#   make demo    record a run of the bundled hello guest, replay it,
#                summarise the trace
#   make check   build and run every test through ctest
#   make asan    the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench   benchmarks (figures, not pass/fail)
#   make fuzz    run the libFuzzer targets for a while (FUZZ_SECONDS each)
#   make replay-soak  every record/replay test 20 times in a row
#   make lockstep  every test guest on the lockstep tester (kvm and interp
#                compared instruction by instruction), slow ones included

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
LOCKSTEP_BUILD ?= build-lockstep
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DRHYVE_WERROR=ON

DEBS = build-essential cmake pkg-config clang gdb libelf-dev libzstd-dev \
	libcapstone-dev libcunit1-dev zlib1g-dev liblzma-dev linux-image-amd64 python3 \
	cpio

SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo check asan bench fuzz replay-soak lockstep clean

all: build

# Install the Debian packages that are missing (apt-get only if needed).
deps:
	@missing=$$(for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Record a run of the bundled hello guest, replay it, summarise the trace.
RHYVE = $(BUILD)/monitor/rhyve
RHYVETRACE = $(BUILD)/tools/rhyvetrace/rhyvetrace
DEMO_TRACE = $(BUILD)/demo.rtr
demo: build
	@echo '$$ rhyve -m 64M -l com1,stdio -l pc-testdev --record $(DEMO_TRACE) --kernel $(BUILD)/guests/hello.elf hello'
	@$(RHYVE) -m 64M -l com1,stdio -l pc-testdev --record $(DEMO_TRACE) \
		--kernel $(BUILD)/guests/hello.elf hello </dev/null; \
	status=$$?; echo "rhyve exited with status $$status (1: the guest powered off)"; \
	[ $$status = 1 ]
	@echo '$$ rhyve --replay $(DEMO_TRACE)'
	@$(RHYVE) --replay $(DEMO_TRACE) </dev/null; \
	status=$$?; echo "the replay exited with status $$status (the recorded one)"; \
	[ $$status = 1 ]
	@echo '$$ rhyvetrace verify $(DEMO_TRACE)'
	@$(RHYVETRACE) verify $(DEMO_TRACE)
	@echo '$$ rhyvetrace stats $(DEMO_TRACE)'
	@$(RHYVETRACE) stats $(DEMO_TRACE)
	@echo '$$ rhyvetrace dump $(DEMO_TRACE) --kind exit,pio --limit 6'
	@$(RHYVETRACE) dump $(DEMO_TRACE) --kind exit,pio --limit 6

check: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DRHYVE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Each replay test records and replays (twice) 20 times in a row; the first
# divergence fails it.
replay-soak: build
	REPLAY_RUNS=2 ctest --test-dir $(BUILD) -L replay --output-on-failure \
		--repeat until-fail:20 -j $(JOBS)

# The lockstep.guest.* tests for every guest: the normal suite has the
# quick ones; RHYVE_LOCKSTEP_ALL adds the rest (in a build of its own, so
# that `make check` stays quick).
lockstep: deps
	cmake -S . -B $(LOCKSTEP_BUILD) $(CMAKE_FLAGS) -DRHYVE_LOCKSTEP_ALL=ON
	cmake --build $(LOCKSTEP_BUILD) -j $(JOBS)
	ctest --test-dir $(LOCKSTEP_BUILD) -L lockstep --output-on-failure -j $(JOBS)

# QEMU is for the CPU benchmark's comparison only (bench_cpu): installed
# here, never needed by the tests.
bench: build
	@command -v qemu-system-x86_64 >/dev/null || { \
		echo "installing: qemu-system-x86 (for the CPU benchmark)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
			qemu-system-x86 || \
		echo "qemu-system-x86 not installed: no QEMU column"; }
	cmake --build $(BUILD) --target bench

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) $(CMAKE_FLAGS) -DRHYVE_FUZZ=ON \
		-DRHYVE_SANITIZE=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@for f in $(FUZZ_BUILD)/tests/fuzz/fuzz_*; do \
		case $$f in *_regress) continue;; esac; \
		name=$$(basename $$f | sed 's/^fuzz_//'); \
		mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
		echo "== $$f ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus/$$name \
			tests/fuzz/corpus/$$name || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
