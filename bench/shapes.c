// SPDX-License-Identifier: Apache-2.0
// Loopback TCP load of other shapes than load.c's pump, for the bench's load-shape matrix. Each runs until
// stdin closes (or SIGTERM), sending 64-byte messages at RATE sends a second in all (0: as fast as it goes),
// and prints "ready" once its connections are up.
//
// Usage: shapes MODE RATE
//   stream    one connection: this thread sends back to back, a reader thread of the same process receives
//   twoproc   one connection: a sender process on CPU 0, a receiver process on CPU 1
//   threads   4 connections shared by 8 threads of one process (not pinned, so on both CPUs): each thread
//             sends on the connections in turn, and 4 reader threads receive
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "shapes"
#include "load-common.h"

#define SIZE 64
#define SHARED_CONNS 4
#define SENDERS 8

static int client[SHARED_CONNS], server[SHARED_CONNS];
static double per_sender; /* sends a second of each sending thread; 0: unpaced */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void connect_pair(int *c, int *s)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		fail("listen on 127.0.0.1");
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (struct sockaddr *)&addr, sizeof(addr)))
		fail("connect");
	*s = accept(lfd, NULL, NULL);
	if (*s < 0)
		fail("accept");
	setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(lfd);
}

/* Sends on the given connections in turn, paced to per_sender a second (checked every 32 sends). */
static void send_loop(const int *fds, int n, int first)
{
	char buf[SIZE];
	uint64_t start = now_ns(), sent = 0;
	int i = first;

	memset(buf, 'x', sizeof(buf));
	while (!stop) {
		if (per_sender > 0 && sent % 32 == 0) {
			double due = (double)(now_ns() - start) * per_sender / 1e9;

			if ((double)sent > due) {
				struct timespec nap = { 0, 200000 };

				nanosleep(&nap, NULL);
				continue;
			}
		}
		if (send(fds[i], buf, sizeof(buf), 0) < 0 && !stop)
			fail("send");
		sent++;
		if (++i == n)
			i = 0;
	}
}

static void *reader(void *arg)
{
	int fd = *(int *)arg;
	char buf[65536];

	while (!stop)
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
	return NULL;
}

static void *sender(void *arg)
{
	send_loop(client, SHARED_CONNS, (int)(intptr_t)arg % SHARED_CONNS);
	return NULL;
}

/* Ends when stdin closes. */
static void *watch_stdin(void *arg)
{
	char buf[64];

	(void)arg;
	while (read(0, buf, sizeof(buf)) > 0)
		;
	stop = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[SENDERS + SHARED_CONNS + 1];
	double rate;

	if (argc != 3) {
		fprintf(stderr, "usage: shapes stream|twoproc|threads RATE\n");
		return 2;
	}
	rate = strtod(argv[2], NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "stream") == 0) {
		connect_pair(&client[0], &server[0]);
		per_sender = rate;
		pthread_create(&t[0], NULL, reader, &server[0]);
		pthread_create(&t[1], NULL, watch_stdin, NULL);
		printf("ready\n");
		fflush(stdout);
		send_loop(client, 1, 0);
	} else if (strcmp(argv[1], "twoproc") == 0) {
		pid_t child;

		connect_pair(&client[0], &server[0]);
		child = fork();
		if (child < 0)
			fail("fork");
		if (child == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			pin(1);
			close(client[0]);
			reader(&server[0]);
			_exit(0);
		}
		close(server[0]);
		pin(0);
		per_sender = rate;
		pthread_create(&t[1], NULL, watch_stdin, NULL);
		printf("ready\n");
		fflush(stdout);
		send_loop(client, 1, 0);
		shutdown(client[0], SHUT_WR);
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	} else if (strcmp(argv[1], "threads") == 0) {
		for (int i = 0; i < SHARED_CONNS; i++) {
			connect_pair(&client[i], &server[i]);
			pthread_create(&t[SENDERS + i], NULL, reader, &server[i]);
		}
		per_sender = rate / SENDERS;
		for (int i = 0; i < SENDERS; i++)
			pthread_create(&t[i], NULL, sender, (void *)(intptr_t)i);
		printf("ready\n");
		fflush(stdout);
		watch_stdin(NULL);
		for (int i = 0; i < SENDERS; i++)
			pthread_join(t[i], NULL);
	} else {
		fprintf(stderr, "shapes: unknown mode %s\n", argv[1]);
		return 2;
	}
	return 0;
}
