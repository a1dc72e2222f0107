// SPDX-License-Identifier: Apache-2.0
// Loads BPF objects for the bench's breakdown and references, attaching their tracing programs
// (tp_btf/...) and nothing else, so that their cost can be read from this process's descriptors.
//
// Usage: variants LABEL=OBJ... Prints "prog LABEL NAME ID" for every attached program, then "attached";
// exits (detaching everything) when stdin closes. The objects are copies of the kernel program built to
// stop after a step of its hot path (-DTCPTOP_BENCH_CUT), or bench/floor.bpf.c.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	char buf[64];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	libbpf_set_print(quiet);
	for (int a = 1; a < argc; a++) {
		char *eq = strchr(argv[a], '=');
		struct bpf_object *obj;
		struct bpf_program *prog;

		if (!eq) {
			fprintf(stderr, "usage: variants LABEL=OBJ...\n");
			return 2;
		}
		*eq = 0;
		obj = bpf_object__open_file(eq + 1, NULL);
		if (!obj) {
			fprintf(stderr, "variants: open %s: %s\n", eq + 1, strerror(errno));
			return 1;
		}
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog, strncmp(bpf_program__section_name(prog), "tp_btf/", 7) == 0);
		if (bpf_object__load(obj)) {
			fprintf(stderr, "variants: load %s: %s\n", eq + 1, strerror(errno));
			return 1;
		}
		bpf_object__for_each_program(prog, obj) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);

			if (!bpf_program__autoload(prog))
				continue;
			if (!bpf_program__attach(prog)) {
				fprintf(stderr, "variants: attach %s in %s: %s\n", bpf_program__name(prog), eq + 1, strerror(errno));
				return 1;
			}
			bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len);
			printf("prog %s %s %u\n", argv[a], bpf_program__name(prog), info.id);
		}
	}
	printf("attached\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
