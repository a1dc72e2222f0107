/* Included before vmlinux.h when the kernel program is built for arm64 from the x86 vmlinux.h: the
 * one arm64 type bpf_tracing.h needs that x86's BTF lacks. The kprobe programs read their arguments
 * from it (BPF_KPROBE: x0..x7 are regs[0..7], the return value regs[0]). It is uapi
 * (arch/arm64/include/uapi/asm/ptrace.h), so its layout is fixed; everything else the program reads is
 * relocated by CO-RE against the running kernel's BTF. */
struct user_pt_regs {
	unsigned long long regs[31];
	unsigned long long sp;
	unsigned long long pc;
	unsigned long long pstate;
};
