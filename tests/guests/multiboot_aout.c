/*
 * multiboot_aout: the multiboot guest with the header's address fields
 * (flag 16, the "a.out kludge"): rhyve loads the file by them, not by its
 * ELF program headers.
 */
#define MB_AOUT 1
#include "multiboot.c"
