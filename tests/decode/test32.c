/*
 * 32-bit code for the decoder oracle: compiled with gcc -m32 -O2
 * -ffreestanding (no 32-bit libc needed), so the oracle has 32-bit
 * instructions of every common kind: integer, string, x87, SSE, AVX2.
 */
typedef unsigned int u32;
typedef unsigned long long u64;
typedef float v8sf __attribute__((vector_size(32)));
typedef int v4si __attribute__((vector_size(16)));

u32 t32_sum(const u32 *p, u32 n);
u64 t32_mul64(u64 a, u64 b);
double t32_fp(double a, double b, int k);
long double t32_x87(long double a, int n);
void t32_vec(v8sf *d, const v8sf *a, const v8sf *b, int n);
v4si t32_vec4(v4si a, v4si b);
void t32_copy(char *d, const char *s, u32 n);
u32 t32_bits(u32 x, u32 y);
int t32_switch(int x);

u32
t32_sum(const u32 *p, u32 n)
{
	u32 s = 0;
	for (u32 i = 0; i < n; i++)
		s += p[i] * (i | 3) ^ (p[i] >> 3);
	return s;
}

u64
t32_mul64(u64 a, u64 b)
{
	return a * b + (a >> 7) - (b << 3) / (a | 1);
}

double
t32_fp(double a, double b, int k)
{
	double r = a;
	for (int i = 0; i < k; i++)
		r = r * b + (double)i / (a + 1.5);
	return r > b ? r : b;
}

long double
t32_x87(long double a, int n)
{
	long double r = 1;
	while (n-- > 0)
		r = r * a - (long double)n;
	return r;
}

void
t32_vec(v8sf *d, const v8sf *a, const v8sf *b, int n)
{
	for (int i = 0; i < n; i++)
		d[i] = a[i] * b[i] + d[i];
}

v4si
t32_vec4(v4si a, v4si b)
{
	return (a * b) + (a >> 2) - (b & a);
}

void
t32_copy(char *d, const char *s, u32 n)
{
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	__asm__ volatile("lock incl (%0)" : : "r"(d) : "memory");
	__asm__ volatile("cpuid" : : "a"(0) : "ebx", "ecx", "edx");
	__asm__ volatile("pushal; popal; pushfl; popfl; cwde; cltd");
	__asm__ volatile("les (%eax), %ecx; lds 4(%ebx,%esi,2), %edx");
	__asm__ volatile("bound %eax, (%ebx); aam; aad; daa; das; aaa; aas");
	__asm__ volatile("movl %fs:0x10, %eax; movl %eax, %gs:(%ebx)");
	__asm__ volatile("movw %ds, %ax; movw %ax, %es; movl %cr0, %eax");
	__asm__ volatile("fnstenv (%eax); fldenv (%eax); fnsave (%ebx)");
	__asm__ volatile("vpbroadcastd %xmm1, %ymm2; vpgatherdd %ymm3, "
			 "(%eax,%ymm4,4), %ymm5");
	__asm__ volatile("addr16 movl (%bx,%si), %eax; lcall $0x10, $0x1234");
}

u32
t32_bits(u32 x, u32 y)
{
	return __builtin_popcount(x) + __builtin_ctz(y | 1) +
	       __builtin_clz(x | 1) + __builtin_bswap32(x ^ y);
}

int
t32_switch(int x)
{
	switch (x) {
	case 0:
		return 7;
	case 1:
		return t32_switch(x + 5) * 3;
	case 2:
		return -4;
	case 3:
		return x << 9;
	case 4:
		return 1000;
	default:
		return x / 3;
	}
}
