// SPDX-License-Identifier: Apache-2.0
// Loopback TCP traffic made with plain syscalls, so that what each send and receive returned is known
// exactly: node cannot peek (MSG_PEEK), cannot show what one write(2) returned, and has no sendfile.
// The guest test (guest.ts) runs it and compares the bytes a probe counted with what it prints.
//
//   traffic exact 4|6                  partial send, big receive buffers, MSG_PEEK, sendfile, read(2)
//   traffic turns 4|6 ROUNDS           a process and its forked child share one socket and send on it in
//                                      turns, each turn from a new thread that exits after it (pinned
//                                      to one CPU, so that a thread usually runs on the stack the other
//                                      process's last thread freed)
//   traffic threads 4|6 PAIRS SEED [WAIT]
//                                      PAIRS connections at once, a client and a server thread each;
//                                      WAIT=receivers: the servers wait inside recv(2) while one more
//                                      connection moves its bytes, then their clients send;
//                                      WAIT=senders: the clients wait inside send(2) (small buffers)
//                                      while it does, then their servers read
//
// Prints one JSON line: {"pid":P,"comm":"..","flows":[{["pid":P,]"family":F,"laddr":"..","lport":N,"raddr":"..","rport":N,
// "tx":N,"rx":N,"what":".."},...],"facts":{...}}, with tx/rx the sums of what the syscalls returned
// (a flow's own pid where another process than the one reporting moved its bytes).
// On failure: {"error":"..."} and exit status 1.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

#define BIG (64u << 20)

static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("{\"error\":\"%s (errno %d: %s)\"}\n", msg, errno, strerror(errno));
	fflush(stdout);
	exit(1);
}

static int family;
/* SO_RCVBUF of listeners and SO_SNDBUF of clients, set before connecting (0: the defaults) */
static int small_buffers;

struct end {
	int fd;
	uint64_t tx, rx;
	const char *what;
	pid_t pid; /* the process that moved the bytes, when not this one */
};

static int listener(void)
{
	struct sockaddr_storage a = { 0 };
	socklen_t len;
	int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		fail("socket");
	if (family == 6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;

		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&a;

		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a4);
	}
	if (small_buffers && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small_buffers, sizeof(small_buffers)) < 0)
		fail("SO_RCVBUF");
	if (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 64) < 0)
		fail("bind/listen");
	return fd;
}

static int connect_to(int lfd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	int fd;

	if (getsockname(lfd, (struct sockaddr *)&a, &len) < 0)
		fail("getsockname");
	fd = socket(a.ss_family, SOCK_STREAM, 0);
	if (fd >= 0 && small_buffers && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small_buffers, sizeof(small_buffers)) < 0)
		fail("SO_SNDBUF");
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, len) < 0)
		fail("connect");
	return fd;
}

static int accept_one(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		fail("accept");
	return fd;
}

static void print_addr(struct sockaddr_storage *a, const char *name, const char *port)
{
	char text[INET6_ADDRSTRLEN];

	if (a->ss_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)a;

		inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof(text));
		printf("\"%s\":\"%s\",\"%s\":%u", name, text, port, ntohs(a6->sin6_port));
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)a;

		inet_ntop(AF_INET, &a4->sin_addr, text, sizeof(text));
		printf("\"%s\":\"%s\",\"%s\":%u", name, text, port, ntohs(a4->sin_port));
	}
}

/* Addresses are taken before the transfer: a closed socket has none. */
struct flow_out {
	struct sockaddr_storage local, peer;
	struct end *end;
};

static void describe(struct flow_out *out, struct end *e)
{
	socklen_t len = sizeof(out->local);

	if (getsockname(e->fd, (struct sockaddr *)&out->local, &len) < 0)
		fail("getsockname");
	len = sizeof(out->peer);
	if (getpeername(e->fd, (struct sockaddr *)&out->peer, &len) < 0)
		fail("getpeername");
	out->end = e;
}

static void print_flows(struct flow_out *outs, int n, const char *facts)
{
	char comm[16] = "";

	prctl(PR_GET_NAME, comm);
	printf("{\"pid\":%d,\"comm\":\"%s\",\"flows\":[", getpid(), comm);
	for (int i = 0; i < n; i++) {
		struct end *e = outs[i].end;

		printf("%s{", i ? "," : "");
		if (e->pid)
			printf("\"pid\":%d,", e->pid);
		printf("\"family\":%d,", outs[i].local.ss_family == AF_INET6 ? 6 : 4);
		print_addr(&outs[i].local, "laddr", "lport");
		putchar(',');
		print_addr(&outs[i].peer, "raddr", "rport");
		printf(",\"tx\":%llu,\"rx\":%llu,\"what\":\"%s\"}", (unsigned long long)e->tx,
		       (unsigned long long)e->rx, e->what);
	}
	printf("],\"facts\":{%s}}\n", facts);
	fflush(stdout);
}

static void send_all(struct end *e, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = send(e->fd, buf, n, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("send");
		e->tx += r;
		buf += r;
		n -= r;
	}
}

/* Receives until the peer shuts down its side, with buffers of changing length. */
static void recv_to_eof(struct end *e, char *buf, size_t cap, unsigned salt)
{
	for (unsigned k = 0;; k++) {
		size_t want = 1 + ((k * 31337u + salt * 7u) % cap);
		ssize_t r = recv(e->fd, buf, want, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("recv");
		if (r == 0)
			return;
		e->rx += r;
	}
}

/* ---- turns: two processes, one socket, a new thread each turn ---- */

#define TURN_PARENT 1009u
#define TURN_CHILD 3001u

struct turn {
	struct end *e;
	size_t bytes;
};

static void *turn_thread(void *arg)
{
	static const char buf[4096];
	struct turn *t = arg;

	send_all(t->e, buf, t->bytes);
	return NULL;
}

/* One turn: a thread sends, exits and is joined; then a pause, for its stack to be freed. */
static void take_turn(struct end *e, size_t bytes)
{
	struct turn t = { e, bytes };
	pthread_t th;

	if (pthread_create(&th, NULL, turn_thread, &t) != 0)
		fail("pthread_create");
	pthread_join(th, NULL);
	usleep(20000);
}

static void recv_exactly(struct end *e, uint64_t n)
{
	static char buf[65536];

	while (n > 0) {
		ssize_t r = recv(e->fd, buf, n < sizeof(buf) ? n : sizeof(buf), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("recv");
		e->rx += r;
		n -= r;
	}
}

static void pipe_step(int fd, bool write_it)
{
	char c = '.';

	if ((write_it ? write(fd, &c, 1) : read(fd, &c, 1)) != 1)
		fail("pipe");
}

static int run_turns(int rounds)
{
	struct end client = { .what = "turns client" }, child = { .what = "turns client (forked child)" };
	struct end server = { .what = "turns server" };
	struct flow_out outs[3];
	int to_child[2], to_parent[2], status, lfd, cpu;
	char facts[32];
	cpu_set_t cpus;
	pid_t pid;

	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0)
		fail("sched_getaffinity");
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &cpus); cpu++)
		;
	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) != 0)
		fail("sched_setaffinity");
	lfd = listener();
	client.fd = child.fd = connect_to(lfd);
	server.fd = accept_one(lfd);
	describe(&outs[0], &client);
	describe(&outs[1], &child);
	describe(&outs[2], &server);
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		fail("pipe");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		for (int i = 0; i < rounds; i++) {
			pipe_step(to_child[0], false);
			take_turn(&child, TURN_CHILD);
			pipe_step(to_parent[1], true);
		}
		_exit(child.tx == (uint64_t)rounds * TURN_CHILD ? 0 : 1);
	}
	for (int i = 0; i < rounds; i++) {
		take_turn(&client, TURN_PARENT);
		pipe_step(to_child[1], true);
		pipe_step(to_parent[0], false);
		recv_exactly(&server, TURN_PARENT + TURN_CHILD);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the forked child sent other sizes than planned");
	child.tx = (uint64_t)rounds * TURN_CHILD;
	child.pid = pid;
	close(client.fd);
	close(server.fd);
	close(lfd);
	snprintf(facts, sizeof(facts), "\"rounds\":%d", rounds);
	print_flows(outs, 3, facts);
	return 0;
}

/* ---- exact: the cases where the requested size and the bytes moved differ ---- */

struct sendfile_server {
	struct end *e;
	uint64_t reply;
};

static void *sendfile_server(void *arg)
{
	struct sendfile_server *s = arg;
	static char buf[65536], reply[4096];

	recv_to_eof(s->e, buf, sizeof(buf), 3);
	send_all(s->e, reply, s->reply);
	shutdown(s->e->fd, SHUT_WR);
	return NULL;
}

static int run_exact(void)
{
	struct end client = { .what = "partial-send+peek client" }, server = { .what = "partial-send+peek server" };
	struct end sf_client = { .what = "sendfile client" }, sf_server = { .what = "sendfile server" };
	struct flow_out outs[4];
	char *big, small[4096] = { 0 }, facts[512];
	ssize_t sent, r, peek1, peek2;
	int lfd = listener(), avail = 0;
	uint64_t requested_rx = 0;

	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED)
		fail("mmap");

	client.fd = connect_to(lfd);
	server.fd = accept_one(lfd);
	describe(&outs[0], &client);
	describe(&outs[1], &server);

	/* One non-blocking send of 64 MiB: tcp_sendmsg is asked for 64 MiB and returns what fit. */
	if (fcntl(client.fd, F_SETFL, O_NONBLOCK) < 0)
		fail("fcntl");
	sent = send(client.fd, big, BIG, MSG_NOSIGNAL);
	if (sent <= 0 || (size_t)sent >= BIG)
		fail("non-blocking send of %u bytes returned %zd, not a partial count", BIG, sent);
	client.tx += sent;

	/* Receives that ask for 64 MiB each and get what is queued. */
	while (server.rx < (uint64_t)sent) {
		r = recv(server.fd, big, BIG, 0);
		if (r <= 0)
			fail("recv");
		server.rx += r;
		requested_rx += BIG;
	}

	/* 1000 bytes back, peeked twice, then read with a 1 MiB buffer. */
	send_all(&server, small, 1000);
	for (int tries = 0; avail < 1000; tries++) {
		struct pollfd p = { .fd = client.fd, .events = POLLIN };

		if (tries > 1000)
			fail("1000 bytes never arrived");
		poll(&p, 1, 10);
		if (ioctl(client.fd, FIONREAD, &avail) < 0)
			fail("FIONREAD");
	}
	peek1 = recv(client.fd, small, sizeof(small), MSG_PEEK);
	peek2 = recv(client.fd, small, sizeof(small), MSG_PEEK);
	if (peek1 != 1000 || peek2 != 1000)
		fail("peeks returned %zd and %zd, not 1000", peek1, peek2);
	r = recv(client.fd, big, 1u << 20, 0);
	if (r != 1000)
		fail("read after peek returned %zd, not 1000", r);
	client.rx += r;
	close(client.fd);
	close(server.fd);

	/* sendfile(2) from a memfd (tcp_sendpage before Linux 6.5), answered, and read with read(2). */
	{
		const size_t size = 300001;
		struct sendfile_server s = { .e = &sf_server, .reply = 77 };
		pthread_t t;
		off_t off = 0;
		int mfd = memfd_create("tcptop-sendfile", 0);

		if (mfd < 0 || ftruncate(mfd, size) < 0)
			fail("memfd");
		sf_client.fd = connect_to(lfd);
		sf_server.fd = accept_one(lfd);
		describe(&outs[2], &sf_client);
		describe(&outs[3], &sf_server);
		if (pthread_create(&t, NULL, sendfile_server, &s) != 0)
			fail("pthread_create");
		while ((size_t)off < size) {
			r = sendfile(sf_client.fd, mfd, &off, size - off);
			if (r <= 0)
				fail("sendfile");
			sf_client.tx += r;
		}
		shutdown(sf_client.fd, SHUT_WR);
		for (;;) {
			r = read(sf_client.fd, small, sizeof(small));
			if (r < 0)
				fail("read");
			if (r == 0)
				break;
			sf_client.rx += r;
		}
		pthread_join(t, NULL);
		if (sf_client.tx != size || sf_server.rx != size || sf_client.rx != 77)
			fail("sendfile transfer moved %llu/%llu/%llu bytes", (unsigned long long)sf_client.tx,
			     (unsigned long long)sf_server.rx, (unsigned long long)sf_client.rx);
		close(sf_client.fd);
		close(sf_server.fd);
		close(mfd);
	}
	close(lfd);

	snprintf(facts, sizeof(facts),
		 "\"send_requested\":%u,\"send_returned\":%zd,\"recv_requested\":%llu,\"peeked\":%zd",
		 BIG, sent, (unsigned long long)requested_rx, peek1 + peek2);
	print_flows(outs, 4, facts);
	return 0;
}

/* ---- threads: many connections at once, so kprobe entries and returns interleave ---- */

enum wait { WAIT_NONE, WAIT_RECEIVERS, WAIT_SENDERS };

struct pair {
	int lfd;
	struct end client, server;
	uint64_t up, down;
	unsigned salt;
	enum wait wait;
	/* the connection made while the others wait inside recv or send */
	bool bystander;
	/* the thread that waits (server for WAIT_RECEIVERS, client for WAIT_SENDERS) */
	pid_t waiter;
	pthread_barrier_t *go;
};

/* The waiting threads start (receivers: clients send; senders: servers read) once released. */
static pthread_mutex_t release_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t release_cond = PTHREAD_COND_INITIALIZER;
static bool released;

static void wait_release(void)
{
	pthread_mutex_lock(&release_lock);
	while (!released)
		pthread_cond_wait(&release_cond, &release_lock);
	pthread_mutex_unlock(&release_lock);
}

static void release(void)
{
	pthread_mutex_lock(&release_lock);
	released = true;
	pthread_cond_broadcast(&release_cond);
	pthread_mutex_unlock(&release_lock);
}

static struct pair *pairs_of;
static int npairs;
static int waiting_before, waiting_after;

/* How many waiter threads are blocked inside the syscall `nr` now (/proc/self/task/TID/syscall
 * shows the number of the call a blocked thread is in). */
static int waiting_in(long nr)
{
	int n = 0;

	for (int i = 0; i < npairs; i++) {
		char path[64], text[32] = "";
		pid_t tid = __atomic_load_n(&pairs_of[i].waiter, __ATOMIC_ACQUIRE);
		FILE *f;

		if (!tid)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(text, sizeof(text), f) && atol(text) == nr && text[0] != 'r')
			n++;
		fclose(f);
	}
	return n;
}

/* Waits until the npairs - 1 waiters are inside `nr`, for at most a minute by the monotonic clock (a loaded host
 * or an emulated guest may give them a CPU only seconds later), and says how many are. */
static int waiters_inside(long nr)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int n = waiting_in(nr);

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (n >= npairs - 1 || now.tv_sec - start.tv_sec >= 60)
			return n;
		usleep(1000);
	}
}

static void send_chunks(struct end *e, uint64_t total, unsigned salt)
{
	static const char buf[32768];

	for (unsigned k = 0; total > 0; k++) {
		size_t chunk = 1 + ((k * 7919u + salt * 104729u) % sizeof(buf));

		if (chunk > total)
			chunk = total;
		send_all(e, buf, chunk);
		total -= chunk;
	}
}

static void *client_thread(void *arg)
{
	struct pair *p = arg;
	char *buf = malloc(65536);

	pthread_barrier_wait(p->go);
	if (p->bystander) {
		/* every other connection's waiter is inside its call before and after this one's bytes */
		long nr = p->wait == WAIT_RECEIVERS ? SYS_recvfrom : SYS_sendto;

		waiting_before = waiters_inside(nr);
	} else if (p->wait == WAIT_RECEIVERS) {
		wait_release();
	} else if (p->wait == WAIT_SENDERS) {
		__atomic_store_n(&p->waiter, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	}
	send_chunks(&p->client, p->up, p->salt);
	shutdown(p->client.fd, SHUT_WR);
	recv_to_eof(&p->client, buf, 65536, p->salt + 1);
	if (p->bystander) {
		long nr = p->wait == WAIT_RECEIVERS ? SYS_recvfrom : SYS_sendto;

		/* a sender between two of its calls (a partial send returns, the next one blocks) is still waiting */
		waiting_after = waiters_inside(nr);
		release();
	}
	free(buf);
	return NULL;
}

static void *server_thread(void *arg)
{
	struct pair *p = arg;
	char *buf = malloc(65536);

	pthread_barrier_wait(p->go);
	if (p->wait == WAIT_SENDERS && !p->bystander)
		wait_release();
	else if (p->wait == WAIT_RECEIVERS && !p->bystander)
		__atomic_store_n(&p->waiter, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	recv_to_eof(&p->server, buf, 65536, p->salt + 2);
	send_chunks(&p->server, p->down, p->salt + 3);
	shutdown(p->server.fd, SHUT_WR);
	free(buf);
	return NULL;
}

/* PAIRS connections with a client and a server thread each, all started at once. With a wait, one
 * more connection, the bystander, moves its bytes while the threads of the others wait inside
 * recv (their peers send only after it) or send (their peers read only after it, buffers small). */
static int run_threads(int pairs, unsigned seed, enum wait wait)
{
	int n = pairs + (wait != WAIT_NONE);
	struct pair *ps = calloc(n, sizeof(*ps));
	struct flow_out *outs = calloc(2 * n, sizeof(*outs));
	pthread_t *ts = calloc(2 * n, sizeof(*ts));
	pthread_barrier_t go;
	char facts[128];

	if (!ps || !outs || !ts || pthread_barrier_init(&go, NULL, 2 * n) != 0)
		fail("alloc");
	pairs_of = ps;
	npairs = n;
	for (int i = 0; i < n; i++) {
		struct pair *p = &ps[i];

		p->bystander = wait != WAIT_NONE && i == pairs;
		/* small buffers, so that sends block until the server reads */
		small_buffers = wait == WAIT_SENDERS && !p->bystander ? 32768 : 0;
		p->lfd = listener();
		p->client.fd = connect_to(p->lfd);
		p->server.fd = accept_one(p->lfd);
		p->client.what = p->bystander ? "bystander client" : "threads client";
		p->server.what = p->bystander ? "bystander server" : "threads server";
		/* distinct sizes per connection, so bytes paired with the wrong socket show */
		/* a waiting sender's bytes must not all fit in the two buffers (64 KiB each once the kernel
		 * doubles them, more as the receive window opens): it stays inside send(2) until released */
		p->up = p->bystander ? 20011 : (wait == WAIT_SENDERS ? 1000000 : 150000) + i * 4099u + seed * 1319u;
		p->down = p->bystander ? 5003 : 40000 + i * 1031u + seed * 173u;
		p->salt = seed * 1000 + i;
		p->wait = wait;
		p->go = &go;
		describe(&outs[2 * i], &p->client);
		describe(&outs[2 * i + 1], &p->server);
	}
	for (int i = 0; i < n; i++) {
		if (pthread_create(&ts[2 * i], NULL, client_thread, &ps[i]) != 0 ||
		    pthread_create(&ts[2 * i + 1], NULL, server_thread, &ps[i]) != 0)
			fail("pthread_create");
	}
	for (int i = 0; i < 2 * n; i++)
		pthread_join(ts[i], NULL);
	for (int i = 0; i < n; i++) {
		struct pair *p = &ps[i];

		if (p->client.tx != p->up || p->server.rx != p->up || p->server.tx != p->down ||
		    p->client.rx != p->down)
			fail("pair %d moved other sizes than planned", i);
		close(p->client.fd);
		close(p->server.fd);
		close(p->lfd);
	}
	snprintf(facts, sizeof(facts), "\"pairs\":%d,\"waiting_before\":%d,\"waiting_after\":%d", pairs,
		 waiting_before, waiting_after);
	print_flows(outs, 2 * n, facts);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3)
		family = atoi(argv[2]);
	if (argc == 3 && strcmp(argv[1], "exact") == 0 && (family == 4 || family == 6))
		return run_exact();
	if (argc == 4 && strcmp(argv[1], "turns") == 0 && (family == 4 || family == 6) && atoi(argv[3]) > 0)
		return run_turns(atoi(argv[3]));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "threads") == 0 && (family == 4 || family == 6)) {
		enum wait wait = WAIT_NONE;

		if (argc == 6 && strcmp(argv[5], "receivers") == 0)
			wait = WAIT_RECEIVERS;
		else if (argc == 6 && strcmp(argv[5], "senders") == 0)
			wait = WAIT_SENDERS;
		else if (argc == 6)
			goto usage;
		return run_threads(atoi(argv[3]), (unsigned)atoi(argv[4]), wait);
	}
usage:
	fprintf(stderr, "usage: traffic exact 4|6 | traffic turns 4|6 ROUNDS | traffic threads 4|6 PAIRS SEED [receivers|senders]\n");
	return 2;
}
