// SPDX-License-Identifier: Apache-2.0
// The N-API addon: open and load the kernel program with its filters, attach one probe kind, drain
// the flow table into a Buffer, close. Thin and synchronous; the TypeScript side checks the
// options before calling and turns the errors thrown here ({code, errno, op}) into messages.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <node_api.h>

#include "tcptop.h"
#include "tcptop.skel.h"

#define AF_INET_ 2
#define AF_INET6_ 10
#define MAX_LINKS 8
#define ENOTSUPP_ 524 /* the kernel's internal "not supported", seen from BPF syscalls */
/* The tracefs group of the kretprobe events we make; events are named tcptop_<pid>_<seq>_<function>. */
#define EVENT_GROUP "tcptop"
#define EVENT_NAME_LEN 64 /* the kernel's MAX_EVENT_NAME_LEN */
#define TRACEFS_PATH_LEN 256 /* the TypeScript side passes no longer path */

enum probe_kind { KIND_TRACEPOINT, KIND_FENTRY, KIND_KPROBE };
static const char *const kind_names[] = { "tracepoint", "fentry", "kprobe" };

struct probe {
	struct tcptop_bpf *skel;
	enum probe_kind kind;
	struct bpf_program *progs[MAX_LINKS]; /* in attach order: entries before returns */
	int nprogs;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	char tracefs[TRACEFS_PATH_LEN]; /* where kprobe_events is; "" if not mounted */
	__u32 retprobe_instances;
	char events[MAX_LINKS][EVENT_NAME_LEN]; /* the kretprobe events we made, removed on close */
	int nevents;
	__u32 max_slots;
	__u32 lanes; /* of the counts: slot i of lane l is counts[l * max_slots + i] */
	/* the flows, counts and in_use maps, mmapped */
	struct tcptop_flow_info *flows;
	struct tcptop_flow_counts *counts;
	__u64 *in_use;
	size_t flows_len, counts_len, in_use_len;
	int cgroup_fd;
};

/* libbpf's first warning since the current operation began, given to errors as `detail`. */
static char first_warning[512];
static bool debug_log;

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (debug_log) {
		va_list copy;

		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_WARN && first_warning[0] == '\0') {
		const char *text = first_warning;
		size_t n;

		vsnprintf(first_warning, sizeof(first_warning), fmt, ap);
		if (strncmp(text, "libbpf: ", 8) == 0)
			memmove(first_warning, text + 8, strlen(text + 8) + 1);
		n = strcspn(first_warning, "\n");
		first_warning[n] = '\0';
	}
	return 0;
}

static const char *errno_code(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOSPC: return "ENOSPC";
	case ENOSYS: return "ENOSYS";
	case ENOTSUP: return "ENOTSUP";
	case ENOTSUPP_: return "ENOTSUPP";
	case ELOOP: return "ELOOP";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	default: return "EUNKNOWN";
	}
}

/* Throws one error shape: message "op: strerror", code, errno, op, detail (libbpf's warning). */
static napi_value throw_error(napi_env env, const char *op, int err)
{
	napi_value code, message, error, value;
	char text[768];

	if (err < 0)
		err = -err;
	snprintf(text, sizeof(text), "%s: %s", op, strerror(err));
	napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code);
	napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
	napi_create_error(env, code, message, &error);
	napi_create_int32(env, err, &value);
	napi_set_named_property(env, error, "errno", value);
	napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &value);
	napi_set_named_property(env, error, "op", value);
	if (first_warning[0]) {
		napi_create_string_utf8(env, first_warning, NAPI_AUTO_LENGTH, &value);
		napi_set_named_property(env, error, "detail", value);
	}
	napi_throw(env, error);
	return NULL;
}

/* One command to kprobe_events: "r<n>:group/name function" adds an event, "-:group/name" removes it. */
static int kprobe_events_write(const char *tracefs, const char *cmd)
{
	char path[PATH_MAX];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/kprobe_events", tracefs);
	/* never O_TRUNC: opening kprobe_events truncated removes every kprobe event of the system */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, cmd, strlen(cmd)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int remove_event(const char *tracefs, const char *name)
{
	char cmd[EVENT_NAME_LEN + 16];

	if (snprintf(cmd, sizeof(cmd), "-:" EVENT_GROUP "/%s", name) >= (int)sizeof(cmd))
		return -ENAMETOOLONG;
	return kprobe_events_write(tracefs, cmd);
}

/* Detach in reverse order, then remove our events: the kernel refuses while a perf event uses one. */
static void detach_all(struct probe *p)
{
	int i;

	for (i = p->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(p->links[i]);
	p->nlinks = 0;
	for (i = 0; i < p->nevents; i++)
		remove_event(p->tracefs, p->events[i]);
	p->nevents = 0;
}

static void probe_close(struct probe *p)
{
	detach_all(p);
	if (p->flows)
		munmap(p->flows, p->flows_len);
	if (p->counts)
		munmap(p->counts, p->counts_len);
	if (p->in_use)
		munmap(p->in_use, p->in_use_len);
	p->flows = NULL;
	p->counts = NULL;
	p->in_use = NULL;
	if (p->cgroup_fd >= 0) {
		close(p->cgroup_fd);
		p->cgroup_fd = -1;
	}
	tcptop_bpf__destroy(p->skel);
	p->skel = NULL;
}

static void probe_finalize(napi_env env, void *data, void *hint)
{
	struct probe *p = data;

	(void)env;
	(void)hint;
	probe_close(p);
	free(p);
}

static struct probe *get_probe(napi_env env, napi_value value)
{
	void *data = NULL;

	if (napi_get_value_external(env, value, &data) != napi_ok || !data)
		return NULL;
	return data;
}

static bool btf_has(const struct btf *btf, const char *name, int kind)
{
	return btf__find_by_name_kind(btf, name, kind) > 0;
}

/* Number of parameters of a kernel function per BTF, or -1. */
static int btf_func_params(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	const struct btf_type *t;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t ? btf_vlen(t) : -1;
}

/* Turn on only the chosen probe's programs, in attach order, after checking the kernel has them. */
static int choose_programs(napi_env env, struct probe *p, const struct btf *btf)
{
	struct tcptop_bpf *s = p->skel;
	struct bpf_program *prog;
	bool sendpage;
	int nparams;

	bpf_object__for_each_program(prog, s->obj)
		bpf_program__set_autoload(prog, false);

#define USE(prog_) (p->progs[p->nprogs++] = s->progs.prog_)
	switch (p->kind) {
	case KIND_TRACEPOINT:
		if (!btf_has(btf, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF))
			return throw_error(env, "find tracepoint sock:sock_send_length", ENOENT), -1;
		if (!btf_has(btf, "btf_trace_tcp_destroy_sock", BTF_KIND_TYPEDEF))
			return throw_error(env, "find tracepoint tcp:tcp_destroy_sock", ENOENT), -1;
		USE(tp_send);
		USE(tp_recv);
		USE(tp_destroy);
		break;
	case KIND_FENTRY:
	case KIND_KPROBE:
		nparams = btf_func_params(btf, "tcp_recvmsg");
		if (nparams < 4 || nparams > 6)
			return throw_error(env, "find kernel function tcp_recvmsg", ENOENT), -1;
		sendpage = btf_has(btf, "tcp_sendpage", BTF_KIND_FUNC);
		if (p->kind == KIND_FENTRY) {
			USE(fexit_sendmsg);
			if (sendpage)
				USE(fexit_sendpage);
			if (nparams == 4)
				USE(fexit_recvmsg4);
			else if (nparams == 5)
				USE(fexit_recvmsg5);
			else
				USE(fexit_recvmsg6);
			USE(fentry_destroy);
		} else {
			/* entries first: a return without its entry would count as lost */
			USE(kprobe_sendmsg);
			USE(kretprobe_sendmsg);
			if (sendpage) {
				USE(kprobe_sendpage);
				USE(kretprobe_sendpage);
			}
			if (nparams == 6)
				USE(kprobe_recvmsg6);
			else
				USE(kprobe_recvmsg);
			USE(kretprobe_recvmsg);
			USE(kprobe_destroy);
		}
		break;
	}
#undef USE
	for (int i = 0; i < p->nprogs; i++)
		bpf_program__set_autoload(p->progs[i], true);
	return 0;
}

/* The largest power of two in max_slots (at least 1), less one: home slots are a cookie's low bits. */
static __u32 home_mask(__u32 max_slots)
{
	__u32 pow = 1;

	while (pow <= max_slots / 2)
		pow *= 2;
	return pow - 1;
}

/* Lanes for the counts: one per CPU, as a power of two, at most TCPTOP_MAX_LANES. */
static __u32 lanes_for(int ncpus)
{
	__u32 lanes = 1;

	while (lanes * 2 <= TCPTOP_MAX_LANES && (int)(lanes * 2) <= ncpus)
		lanes *= 2;
	return lanes;
}

/* Words of the in_use bitmap: one bit per slot. */
static __u32 in_use_words(__u32 max_slots)
{
	return (__u32)(((__u64)max_slots + 63) / 64);
}

static int size_maps(struct probe *p)
{
	struct tcptop_bpf *s = p->skel;
	bool kprobe = p->kind == KIND_KPROBE;
	int err;

	/* maps another probe kind needs are shrunk to one entry rather than left unused at full size */
	if ((err = bpf_map__set_max_entries(s->maps.flows, p->max_slots)) ||
	    (err = bpf_map__set_max_entries(s->maps.counts, p->max_slots * p->lanes)) ||
	    (err = bpf_map__set_max_entries(s->maps.in_use, in_use_words(p->max_slots))) ||
	    (err = bpf_map__set_max_entries(s->maps.sock_flows_by_ptr, kprobe ? p->max_slots : 1)) ||
	    (err = bpf_map__set_max_entries(s->maps.inflight_send, kprobe ? 16384 : 1)) ||
	    (err = bpf_map__set_max_entries(s->maps.inflight_recv, kprobe ? 16384 : 1)))
		return err;
	return 0;
}

/* A mapped map's length: its size rounded up to whole pages. */
static size_t page_round(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (len + page - 1) / page * page;
}

/* An mmapable map, mapped shared and writable; NULL with errno set when it cannot be. */
static void *map_shared(struct bpf_map *map, size_t len)
{
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);

	return mem == MAP_FAILED ? NULL : mem;
}

/* Throws a TypeError "open: options.<name> must be <what>"; returns false, for the caller to return. */
static bool bad_option(napi_env env, const char *name, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "open: options.%s must be %s", name, what);
	napi_throw_type_error(env, NULL, msg);
	return false;
}

/* options[name], an integer from 0 to 2^32 - 1; anything else (missing included) is a TypeError. */
static bool option_u32(napi_env env, napi_value opts, const char *name, uint32_t *out)
{
	napi_valuetype type;
	napi_value v;
	double d;

	if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok ||
	    type != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
	    !(d >= 0 && d <= UINT32_MAX && d == (double)(uint32_t)d))
		return bad_option(env, name, "an integer from 0 to 4294967295");
	*out = (uint32_t)d;
	return true;
}

/* options[name], a boolean; anything else (missing included) is a TypeError. */
static bool option_bool(napi_env env, napi_value opts, const char *name, bool *out)
{
	napi_valuetype type;
	napi_value v;

	if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok ||
	    type != napi_boolean || napi_get_value_bool(env, v, out) != napi_ok)
		return bad_option(env, name, "true or false");
	return true;
}

/* options[name], a string shorter than len bytes, or (if nullable) null for none, read as "". */
static bool option_string(napi_env env, napi_value opts, const char *name, bool nullable, char *buf, size_t len)
{
	napi_valuetype type;
	napi_value v;
	size_t n;

	buf[0] = '\0';
	if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok)
		return bad_option(env, name, nullable ? "a string or null" : "a string");
	if (type == napi_null && nullable)
		return true;
	if (type != napi_string)
		return bad_option(env, name, nullable ? "a string or null" : "a string");
	if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || n >= len) {
		char what[64];

		snprintf(what, sizeof(what), "shorter than %zu bytes", len);
		return bad_option(env, name, what);
	}
	return napi_get_value_string_utf8(env, v, buf, len, &n) == napi_ok;
}

/* open({ kind, pid, family, cgroupPath, maxSlots, tracefs, retprobeInstances, recordCgroup }) -> handle. Loads, does
 * not attach. Every field is required (the strings may be null); a missing or wrong-typed one is a
 * TypeError, never a default. */
static napi_value probe_open(napi_env env, napi_callback_info info)
{
	napi_value argv[1], handle, null_value;
	size_t argc = 1;
	char kind[16], cgroup_path[4096], tracefs[TRACEFS_PATH_LEN], op[64];
	uint32_t pid, family, max_slots, instances;
	bool record_cgroup;
	struct btf *vmlinux_btf;
	struct probe *p;
	napi_valuetype type;
	int err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_object) {
		napi_throw_type_error(env, NULL, "open(options): options must be an object");
		return NULL;
	}
	if (!option_string(env, argv[0], "kind", false, kind, sizeof(kind)) ||
	    !option_u32(env, argv[0], "pid", &pid) ||
	    !option_u32(env, argv[0], "family", &family) ||
	    !option_string(env, argv[0], "cgroupPath", true, cgroup_path, sizeof(cgroup_path)) ||
	    !option_u32(env, argv[0], "maxSlots", &max_slots) ||
	    !option_string(env, argv[0], "tracefs", true, tracefs, sizeof(tracefs)) ||
	    !option_u32(env, argv[0], "retprobeInstances", &instances) ||
	    !option_bool(env, argv[0], "recordCgroup", &record_cgroup))
		return NULL;
	if (strcmp(kind, "tracepoint") != 0 && strcmp(kind, "fentry") != 0 && strcmp(kind, "kprobe") != 0) {
		bad_option(env, "kind", "\"tracepoint\", \"fentry\" or \"kprobe\"");
		return NULL;
	}
	if (family != 0 && family != 4 && family != 6) {
		bad_option(env, "family", "0, 4 or 6");
		return NULL;
	}
	if (max_slots == 0) {
		bad_option(env, "maxSlots", "at least 1");
		return NULL;
	}
	if (max_slots > UINT32_MAX / TCPTOP_MAX_LANES) {
		char most[32];

		/* every lane of the counts is max_slots entries of one map */
		snprintf(most, sizeof(most), "at most %u", UINT32_MAX / TCPTOP_MAX_LANES);
		bad_option(env, "maxSlots", most);
		return NULL;
	}

	first_warning[0] = '\0';
	p = calloc(1, sizeof(*p));
	if (!p)
		return throw_error(env, "open bpf object", ENOMEM);
	p->cgroup_fd = -1;
	p->max_slots = max_slots;
	p->lanes = lanes_for(libbpf_num_possible_cpus());
	strcpy(p->tracefs, tracefs);
	p->retprobe_instances = instances;
	if (strcmp(kind, "fentry") == 0)
		p->kind = KIND_FENTRY;
	else if (strcmp(kind, "kprobe") == 0)
		p->kind = KIND_KPROBE;
	else
		p->kind = KIND_TRACEPOINT; /* checked above: "tracepoint" */

	vmlinux_btf = btf__load_vmlinux_btf();
	if (!vmlinux_btf) {
		err = errno;
		free(p);
		return throw_error(env, "read kernel btf", err);
	}

	p->skel = tcptop_bpf__open();
	if (!p->skel) {
		err = errno;
		btf__free(vmlinux_btf);
		free(p);
		return throw_error(env, "open bpf object", err);
	}
	err = choose_programs(env, p, vmlinux_btf);
	btf__free(vmlinux_btf);
	if (err)
		goto fail_thrown;

	p->skel->rodata->max_slots = max_slots;
	p->skel->rodata->home_mask = home_mask(max_slots);
	p->skel->rodata->lane_mask = p->lanes - 1;
	p->skel->rodata->filter_tgid = pid;
	p->skel->rodata->filter_family = family == 4 ? AF_INET_ : family == 6 ? AF_INET6_ : 0;
	p->skel->rodata->filter_cgroup = cgroup_path[0] != '\0';
	p->skel->rodata->record_cgroup = record_cgroup;
	err = size_maps(p);
	if (err) {
		throw_error(env, "size bpf maps", err);
		goto fail_thrown;
	}

	err = tcptop_bpf__load(p->skel);
	if (err) {
		snprintf(op, sizeof(op), "load %s programs", kind_names[p->kind]);
		throw_error(env, op, err);
		goto fail_thrown;
	}

	if (cgroup_path[0]) {
		__u32 key = 0;

		p->cgroup_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p->cgroup_fd < 0) {
			throw_error(env, "open cgroup", errno);
			goto fail_thrown;
		}
		if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.cgroup_filter), &key, &p->cgroup_fd, BPF_ANY)) {
			throw_error(env, "set cgroup filter", errno);
			goto fail_thrown;
		}
	}

	p->flows_len = page_round((size_t)max_slots * sizeof(struct tcptop_flow_info));
	p->counts_len = page_round((size_t)max_slots * p->lanes * sizeof(struct tcptop_flow_counts));
	p->in_use_len = page_round((size_t)in_use_words(max_slots) * sizeof(__u64));
	p->flows = map_shared(p->skel->maps.flows, p->flows_len);
	p->counts = p->flows ? map_shared(p->skel->maps.counts, p->counts_len) : NULL;
	p->in_use = p->counts ? map_shared(p->skel->maps.in_use, p->in_use_len) : NULL;
	if (!p->in_use) {
		throw_error(env, "map flow table", errno);
		goto fail_thrown;
	}

	if (napi_create_external(env, p, probe_finalize, NULL, &handle) != napi_ok) {
		probe_close(p);
		free(p);
		return throw_error(env, "open bpf object", ENOMEM);
	}
	return handle;

fail_thrown:
	probe_close(p);
	free(p);
	napi_get_null(env, &null_value);
	return null_value;
}

/* Remove the events of recorders that died without closing (killed, crashed), named by their pid.
 * The list is read whole before removing, since removing while reading could skip lines; more than
 * fit here wait for the next open. */
static void remove_stale_events(const char *tracefs)
{
	char path[PATH_MAX], line[512], stale[64][EVENT_NAME_LEN];
	int nstale = 0, pid, i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kprobe_events", tracefs);
	f = fopen(path, "re");
	if (!f)
		return;
	while (nstale < 64 && fgets(line, sizeof(line), f)) {
		/* e.g. "r4096:tcptop/tcptop_1234_0_tcp_sendmsg tcp_sendmsg" */
		char *name = strstr(line, ":" EVENT_GROUP "/");

		if (!name)
			continue;
		name += strlen(":" EVENT_GROUP "/");
		name[strcspn(name, " \n")] = '\0';
		if (strlen(name) >= EVENT_NAME_LEN || sscanf(name, "tcptop_%d_", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		strcpy(stale[nstale++], name);
	}
	fclose(f);
	/* one still in use (by a recorder in another pid namespace) is refused with EBUSY, rightly */
	for (i = 0; i < nstale; i++)
		remove_event(tracefs, stale[i]);
}

/*
 * Attach a kretprobe program with p->retprobe_instances instances (the kernel's maxactive). Each
 * call inside the function holds an instance until it returns, waiting for data included; a call
 * that finds none left never runs the return program, so a thread-per-connection server would lose
 * bytes. libbpf 1.1 attaches kretprobes through the kprobe PMU, where the kernel always takes its
 * default of max(10, 2 x CPUs) and no option raises it; a kprobe_events line can ("r4096:"). So we
 * make the event in tracefs, as libbpf's legacy mode does, and attach to its perf tracepoint. Our
 * events also show in kprobe_profile, whose misses column tells the caller the calls it lost.
 */
static struct bpf_link *attach_retprobe(struct probe *p, struct bpf_program *prog, char *op, size_t oplen)
{
	static unsigned int seq; /* several probes in one process each get their own events */
	const char *section = bpf_program__section_name(prog);
	const char *func = strchr(section, '/') + 1;
	char name[EVENT_NAME_LEN], cmd[2 * EVENT_NAME_LEN + 32], path[PATH_MAX];
	struct perf_event_attr attr = {};
	struct bpf_link *link;
	unsigned long long id;
	int pfd, err, n;
	FILE *f;

	if (!p->tracefs[0]) {
		snprintf(op, oplen, "find tracefs");
		errno = ENOENT;
		return NULL;
	}
	if (p->nevents == 0)
		remove_stale_events(p->tracefs);
	snprintf(name, sizeof(name), "tcptop_%d_%u_%s", getpid(), seq++, func);
	snprintf(op, oplen, "create kretprobe event " EVENT_GROUP "/%s", name);
	snprintf(cmd, sizeof(cmd), "r%u:" EVENT_GROUP "/%s %s", p->retprobe_instances, name, func);
	err = kprobe_events_write(p->tracefs, cmd);
	if (err == -EEXIST) {
		/* left by an earlier process that had our pid */
		remove_event(p->tracefs, name);
		err = kprobe_events_write(p->tracefs, cmd);
	}
	if (err) {
		errno = -err;
		return NULL;
	}
	strcpy(p->events[p->nevents++], name);

	snprintf(op, oplen, "attach %s", section);
	snprintf(path, sizeof(path), "%s/events/" EVENT_GROUP "/%s/id", p->tracefs, name);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = fscanf(f, "%llu", &id);
	fclose(f);
	if (n != 1) {
		errno = EINVAL;
		return NULL;
	}
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.config = id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	/* any task on cpu 0: the BPF program of a trace event runs on every CPU whatever the event's */
	pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return NULL;
	link = bpf_program__attach_perf_event(prog, pfd);
	if (!link) {
		err = errno;
		close(pfd); /* libbpf owns it only once attached */
		errno = err;
	}
	return link;
}

/* attach(handle) -> the probe kind attached. On failure nothing stays attached. */
static napi_value probe_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	size_t argc = 1;
	struct probe *p;
	char op[128];
	int i, err;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 1 ? get_probe(env, argv[0]) : NULL;
	if (!p || !p->skel)
		return throw_error(env, "attach probe", EBADF);
	first_warning[0] = '\0';
	for (i = p->nlinks; i < p->nprogs; i++) {
		const char *section = bpf_program__section_name(p->progs[i]);
		struct bpf_link *link;

		snprintf(op, sizeof(op), "attach %s", section);
		if (strncmp(section, "kretprobe/", 10) == 0)
			link = attach_retprobe(p, p->progs[i], op, sizeof(op));
		else
			link = bpf_program__attach(p->progs[i]);
		if (!link) {
			err = errno;
			detach_all(p);
			return throw_error(env, op, err);
		}
		p->links[p->nlinks++] = link;
	}
	napi_create_string_utf8(env, kind_names[p->kind], NAPI_AUTO_LENGTH, &result);
	return result;
}

/* events(handle) -> names of the kretprobe events made for this probe (tracefs group tcptop), for
 * the caller to read their misses in kprobe_profile. Empty for the other probe kinds. */
static napi_value probe_events(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result, name;
	size_t argc = 1;
	struct probe *p;
	int i;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 1 ? get_probe(env, argv[0]) : NULL;
	if (!p || !p->skel)
		return throw_error(env, "list kretprobe events", EBADF);
	napi_create_array_with_length(env, p->nevents, &result);
	for (i = 0; i < p->nevents; i++) {
		napi_create_string_utf8(env, p->events[i], NAPI_AUTO_LENGTH, &name);
		napi_set_element(env, result, i, name);
	}
	return result;
}

/* drain(handle[, buffer]) -> Buffer: header, then every slot in use. CLOSED slots are freed once copied,
 * since the copy holds their final counts; the caller must treat them as final. The buffer of the
 * previous drain is filled again when it is large enough (the header says how much of it is used), so a
 * recorder does not hand the garbage collector a megabyte a second; else a larger one is made. */
static napi_value probe_drain(napi_env env, napi_callback_info info)
{
	struct tcptop_snapshot_header *hdr;
	struct tcptop_snapshot_record *rec;
	napi_value argv[2], buffer;
	size_t argc = 2, used = 0, capacity = 0, given = 0, need;
	bool reuse = false;
	struct probe *p;
	__u32 w, words;
	void *data;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc >= 1 ? get_probe(env, argv[0]) : NULL;
	if (!p || !p->skel)
		return throw_error(env, "read flows", EBADF);

	words = in_use_words(p->max_slots);
	for (w = 0; w < words; w++)
		capacity += (size_t)__builtin_popcountll(__atomic_load_n(&p->in_use[w], __ATOMIC_RELAXED));

	need = sizeof(*hdr) + capacity * sizeof(*rec);
	if (argc >= 2 && napi_is_buffer(env, argv[1], &reuse) == napi_ok && reuse &&
	    napi_get_buffer_info(env, argv[1], &data, &given) == napi_ok && given >= need) {
		buffer = argv[1];
	} else {
		/* room for a quarter more flows, so that a growing table does not reallocate every drain */
		need += (capacity / 4 + 64) * sizeof(*rec);
		if (napi_create_buffer(env, need, &data, &buffer) != napi_ok)
			return throw_error(env, "read flows", ENOMEM);
	}
	hdr = data;
	rec = (struct tcptop_snapshot_record *)(hdr + 1);

	/* flows made since counting wait for the next drain: their counts are cumulative */
	for (w = 0; w < words && used < capacity; w++) {
		__u64 bits = __atomic_load_n(&p->in_use[w], __ATOMIC_ACQUIRE);

		for (; bits && used < capacity; bits &= bits - 1) {
			__u32 i = w * 64 + (__u32)__builtin_ctzll(bits);
			struct tcptop_flow_info *f = &p->flows[i];
			__u32 state = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
			__u32 l;

			if (state != TCPTOP_SLOT_ACTIVE && state != TCPTOP_SLOT_CLOSED)
				continue;
			rec->slot = i;
			rec->_pad = 0;
			rec->flow.state = state;
			rec->flow.gen = f->gen;
			rec->flow.id = f->id;
			/* each lane only grows while the flow lives, so neither does the sum */
			rec->flow.rx_bytes = 0;
			rec->flow.tx_bytes = 0;
			for (l = 0; l < p->lanes; l++) {
				struct tcptop_flow_counts *c = &p->counts[(size_t)l * p->max_slots + i];

				rec->flow.rx_bytes += __atomic_load_n(&c->rx_bytes, __ATOMIC_RELAXED);
				rec->flow.tx_bytes += __atomic_load_n(&c->tx_bytes, __ATOMIC_RELAXED);
			}
			if (state == TCPTOP_SLOT_CLOSED) {
				/* its bit goes first: a program can take the slot only once it is FREE, and
				 * then sets the bit again */
				__atomic_fetch_and(&p->in_use[w], ~(1ULL << (i % 64)), __ATOMIC_ACQ_REL);
				__atomic_store_n(&f->state, TCPTOP_SLOT_FREE, __ATOMIC_RELEASE);
			}
			rec++;
			used++;
		}
	}
	hdr->lost_events = __atomic_load_n(&p->skel->bss->lost_events, __ATOMIC_RELAXED);
	hdr->lost_rx_bytes = __atomic_load_n(&p->skel->bss->lost_rx_bytes, __ATOMIC_RELAXED);
	hdr->lost_tx_bytes = __atomic_load_n(&p->skel->bss->lost_tx_bytes, __ATOMIC_RELAXED);
	hdr->nrecords = used;
	hdr->record_size = sizeof(*rec);
	return buffer;
}

/* paths(handle) -> [rx home, cached, lookup, lost, then the same for tx]: the events the programs
 * counted each way since load (enum tcptop_path), summed over the CPUs. */
static napi_value probe_paths(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result, v;
	size_t argc = 1;
	struct probe *p;
	int ncpus = libbpf_num_possible_cpus(), fd, err;
	__u64 *values;
	__u32 key;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 1 ? get_probe(env, argv[0]) : NULL;
	if (!p || !p->skel)
		return throw_error(env, "read path counters", EBADF);
	if (ncpus <= 0)
		return throw_error(env, "read path counters", -ncpus);
	values = calloc(ncpus, sizeof(*values));
	if (!values)
		return throw_error(env, "read path counters", ENOMEM);
	fd = bpf_map__fd(p->skel->maps.paths);
	napi_create_array_with_length(env, 2 * TCPTOP_PATHS, &result);
	for (key = 0; key < 2 * TCPTOP_PATHS; key++) {
		double sum = 0;
		int cpu;

		if (bpf_map_lookup_elem(fd, &key, values) != 0) {
			err = errno;
			free(values);
			return throw_error(env, "read path counters", err);
		}
		for (cpu = 0; cpu < ncpus; cpu++)
			sum += (double)values[cpu];
		napi_create_double(env, sum, &v);
		napi_set_element(env, result, key, v);
	}
	free(values);
	return result;
}

/* close(handle): detach and free everything; safe to call twice. */
static napi_value probe_close_js(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	size_t argc = 1;
	struct probe *p;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	p = argc == 1 ? get_probe(env, argv[0]) : NULL;
	if (p && p->skel)
		probe_close(p);
	return NULL;
}

static void set_u32(napi_env env, napi_value object, const char *name, uint32_t value)
{
	napi_value v;

	napi_create_uint32(env, value, &v);
	napi_set_named_property(env, object, name, v);
}

/* Where each field of the snapshot drain() returns lies (bpf/tcptop.h), for the TypeScript decoder to
 * check its own offsets against: two fields of one size swapped keep every size the same. */
static napi_value snapshot_layout(napi_env env)
{
	napi_value layout, header, record;

#define HEADER(name, field) set_u32(env, header, name, offsetof(struct tcptop_snapshot_header, field))
#define RECORD(name, field) set_u32(env, record, name, offsetof(struct tcptop_snapshot_record, field))
	napi_create_object(env, &header);
	set_u32(env, header, "size", sizeof(struct tcptop_snapshot_header));
	HEADER("lostEvents", lost_events);
	HEADER("lostRxBytes", lost_rx_bytes);
	HEADER("lostTxBytes", lost_tx_bytes);
	HEADER("nrecords", nrecords);
	HEADER("recordSize", record_size);
	napi_create_object(env, &record);
	set_u32(env, record, "size", sizeof(struct tcptop_snapshot_record));
	RECORD("slot", slot);
	RECORD("rxBytes", flow.rx_bytes);
	RECORD("txBytes", flow.tx_bytes);
	RECORD("state", flow.state);
	RECORD("gen", flow.gen);
	RECORD("pid", flow.id.pid);
	RECORD("family", flow.id.family);
	RECORD("lport", flow.id.lport);
	RECORD("rport", flow.id.rport);
	RECORD("laddr", flow.id.laddr);
	RECORD("raddr", flow.id.raddr);
	RECORD("comm", flow.id.comm);
	RECORD("cgroup", flow.id.cgroup);
#undef HEADER
#undef RECORD
	napi_create_object(env, &layout);
	napi_set_named_property(env, layout, "header", header);
	napi_set_named_property(env, layout, "record", record);
	set_u32(env, layout, "commLen", TCPTOP_COMM_LEN);
	set_u32(env, layout, "slotClosed", TCPTOP_SLOT_CLOSED);
	return layout;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		{ "open", NULL, probe_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "attach", NULL, probe_attach, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "events", NULL, probe_events, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "drain", NULL, probe_drain, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "paths", NULL, probe_paths, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "close", NULL, probe_close_js, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	napi_value v;

	debug_log = getenv("TCPTOP_BPF_DEBUG") != NULL;
	libbpf_set_print(on_libbpf_print);
	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	napi_set_named_property(env, exports, "layout", snapshot_layout(env));
	napi_create_uint32(env, TCPTOP_DEFAULT_SLOTS, &v);
	napi_set_named_property(env, exports, "defaultSlots", v);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
