/*
 * One container lifecycle driven the way containerd's runc shim drives an OCI
 * runtime, with nothing else in the measurement (no shell, no state polling):
 *
 *   cycle-shim RUNTIME BUNDLE create   R create --bundle B --pid-file F ID; R start ID;
 *                                      reap the container's process (this program is
 *                                      its subreaper, as the shim is); R delete ID
 *   cycle-shim RUNTIME BUNDLE run      R run --bundle B ID (foreground)
 *
 * Every step must exit 0; on a failure the container is force-deleted and the exit
 * status is 1. With CYCLE_STEPS=1 in the environment it prints each step's duration (ms)
 * on stderr. Built by lifecycle.sh with `cc -O2`; a benchmark tool, not part of Berth.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *runtime;
static char pidfile[128]; /* create's --pid-file; removed on every way out */
static int print_steps;
static double last_mark;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* With CYCLE_STEPS=1: how long the step that just ended took. */
static void step(const char *name)
{
	double t = now_ms();
	if (print_steps)
		fprintf(stderr, "%s %.2f\n", name, t - last_mark);
	last_mark = t;
}

/* Runs argv to its end with stdin from /dev/null; returns its exit status or -1. */
static int run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0) {
		fprintf(stderr, "cycle-shim: %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int fail(const char *id, const char *step)
{
	fprintf(stderr, "cycle-shim: %s %s failed\n", runtime, step);
	char *argv[] = { (char *)runtime, "delete", "--force", (char *)id, NULL };
	run(argv);
	if (pidfile[0])
		unlink(pidfile);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[3], "create") != 0 && strcmp(argv[3], "run") != 0)) {
		fprintf(stderr, "usage: cycle-shim RUNTIME BUNDLE create|run\n");
		return 2;
	}
	runtime = argv[1];
	char *bundle = argv[2];
	print_steps = getenv("CYCLE_STEPS") != NULL && strcmp(getenv("CYCLE_STEPS"), "1") == 0;
	last_mark = now_ms();
	char id[64];
	snprintf(id, sizeof id, "shim-%d", (int)getpid());

	if (strcmp(argv[3], "run") == 0) {
		char *r[] = { (char *)runtime, "run", "--bundle", bundle, id, NULL };
		if (run(r) != 0)
			return fail(id, "run");
		step("run");
		return 0;
	}

	/* The container's init outlives `create`: it is reparented to us and reaped here. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		perror("cycle-shim: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	snprintf(pidfile, sizeof pidfile, "/run/%s.pid", id);
	char *c[] = { (char *)runtime, "create", "--bundle", bundle, "--pid-file", pidfile, id, NULL };
	if (run(c) != 0)
		return fail(id, "create");
	step("create");

	char buf[32] = { 0 };
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0) {
		perror("cycle-shim: pid file");
		return fail(id, "create");
	}
	close(fd);
	unlink(pidfile);
	pid_t init = (pid_t)atoi(buf);

	char *s[] = { (char *)runtime, "start", id, NULL };
	if (run(s) != 0)
		return fail(id, "start");
	step("start");

	int status;
	while (waitpid(init, &status, 0) < 0)
		if (errno != EINTR) {
			perror("cycle-shim: waitpid on the container's process");
			return fail(id, "wait");
		}

	step("wait");
	char *d[] = { (char *)runtime, "delete", id, NULL };
	if (run(d) != 0)
		return fail(id, "delete");
	step("delete");
	return 0;
}
