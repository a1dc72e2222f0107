// SPDX-License-Identifier: Apache-2.0
// Count the TCP bytes each flow (process + connection) sends and receives, as returned to the
// application. The hot path is the socket's cookie, the calling process, and one atomic add into the
// flow's home slot, the one its cookie picks, in the counts' lane of the CPU; flows away from home are found
// through the socket's storage.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcptop.h"

#define AF_INET 2
#define AF_INET6 10
#define MSG_PEEK 2

char LICENSE[] SEC("license") = "GPL";

/* Filters and sizes, set by the addon before load (0 = no filter). */
const volatile __u32 max_slots = TCPTOP_DEFAULT_SLOTS;
/* A socket's home slot is its cookie's low bits: this mask, the largest power of two in max_slots less one.
 * A mask, not a modulo: on the hot path a division costs as much as all the rest of the lookup. */
const volatile __u32 home_mask = TCPTOP_DEFAULT_SLOTS - 1;
/* The counts' lanes, less one (a power of two less one): each CPU adds into lane (CPU number & lane_mask),
 * so CPUs that add to one flow at once each write a cache line of their own. The addon sets it from the
 * machine's CPUs, at most TCPTOP_MAX_LANES; the default serves the bench, which loads the object as built
 * (and builds a one-lane copy for reference, -DTCPTOP_BENCH_LANES=1). */
#ifndef TCPTOP_BENCH_LANES
#define TCPTOP_BENCH_LANES TCPTOP_MAX_LANES
#endif
const volatile __u32 lane_mask = TCPTOP_BENCH_LANES - 1;
const volatile __u32 filter_tgid = 0;
const volatile __u16 filter_family = 0; /* AF_INET or AF_INET6 */
const volatile bool filter_cgroup = false;
/* Off only for the bench's reference: the flow's cgroup then reads 0 (unknown). */
const volatile bool record_cgroup = true;

/* Cumulative: userspace takes deltas. */
__u64 lost_events = 0;
__u64 lost_rx_bytes = 0;
__u64 lost_tx_bytes = 0;

/* The flows' identities and states; userspace mmaps it and reads it with the counts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TCPTOP_DEFAULT_SLOTS);
	__type(key, __u32);
	__type(value, struct tcptop_flow_info);
} flows SEC(".maps");

/* The flows' byte counts, slot for slot with flows, once per lane: slot i of lane l is entry
 * l * max_slots + i; mmapped too. A socket's home slot is its cookie's low bits (home_mask), and cookies
 * are handed out in order, so the sockets a machine is busy with lie close together in each lane: a few
 * pages and cache lines, whatever the number of connections. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TCPTOP_DEFAULT_SLOTS * TCPTOP_MAX_LANES);
	__type(key, __u32);
	__type(value, struct tcptop_flow_counts);
} counts SEC(".maps");

/* One bit per slot holding a flow for userspace to read: set by the program that made the flow, cleared by
 * userspace just before it frees the slot. Mapped, so that a drain walks words, not the whole table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TCPTOP_DEFAULT_SLOTS / 64);
	__type(key, __u32);
	__type(value, __u64);
} in_use SEC(".maps");

/* Counted events by direction and way (enum tcptop_path), per CPU: no cache line is shared between CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * TCPTOP_PATHS);
	__type(key, __u32);
	__type(value, __u64);
} paths SEC(".maps");

/* Which slots a socket's bytes go to, one per process using it. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tcptop_sock_flows);
} sock_flows SEC(".maps");

/* The same for kprobes, which cannot use socket storage: keyed by the sock pointer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPTOP_DEFAULT_SLOTS);
	__type(key, __u64);
	__type(value, struct tcptop_sock_flows);
} sock_flows_by_ptr SEC(".maps");

/* kprobe calls in flight, keyed by thread (pid_tgid), so concurrent threads pair correctly. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tcptop_inflight);
} inflight_send SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tcptop_inflight);
} inflight_recv SEC(".maps");

/* The cgroup v2 directory of --cgroup; its subtree is counted. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

enum direction { RX, TX };

/* Atomic although per CPU: a preemptible kernel may run another program on this CPU between a load
 * and its store. */
static __always_inline void count_path(enum direction dir, enum tcptop_path way)
{
	__u32 key = dir * TCPTOP_PATHS + way;
	__u64 *n = bpf_map_lookup_elem(&paths, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void count_lost(enum direction dir, __u64 bytes)
{
	count_path(dir, TCPTOP_PATH_LOST);
	__sync_fetch_and_add(&lost_events, 1);
	if (dir == TX)
		__sync_fetch_and_add(&lost_tx_bytes, bytes);
	else
		__sync_fetch_and_add(&lost_rx_bytes, bytes);
}

/* The filters that do not need the process: the cgroup is checked on every event, since a process
 * can move. The pid filter is checked where the tgid is known; a flow only exists for a wanted one. */
static __always_inline bool wanted(struct sock *sk, bool btf_sk)
{
	if (filter_cgroup && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return false;
	if (filter_family) {
		__u16 family = btf_sk ? sk->__sk_common.skc_family
				      : BPF_CORE_READ(sk, __sk_common.skc_family);
		if (family != filter_family)
			return false;
	}
	return true;
}

/* A 32-bit mix of a 64-bit value (the fold of a multiplicative hash), to start a new flow's search. */
static __always_inline __u32 mix(__u64 x)
{
	x *= 0x9E3779B97F4A7C15ULL;
	return (__u32)(x >> 32) ^ (__u32)x;
}

/* A slot's counts in a lane: a lane is max_slots entries. */
static __always_inline struct tcptop_flow_counts *counts_in(__u32 lane, __u32 slot)
{
	__u32 at = lane * max_slots + slot;

	return bpf_map_lookup_elem(&counts, &at);
}

/* The cookie's home slot in this CPU's lane, for the hot path: the lane's start plus the cookie's low bits.
 * For the default table it is worked out from immediates: the verifier knows the const volatile layout
 * when it loads the program and keeps only the branch that matches it. An index computed from
 * values loaded out of .rodata makes the counts' access wait for that page's walk first (after every
 * system call on a kernel with page-table isolation and no PCID, the TLB is cold), and two page walks in a
 * row cost 16 to 24 ns more per event on the bench's machine. */
static __always_inline __u32 home_slot(__u64 cookie)
{
	__u32 cpu = bpf_get_smp_processor_id();

#define HOME_IN_DEFAULT(lanes) \
	((cpu & ((lanes) - 1)) * TCPTOP_DEFAULT_SLOTS + ((__u32)cookie & (TCPTOP_DEFAULT_SLOTS - 1)))
	if (max_slots == TCPTOP_DEFAULT_SLOTS) {
		if (lane_mask == 0)
			return HOME_IN_DEFAULT(1);
		if (lane_mask == 1)
			return HOME_IN_DEFAULT(2);
		if (lane_mask == 3)
			return HOME_IN_DEFAULT(4);
	}
#undef HOME_IN_DEFAULT
	return (cpu & lane_mask) * max_slots + ((__u32)cookie & home_mask);
}

/* Every lane in use, for what a slot's counts get in all of them (zeroed, made a flow). */
#define for_each_lane(lane) for (lane = 0; lane < TCPTOP_MAX_LANES && lane <= lane_mask; lane++)

/* Take a free slot for (socket, process) and write the flow's identity; it stays TAKEN until made. The
 * first try is the home slot (with a cookie: the cookie's low bits, home_mask); then slots the hash of
 * socket, process and try picks (seed: the cookie, or a random number where there is none), each
 * free with the odds of the table's free share: homes lie in runs, so a search that walked on from one
 * would stay in the run. A table of fewer than TCPTOP_PROBES slots is instead tried whole, in order. Each
 * try is one compare-and-swap of the state, so racing programs never share a slot. */
static __always_inline struct tcptop_flow_info *take_slot(struct sock *sk, __u32 tgid, __u64 cookie, __u64 seed,
							  __u32 *slot)
{
	__u64 key = seed ^ ((__u64)tgid << 32);
	bool small = max_slots < TCPTOP_PROBES;
	__u32 tries = small ? max_slots : TCPTOP_PROBES;
	__u32 home = cookie ? (__u32)cookie & home_mask : mix(key) % max_slots;
	struct tcptop_flow_counts *c;
	struct tcptop_flow_info *f;
	__u32 i, idx = 0;
	bool taken = false;

	for (i = 0; i < TCPTOP_PROBES && i < tries; i++) {
		if (i == 0)
			idx = home;
		else if (small)
			idx = (home + i) % max_slots;
		else
			idx = mix(key + i * 0x2545F4914F6CDD1DULL) % max_slots;
		f = bpf_map_lookup_elem(&flows, &idx);
		if (!f)
			return NULL;
		if (f->state == TCPTOP_SLOT_FREE &&
		    __sync_val_compare_and_swap(&f->state, TCPTOP_SLOT_FREE, TCPTOP_SLOT_TAKEN) == TCPTOP_SLOT_FREE) {
			taken = true;
			break;
		}
	}
	if (!taken)
		return NULL;
	f = bpf_map_lookup_elem(&flows, &idx);
	if (!f)
		return NULL;
	/* a FREE slot's cookie, if any, is a destroyed socket's: no event adds to it while it is zeroed, in
	 * every lane */
	for_each_lane(i) {
		c = counts_in(i, idx);
		if (!c)
			return NULL;
		c->rx_bytes = 0;
		c->tx_bytes = 0;
	}
	f->gen += 1;
	f->id.pid = tgid;
	bpf_get_current_comm(f->id.comm, sizeof(f->id.comm));
	/* once per flow, like the comm: nothing per event */
	f->id.cgroup = record_cgroup ? bpf_get_current_cgroup_id() : 0;
	/* not skc_num: a half-closed socket that reached TCP_CLOSE has it zeroed while still readable */
	f->id.lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	f->id.rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6) {
		f->id.family = 6;
		BPF_CORE_READ_INTO(&f->id.laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&f->id.raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		f->id.family = 4;
		__builtin_memset(f->id.laddr, 0, sizeof(f->id.laddr));
		__builtin_memset(f->id.raddr, 0, sizeof(f->id.raddr));
		BPF_CORE_READ_INTO((__u32 *)f->id.laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)f->id.raddr, sk, __sk_common.skc_daddr);
	}
	*slot = idx;
	return f;
}

/* The slot is a flow now: its counts in every lane say whose they are (the exchange is fully ordered on
 * every architecture's JIT, so the zeroed counters and the pid are visible first), its state says so to
 * userspace, and its bit makes drain look at it. */
static __always_inline void make_flow(struct tcptop_flow_info *f, __u32 idx, __u32 tgid, __u64 cookie)
{
	struct tcptop_flow_counts *c;
	__u32 word = idx / 64, i;
	__u64 *bits;

	for_each_lane(i) {
		c = counts_in(i, idx);
		if (c) {
			c->pid = tgid;
			__sync_lock_test_and_set(&c->cookie, cookie);
		}
	}
	f->state = TCPTOP_SLOT_ACTIVE;
	bits = bpf_map_lookup_elem(&in_use, &word);
	if (bits)
		__sync_fetch_and_or(bits, 1ULL << (idx % 64));
}

/* A slot taken and then not needed goes back: it was never a flow, so userspace never saw it. */
static __always_inline void give_back(struct tcptop_flow_info *f)
{
	__sync_lock_test_and_set(&f->state, TCPTOP_SLOT_FREE);
}

/* The slot a socket's entries give the process, or -1 if it has none yet. */
static __always_inline long entry_slot(struct tcptop_sock_flows *sf, __u32 tgid)
{
	int i;

#pragma unroll
	for (i = 0; i < TCPTOP_PIDS_PER_SOCK; i++) {
		__u64 e = sf->entry[i];

		if (e == 0)
			break;
		if ((e >> 32) == tgid)
			return (__u32)e - 1;
	}
	return -1;
}

/* The slot of (socket, process), taking one on first use. Lock-free: a racing thread of the same
 * process that claims the entry first wins, and the loser gives its slot back. cookie: the socket's, or
 * 0 where the probe cannot ask for it (kprobes); a flow without one is only found through the entries.
 * seed: what the search for a free slot starts from (take_slot). */
static __always_inline long slot_of(struct tcptop_sock_flows *sf, struct sock *sk, __u32 tgid, __u64 cookie,
				    __u64 seed)
{
	struct tcptop_flow_info *f;
	__u64 want, old;
	__u32 idx;
	long s;
	int i;

	s = entry_slot(sf, tgid);
	if (s >= 0)
		return s;

	f = take_slot(sk, tgid, cookie, seed, &idx);
	if (!f)
		return -1;
	want = ((__u64)tgid << 32) | (idx + 1);
#pragma unroll
	for (i = 0; i < TCPTOP_PIDS_PER_SOCK; i++) {
		old = __sync_val_compare_and_swap(&sf->entry[i], 0, want);
		if (old == 0) {
			/* identity and zeroed counters must be visible before the state says so: the
			 * compare-and-swap above is fully ordered on every architecture's JIT */
			asm volatile("" ::: "memory");
			make_flow(f, idx, tgid, cookie);
			return idx;
		}
		if ((old >> 32) == tgid) {
			give_back(f);
			return (__u32)old - 1;
		}
	}
	give_back(f);
	return -1;
}

/* The socket's storage where bpf_sk_storage_get finds it first: the socket's cache of its storages
 * (one slot per socket-storage map, the map's cache_idx), read with plain loads instead of a helper
 * call. NULL when it is not there (no storage yet, or another map holds the cache slot); the helper
 * then looks it up. Read-only: entries are claimed through the helper's pointer. The program runs
 * under RCU, which keeps a storage it found alive until it returns. */
static __always_inline struct tcptop_sock_flows *cached_sock_flows(struct sock *sk)
{
	struct bpf_local_storage_map *smap = (struct bpf_local_storage_map *)&sock_flows;
	struct bpf_local_storage *ls;
	struct bpf_local_storage_data *sd;

	/* kernel internals, not ABI: on a kernel that lays them out otherwise, libbpf drops this path
	 * at load time and every event takes the helper, instead of the program failing to load */
	if (!bpf_core_field_exists(sk->sk_bpf_storage) || !bpf_core_field_exists(smap->cache_idx) ||
	    !bpf_core_field_exists(ls->cache) || !bpf_core_field_exists(sd->smap) || !bpf_core_field_exists(sd->data))
		return NULL;
	ls = sk->sk_bpf_storage;
	if (!ls)
		return NULL;
	/* the verifier allows only constant offsets into kernel structs: one case per cache slot */
	switch (smap->cache_idx) {
#define CACHED(i) case i: sd = ls->cache[i]; break;
	CACHED(0) CACHED(1) CACHED(2) CACHED(3) CACHED(4) CACHED(5) CACHED(6) CACHED(7)
	CACHED(8) CACHED(9) CACHED(10) CACHED(11) CACHED(12) CACHED(13) CACHED(14) CACHED(15)
#undef CACHED
	default:
		return NULL;
	}
	if (!sd || sd->smap != smap)
		return NULL;
	return (struct tcptop_sock_flows *)sd->data;
}

/* The bench builds copies of this program that never look for the home slot (TCPTOP_BENCH_NO_HOME), that
 * always take the helpers (TCPTOP_BENCH_HELPERS), that keep one lane (TCPTOP_BENCH_LANES), and that stop
 * after step N of the hot path (-DTCPTOP_BENCH_CUT=N), to show what each step costs on the machine at hand;
 * a product build defines none of them. */
#ifdef TCPTOP_BENCH_CUT
#define BENCH_STOP(n) (TCPTOP_BENCH_CUT == (n))
#else
#define BENCH_STOP(n) false
#endif

/* Bytes into a flow's counts: one atomic add; then which way the event came. */
static __always_inline void add_counts(struct tcptop_flow_counts *c, __u64 bytes, enum direction dir, enum tcptop_path way)
{
	if (dir == TX)
		__sync_fetch_and_add(&c->tx_bytes, bytes);
	else
		__sync_fetch_and_add(&c->rx_bytes, bytes);
	if (BENCH_STOP(2))
		return;
	count_path(dir, way);
}

/* The one place bytes are added by slot number. */
static __always_inline void add_bytes(__u32 slot, __u64 bytes, enum direction dir, enum tcptop_path way)
{
	struct tcptop_flow_counts *c = counts_in(bpf_get_smp_processor_id() & lane_mask, slot);

	if (c)
		add_counts(c, bytes, dir, way);
	else
		count_lost(dir, bytes);
}

/* The hot path: the socket's cookie (in the socket, which the kernel has just used) picks the home slot,
 * whose counts name the socket and process they belong to. False when they name others: the flow lives
 * away from home, or has no slot yet, or the socket has no cookie yet (its first event asks for one). */
static __always_inline bool add_at_home(struct sock *sk, __u32 tgid, __u64 bytes, enum direction dir)
{
	struct tcptop_flow_counts *c;
	__u64 cookie;
	__u32 home;

	if (!bpf_core_field_exists(sk->__sk_common.skc_cookie))
		return false;
	cookie = sk->__sk_common.skc_cookie.counter;
	if (!cookie)
		return false;
	home = home_slot(cookie);
	c = bpf_map_lookup_elem(&counts, &home);
	if (!c || c->cookie != cookie || c->pid != tgid)
		return false;
	if (BENCH_STOP(1))
		return true;
	add_counts(c, bytes, dir, TCPTOP_PATH_HOME);
	return true;
}

/* The tracing probes' accounting path: sk and the task are BTF pointers, the socket has storage.
 * any_socket: the hook fires for every kind of socket; only TCP ones get storage or a cookie in our
 * counts, so a socket found with either is TCP, and the protocol is looked at only on the way to making
 * a flow. */
static __always_inline void count_traced(struct sock *sk, __u64 bytes, enum direction dir, bool any_socket)
{
	struct tcptop_sock_flows *sf;
	__u64 cookie;
	__u32 tgid;
	long s;

	if (BENCH_STOP(0))
		return;
	if (!wanted(sk, true))
		return;
	tgid = bpf_get_current_task_btf()->tgid;

#if !defined(TCPTOP_BENCH_HELPERS) && !defined(TCPTOP_BENCH_NO_HOME)
	if (add_at_home(sk, tgid, bytes, dir))
		return;
#endif
#ifndef TCPTOP_BENCH_HELPERS
	/* a flow away from home: the socket's storage in its cache, with an entry for this process */
	sf = cached_sock_flows(sk);
	if (sf) {
		s = entry_slot(sf, tgid);
		if (s >= 0) {
			add_bytes(s, bytes, dir, TCPTOP_PATH_CACHED);
			return;
		}
	}
#endif

	if (any_socket && sk->sk_protocol != IPPROTO_TCP)
		return;
	if (filter_tgid && tgid != filter_tgid)
		return;
	sf = bpf_sk_storage_get(&sock_flows, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!sf) {
		count_lost(dir, bytes);
		return;
	}
	cookie = bpf_get_socket_cookie(sk);
	s = slot_of(sf, sk, tgid, cookie, cookie);
	if (s < 0) {
		count_lost(dir, bytes);
		return;
	}
	add_bytes(s, bytes, dir, TCPTOP_PATH_LOOKUP);
}

/* The kprobes' accounting path: sk is a raw pointer, the socket's entries live in a hash. */
static __always_inline void count_probed(struct sock *sk, __u64 bytes, enum direction dir)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tcptop_sock_flows *sf;
	__u64 key = (__u64)sk;
	long s;

	if ((filter_tgid && tgid != filter_tgid) || !wanted(sk, false))
		return;

	sf = bpf_map_lookup_elem(&sock_flows_by_ptr, &key);
	if (!sf) {
		struct tcptop_sock_flows empty = {};

		bpf_map_update_elem(&sock_flows_by_ptr, &key, &empty, BPF_NOEXIST);
		sf = bpf_map_lookup_elem(&sock_flows_by_ptr, &key);
	}
	if (!sf) {
		count_lost(dir, bytes);
		return;
	}
	/* no cookie and no home: the search for a slot may start anywhere */
	s = slot_of(sf, sk, tgid, 0, bpf_get_prandom_u32());
	if (s < 0) {
		count_lost(dir, bytes);
		return;
	}
	add_bytes(s, bytes, dir, TCPTOP_PATH_LOOKUP);
}

/* The socket is gone: its slots' counts are final, userspace may read and free them. */
static __always_inline void close_flows(struct tcptop_sock_flows *sf)
{
	struct tcptop_flow_info *f;
	__u32 slot;
	int i;

#pragma unroll
	for (i = 0; i < TCPTOP_PIDS_PER_SOCK; i++) {
		__u64 e = sf->entry[i];

		if (e == 0)
			break;
		slot = (__u32)e - 1;
		f = bpf_map_lookup_elem(&flows, &slot);
		if (f)
			f->state = TCPTOP_SLOT_CLOSED;
	}
}

/* 1. Tracepoints (Linux >= 6.3): stable ABI, fire after every socket send/receive incl. sendfile. */

SEC("tp_btf/sock_send_length")
int BPF_PROG(tp_send, struct sock *sk, int ret, int flags)
{
#ifdef TCPTOP_BENCH_HASH
	if (ret > 0 && sk && sk->sk_protocol == IPPROTO_TCP)
		count_probed(sk, ret, TX);
	return 0;
#endif
	if (ret > 0 && sk)
		count_traced(sk, ret, TX, true);
	return 0;
}

/* A peek leaves the bytes queued: they are counted when really read. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(tp_recv, struct sock *sk, int ret, int flags)
{
#ifdef TCPTOP_BENCH_HASH
	if (ret > 0 && !(flags & MSG_PEEK) && sk && sk->sk_protocol == IPPROTO_TCP)
		count_probed(sk, ret, RX);
	return 0;
#endif
	if (ret > 0 && !(flags & MSG_PEEK) && sk)
		count_traced(sk, ret, RX, true);
	return 0;
}

/* The tracing probes' end of a socket: its flows become CLOSED and its storage goes. */
static __always_inline int destroy_traced(struct sock *sk)
{
	struct tcptop_sock_flows *sf = bpf_sk_storage_get(&sock_flows, sk, 0, 0);

	if (sf) {
		close_flows(sf);
		bpf_sk_storage_delete(&sock_flows, sk);
	}
	return 0;
}

/* Fires once per TCP socket when it is destroyed, after its last send or receive. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tp_destroy, struct sock *sk)
{
	return destroy_traced(sk);
}

/* 2. fentry/fexit (BTF, >= 5.12 for the atomics used): fexit sees the bytes actually moved. */

/* The return value, not the requested size, which overcounts partial sends (bcc #2440). */
SEC("fexit/tcp_sendmsg")
int BPF_PROG(fexit_sendmsg, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	if (ret > 0)
		count_traced(sk, ret, TX, false);
	return 0;
}

/* sendfile and splice bypass tcp_sendmsg before Linux 6.5; loaded only where it exists. */
SEC("fexit/tcp_sendpage")
int BPF_PROG(fexit_sendpage, struct sock *sk, struct page *page, int offset, size_t size, int flags,
	     int ret)
{
	if (ret > 0)
		count_traced(sk, ret, TX, false);
	return 0;
}

/* tcp_recvmsg's signature changed twice; the addon loads the variant the kernel's BTF has. */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(fexit_recvmsg4, struct sock *sk, struct msghdr *msg, size_t len, int flags, int ret)
{
	if (ret > 0 && !(flags & MSG_PEEK))
		count_traced(sk, ret, RX, false);
	return 0;
}

/* Linux 5.19 until addr_len was dropped. */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(fexit_recvmsg5, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	if (ret > 0 && !(flags & MSG_PEEK))
		count_traced(sk, ret, RX, false);
	return 0;
}

/* Before Linux 5.19, with the nonblock argument. */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(fexit_recvmsg6, struct sock *sk, struct msghdr *msg, size_t len, int nonblock,
	     int flags, int *addr_len, int ret)
{
	if (ret > 0 && !(flags & MSG_PEEK))
		count_traced(sk, ret, RX, false);
	return 0;
}

/* Called for IPv4 and IPv6 sockets alike when the socket is destroyed. */
SEC("fentry/tcp_v4_destroy_sock")
int BPF_PROG(fentry_destroy, struct sock *sk)
{
	return destroy_traced(sk);
}

/* 3. kprobes, the last resort: the entry remembers the socket per thread, the return counts. The
 * addon gives each kretprobe 4096 instances (calls in flight); userspace reports the calls that still
 * found none, which never reach the return program, as lost events (kprobe_profile's misses). */

static __always_inline void remember_call(void *inflight, struct sock *sk, __u32 flags)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct tcptop_inflight call = { .sk = (__u64)sk, .flags = flags };

	bpf_map_update_elem(inflight, &tid, &call, BPF_ANY);
}

static __always_inline void finish_call(void *inflight, long ret, enum direction dir)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct tcptop_inflight *p = bpf_map_lookup_elem(inflight, &tid);
	struct tcptop_inflight call;

	if (!p) {
		/* the entry could not be remembered (table full): the bytes are known, the flow is not */
		if (ret > 0)
			count_lost(dir, ret);
		return;
	}
	call = *p;
	bpf_map_delete_elem(inflight, &tid);
	if (ret > 0 && !(call.flags & MSG_PEEK))
		count_probed((struct sock *)call.sk, ret, dir);
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(kprobe_sendmsg, struct sock *sk)
{
	remember_call(&inflight_send, sk, 0);
	return 0;
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(kretprobe_sendmsg, int ret)
{
	finish_call(&inflight_send, ret, TX);
	return 0;
}

/* sendfile and splice before Linux 6.5; loaded only where it exists. */
SEC("kprobe/tcp_sendpage")
int BPF_KPROBE(kprobe_sendpage, struct sock *sk)
{
	remember_call(&inflight_send, sk, 0);
	return 0;
}

SEC("kretprobe/tcp_sendpage")
int BPF_KRETPROBE(kretprobe_sendpage, int ret)
{
	finish_call(&inflight_send, ret, TX);
	return 0;
}

/* Flags are the 4th argument since Linux 5.19; the addon loads the matching variant. */
SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(kprobe_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	remember_call(&inflight_recv, sk, flags);
	return 0;
}

/* Before Linux 5.19 the nonblock argument came first. */
SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(kprobe_recvmsg6, struct sock *sk, struct msghdr *msg, size_t len, int nonblock,
	       int flags)
{
	remember_call(&inflight_recv, sk, flags);
	return 0;
}

SEC("kretprobe/tcp_recvmsg")
int BPF_KRETPROBE(kretprobe_recvmsg, int ret)
{
	finish_call(&inflight_recv, ret, RX);
	return 0;
}

SEC("kprobe/tcp_v4_destroy_sock")
int BPF_KPROBE(kprobe_destroy, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct tcptop_sock_flows *sf = bpf_map_lookup_elem(&sock_flows_by_ptr, &key);

	if (sf) {
		close_flows(sf);
		bpf_map_delete_elem(&sock_flows_by_ptr, &key);
	}
	return 0;
}
