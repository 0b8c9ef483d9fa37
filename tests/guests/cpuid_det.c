/* cpuid for a --deterministic run: the same checks, and the hidden bits. */
#define CPUID_DETERMINISTIC 1
#include "cpuid.c"
