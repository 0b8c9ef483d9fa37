/*
 * apic_replay: the apic guest without its TSC-deadline part, for the
 * replay test: RDTSC does not exit, so a replay cannot give the guest the
 * TSC values of the recording (and what the guest prints would differ).
 */
#define APIC_NO_TSC
#include "apic.c"
