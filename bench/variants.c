// SPDX-License-Identifier: Apache-2.0
// Loads BPF objects for the bench's breakdown and references, attaching their tracepoint programs
// (tp_btf/... and tracepoint/...) and nothing else. The objects are copies of the kernel program built to stop after a step
// of its hot path (-DTCPTOP_BENCH_CUT), or references (bench/floor.bpf.c, bench/bpftrace-like.bpf.c).
//
// Usage:
//   variants LABEL=OBJ...
//       attaches every object, prints "prog LABEL NAME ID" for each program, then "attached"; exits
//       (detaching everything) when stdin closes. Their cost is read from this process's descriptors.
//   variants --measure MS PASSES FLOOR=OBJ LABEL=OBJ...
//       attaches FLOOR first, prints "floor attached", and keeps it; then PASSES times over, each LABEL
//       alone beside it: attached, 300 ms to settle, a window of MS, and one line per program,
//         "window PASS LABEL NAME NS_PER_EVENT FLOOR_NS_PER_EVENT EVENTS"
//       (the floor's program of the same name, in the same window), then detached. Then it prints
//       "measured" and detaches the floor once stdin closes. Statically linked, it needs no other tool: the
//       bench runs it inside VMs. There the load starts after "floor attached" and after a second empty
//       program is attached (by another variants), and stops before stdin closes: a hook's code is patched
//       when it goes from no program to one, and from one to two (its static call), and under qemu's TCG a
//       CPU running that code while it is patched can take a stray int3.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_PROGS 8

struct attached {
	const char *label;
	struct bpf_object *obj;
	int n;
	struct bpf_program *progs[MAX_PROGS];
	struct bpf_link *links[MAX_PROGS];
};

struct stats {
	unsigned long long ns, cnt;
};

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

/* LABEL=OBJ: the object loaded with only its tp_btf programs, each attached; exits on failure. */
static void attach(char *arg, struct attached *a)
{
	char *eq = strchr(arg, '=');
	struct bpf_program *prog;

	if (!eq) {
		fprintf(stderr, "variants: %s is not LABEL=OBJ\n", arg);
		exit(2);
	}
	memset(a, 0, sizeof(*a));
	a->label = strndup(arg, eq - arg);
	a->obj = bpf_object__open_file(eq + 1, NULL);
	if (!a->obj) {
		fprintf(stderr, "variants: open %s: %s\n", eq + 1, strerror(errno));
		exit(1);
	}
	bpf_object__for_each_program(prog, a->obj) {
		const char *sec = bpf_program__section_name(prog);

		bpf_program__set_autoload(prog, strncmp(sec, "tp_btf/", 7) == 0 || strncmp(sec, "tracepoint/", 11) == 0);
	}
	if (bpf_object__load(a->obj)) {
		fprintf(stderr, "variants: load %s: %s\n", eq + 1, strerror(errno));
		exit(1);
	}
	bpf_object__for_each_program(prog, a->obj) {
		if (!bpf_program__autoload(prog) || a->n == MAX_PROGS)
			continue;
		a->links[a->n] = bpf_program__attach(prog);
		if (!a->links[a->n]) {
			fprintf(stderr, "variants: attach %s in %s: %s\n", bpf_program__name(prog), eq + 1, strerror(errno));
			exit(1);
		}
		a->progs[a->n++] = prog;
	}
}

static void detach(struct attached *a)
{
	for (int i = 0; i < a->n; i++)
		bpf_link__destroy(a->links[i]);
	bpf_object__close(a->obj);
	free((char *)a->label);
}

static struct stats stats_of(struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct stats s = { 0, 0 };

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) {
		s.ns = info.run_time_ns;
		s.cnt = info.run_cnt;
	}
	return s;
}

static struct bpf_program *named(struct attached *a, const char *name)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(bpf_program__name(a->progs[i]), name) == 0)
			return a->progs[i];
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int measure(int argc, char **argv)
{
	long ms, passes;
	struct attached floor, a;
	int stats_fd;

	if (argc < 6) {
		fprintf(stderr, "usage: variants --measure MS PASSES FLOOR=OBJ LABEL=OBJ...\n");
		return 2;
	}
	ms = atol(argv[2]);
	passes = atol(argv[3]);
	/* the kernel keeps the programs' run time and count while this descriptor is open */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "variants: enable BPF statistics: %s\n", strerror(errno));
		return 1;
	}
	attach(argv[4], &floor);
	printf("floor attached\n");
	fflush(stdout);
	for (long pass = 1; pass <= passes; pass++) {
		for (int i = 5; i < argc; i++) {
			struct stats before[MAX_PROGS], fbefore[MAX_PROGS];

			attach(argv[i], &a);
			sleep_ms(300);
			for (int p = 0; p < a.n; p++) {
				struct bpf_program *f = named(&floor, bpf_program__name(a.progs[p]));

				before[p] = stats_of(a.progs[p]);
				fbefore[p] = f ? stats_of(f) : (struct stats){ 0, 0 };
			}
			sleep_ms(ms);
			for (int p = 0; p < a.n; p++) {
				struct bpf_program *f = named(&floor, bpf_program__name(a.progs[p]));
				struct stats now = stats_of(a.progs[p]), fnow = f ? stats_of(f) : (struct stats){ 0, 0 };
				unsigned long long cnt = now.cnt - before[p].cnt, fcnt = fnow.cnt - fbefore[p].cnt;

				if (!f || cnt == 0 || fcnt == 0)
					continue;
				printf("window %ld %s %s %.1f %.1f %llu\n", pass, a.label, bpf_program__name(a.progs[p]),
				       (double)(now.ns - before[p].ns) / cnt, (double)(fnow.ns - fbefore[p].ns) / fcnt, cnt);
			}
			fflush(stdout);
			detach(&a);
		}
	}
	printf("measured\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	detach(&floor);
	close(stats_fd);
	return 0;
}

int main(int argc, char **argv)
{
	char buf[64];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	libbpf_set_print(quiet);
	if (argc > 1 && strcmp(argv[1], "--measure") == 0)
		return measure(argc, argv);
	for (int i = 1; i < argc; i++) {
		struct attached *a = malloc(sizeof(*a));

		attach(argv[i], a);
		for (int p = 0; p < a->n; p++) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);

			bpf_obj_get_info_by_fd(bpf_program__fd(a->progs[p]), &info, &len);
			printf("prog %s %s %u\n", a->label, bpf_program__name(a->progs[p]), info.id);
		}
	}
	printf("attached\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
