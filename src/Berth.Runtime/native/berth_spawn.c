/*
 * berth_spawn.c - the only C in Berth's runtime.
 *
 * Why C at all: a .NET process is always multi-threaded, and the kernel refuses
 * setns(CLONE_NEWUSER), setns(CLONE_NEWNS) and unshare(CLONE_NEWUSER) to a
 * multi-threaded process; a managed child after fork may deadlock on locks held by
 * threads that no longer exist. So this file does exactly the part that needs a
 * single-threaded process, in a freshly cloned child that runs nothing but this C:
 *
 *   1. join namespaces given as file descriptors (setns), user namespace first;
 *   2. clone the final child into the new namespaces (the second clone is what
 *      makes a joined PID namespace take effect);
 *   3. wait for the parent's go-ahead (it writes the id maps meanwhile), become
 *      root of a new/joined user namespace, join the container's cgroups (see
 *      join_cgroups), unshare the cgroup namespace (after the move, so the
 *      container's cgroup is its root), setsid;
 *   4. execveat() the runtime binary from a sealed memfd, so the C# half
 *      (`berth-runtime init`) runs in the container's namespaces from the start.
 *
 * Between clone and exec only async-signal-safe system calls are made, and none of glibc's
 * wrappers that coordinate threads: the child inherits the parent's locks and thread list as
 * they were at the clone, so glibc's setresuid (which signals every thread it knows of and
 * waits for them, or for one still being created) hung the child when a thread of the .NET
 * parent was starting; the id switches are raw syscalls.
 * Errors travel to the parent over a CLOEXEC pipe: if exec succeeds the pipe
 * just closes, so the parent reads EOF (the posix_spawn technique).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#define BERTH_MAX_JOIN 8
#define BERTH_MAX_CGROUP 16

struct berth_spawn_request {
    int32_t clone_flags;             /* CLONE_NEW* to create (CLONE_NEWCGROUP is unshared late) */
    int32_t join_count;
    int32_t join_fds[BERTH_MAX_JOIN];   /* namespace fds to setns, in this order */
    int32_t join_types[BERTH_MAX_JOIN];
    int32_t exe_fd;                  /* the binary to execveat (a sealed memfd) */
    int32_t sync_fd;                 /* child's end of the sync socket; kept open across exec */
    int32_t become_root;             /* setresuid/gid(0) after the go-ahead (user namespace) */
    int32_t new_session;             /* setsid() before exec */
    int32_t pdeath_signal;           /* 0 for none */
    int32_t _pad;
    int32_t cgroup_task_count;
    int32_t cgroup2_fd;              /* a cgroup2 directory (O_PATH) to clone the child into, or -1 */
    int32_t cgroup2_joined;          /* out: 1 when the child was born in cgroup2_fd's cgroup */
    int32_t _pad2;
    int32_t cgroup_task_fds[BERTH_MAX_CGROUP]; /* v1 `tasks` files (O_WRONLY) the child writes "0" into */
    char *const *argv;
    char *const *envp;
    const char *timens_offsets;      /* "monotonic S N\nboottime S N\n" for a new time namespace, or NULL */
    const char *ro_self_path;        /* with a new mount namespace: exec this file through a read-only bind mount instead of exe_fd */
};

/* A message on the error pipe: a record with the pid, or an error. */
struct berth_report {
    int32_t kind;        /* 1 = pid, 2 = error */
    int32_t value;       /* the pid, or errno */
    int32_t joined;      /* with a pid: whether it was cloned into cgroup2_fd */
    char what[244];      /* which step failed */
};

static void report(int fd, int kind, int value, const char *what)
{
    struct berth_report r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.value = value;
    if (what) {
        size_t n = strlen(what);
        if (n >= sizeof r.what) n = sizeof r.what - 1;
        memcpy(r.what, what, n);
    }
    ssize_t ignored = write(fd, &r, sizeof r);
    (void)ignored;
}

static void fail(int fd, const char *what)
{
    report(fd, 2, errno, what);
    _exit(127);
}

/*
 * Why the child moves itself: on cgroup v1 a write of a pid to cgroup.procs takes the global
 * threadgroup rwsem for writing, and the first writer after a quiet spell waits for an RCU
 * grace period (10-20 ms here). A thread that writes "0" (itself) to a `tasks` file moves only
 * itself and the kernel skips that lock (kernel/cgroup/cgroup.c, cgroup_procs_write_start).
 * This child is single-threaded, so moving its one thread moves the process, before it runs
 * any code of the container's. The descriptors were opened by the runtime (root), whose
 * credentials the kernel checks, so this works from inside a new user namespace too.
 */
static void join_cgroups(const struct berth_spawn_request *req, int err_fd)
{
    for (int i = 0; i < req->cgroup_task_count; i++) {
        ssize_t n;
        do n = write(req->cgroup_task_fds[i], "0", 1); while (n < 0 && errno == EINTR);
        if (n != 1) {
            /* "cgroup N": the parent knows which file N is and names it. */
            char what[16] = "cgroup ";
            int v = i, len = 7;
            char digits[8];
            int k = 0;
            do digits[k++] = (char)('0' + v % 10); while ((v /= 10) > 0);
            while (k > 0) what[len++] = digits[--k];
            what[len] = 0;
            if (n >= 0) errno = EIO;
            fail(err_fd, what);
        }
    }
}

/*
 * A cgroup namespace to join is joined by the final child, after it was born in its cgroup2
 * directory: clone3(CLONE_INTO_CGROUP) checks that the cgroup the child leaves is visible from
 * the cloning process's cgroup namespace, and the host's cgroup is not visible from a
 * container's (ENOENT).
 */
static int joins_cgroupns_late(const struct berth_spawn_request *req, int i)
{
    return req->cgroup2_fd >= 0 && req->join_types[i] == CLONE_NEWCGROUP;
}

static int joins_mount_ns(const struct berth_spawn_request *req)
{
    for (int i = 0; i < req->join_count; i++)
        if (req->join_types[i] == CLONE_NEWNS) return 1;
    return 0;
}

static int in_user_ns(const struct berth_spawn_request *req)
{
    if (req->clone_flags & CLONE_NEWUSER) return 1;
    for (int i = 0; i < req->join_count; i++)
        if (req->join_types[i] == CLONE_NEWUSER) return 1;
    return 0;
}

/*
 * Where the read-only bind of the runtime binary is made by a first stage, as host root in a
 * private mount namespace of its own, before anything is joined or created: when the child joins
 * a container's mount namespace (exec), and when it gets a new one in a user namespace. In the
 * latter the child's mount namespace belongs to the container's user namespace, whose root could
 * remount a bind made there; this one stays in the first stage's namespace (the child's copy of it
 * is locked read-only, and gone with the old root), and the exec'd file keeps it alive.
 */
static int binds_in_first_stage(const struct berth_spawn_request *req)
{
    return req->ro_self_path && (joins_mount_ns(req) || ((req->clone_flags & CLONE_NEWNS) && in_user_ns(req)));
}

/* The clone3 arguments this file uses (linux/sched.h's struct clone_args, v2 with .cgroup). */
struct berth_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* In a child: every handler back to the default (the parent's are managed code), mask kept blocked. */
static void reset_signals(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++)
        sigaction(sig, &dfl, 0); /* fails harmlessly for SIGKILL, SIGSTOP and glibc's internal ones */
}

static pid_t raw_clone(unsigned long flags)
{
    /* fork semantics (no CLONE_VM): the child gets a copy of this thread's stack. */
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/*
 * The final child's clone. With a cgroup2 directory it is born there (CLONE_INTO_CGROUP: a fork
 * takes the threadgroup rwsem only for reading, so no RCU wait as for a write to cgroup.procs).
 * A kernel without clone3 (ENOSYS, before 5.3) or without its cgroup field (E2BIG, before 5.7)
 * gets a plain clone and *joined = 0: the parent then moves the child itself. Any other error is
 * the clone's own and is reported.
 */
static pid_t clone_final(const struct berth_spawn_request *req, unsigned long flags, int *joined)
{
    *joined = 0;
    if (req->cgroup2_fd >= 0) {
        struct berth_clone_args a;
        memset(&a, 0, sizeof a);
        a.flags = (uint64_t)flags | CLONE_INTO_CGROUP;
        /* With CLONE_PARENT the child's exit signal is its parent's; clone3 wants 0 here. */
        a.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
        a.cgroup = (uint64_t)req->cgroup2_fd;
        pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
        if (pid >= 0) { *joined = 1; return pid; }
        if (errno != ENOSYS && errno != E2BIG) return -1;
    }
    return raw_clone(flags);
}

static const char *ns_name(int type)
{
    switch (type) {
    case CLONE_NEWUSER: return "setns(user)";
    case CLONE_NEWNS: return "setns(mnt)";
    case CLONE_NEWPID: return "setns(pid)";
    case CLONE_NEWNET: return "setns(net)";
    case CLONE_NEWIPC: return "setns(ipc)";
    case CLONE_NEWUTS: return "setns(uts)";
    case CLONE_NEWCGROUP: return "setns(cgroup)";
    default: return "setns";
    }
}

/*
 * CVE-2019-5736 without copying the binary: in our own new mount namespace, bind the runtime
 * binary read-only onto itself and exec it from there. /proc/PID/exe then leads through a
 * read-only mount. The mount goes away with the old root when the init detaches it after
 * pivot_root (an umount here would cost an RCU grace period of its own); the host never sees
 * it, because our mounts are made slaves first.
 */
static int open_ro_self(const char *path, int err_fd)
{
    struct statfs sv;
    if (mount(0, "/", 0, MS_SLAVE | MS_REC, 0) < 0) fail(err_fd, "making our mounts slaves");
    /* statfs, not statvfs: glibc's statvfs may read /proc/mounts through stdio (malloc). */
    if (statfs(path, &sv) < 0) fail(err_fd, "statfs of the runtime binary");
    if (mount(path, path, 0, MS_BIND, 0) < 0) fail(err_fd, "bind-mounting the runtime binary");
    /* Keep the flags the kernel may have locked (nosuid, nodev, noexec); add read-only. */
    unsigned long keep = (unsigned long)sv.f_flags & (ST_NOSUID | ST_NODEV | ST_NOEXEC);
    if (mount(0, path, 0, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, 0) < 0) fail(err_fd, "making the runtime binary read-only");
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) fail(err_fd, "opening the read-only runtime binary");
    return fd;
}

/*
 * The final child: runs in its namespaces, waits for the parent, execs. `exe` is what it execs:
 * the sealed memfd, or the read-only binary the first stage opened before it joined the
 * container's mount namespace; -1: open the binary read-only in its own new mount namespace.
 */
static void final_child(const struct berth_spawn_request *req, int err_fd, int exe)
{
    char go;
    ssize_t n;

    reset_signals();
    if (req->pdeath_signal)
        prctl(PR_SET_PDEATHSIG, req->pdeath_signal, 0, 0, 0);

    do n = read(req->sync_fd, &go, 1); while (n < 0 && errno == EINTR);
    if (n != 1) { errno = n == 0 ? EPIPE : errno; fail(err_fd, "waiting for the parent"); }
    if (go != 'G') _exit(0); /* the parent gave up; nothing to report */

    if (req->become_root) {
        /* Raw: glibc's wrappers would apply the change to the parent's threads too (see above). */
        if (syscall(SYS_setresgid, 0, 0, 0) < 0) fail(err_fd, "setresgid(0) in the user namespace");
        if (syscall(SYS_setresuid, 0, 0, 0) < 0) fail(err_fd, "setresuid(0) in the user namespace");
    }
    join_cgroups(req, err_fd);
    for (int i = 0; i < req->join_count; i++)
        if (joins_cgroupns_late(req, i) && setns(req->join_fds[i], CLONE_NEWCGROUP) < 0)
            fail(err_fd, "setns(cgroup)");
    if ((req->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
        fail(err_fd, "unshare(cgroup)");
    if (req->new_session && setsid() < 0)
        fail(err_fd, "setsid");

    if (exe < 0) {
        /* Only in a mount namespace of our own: the bind must never land in the caller's. */
        if (!req->ro_self_path || !(req->clone_flags & CLONE_NEWNS)) { errno = EINVAL; fail(err_fd, "no runtime binary to exec"); }
        exe = open_ro_self(req->ro_self_path, err_fd);
    }

    /* The sync socket is the one descriptor the C# half inherits on purpose. */
    if (fcntl(req->sync_fd, F_SETFD, 0) < 0) fail(err_fd, "clearing FD_CLOEXEC on the sync socket");

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    syscall(SYS_execveat, exe, "", req->argv, req->envp, AT_EMPTY_PATH);
    fail(err_fd, "execveat of the runtime binary");
}

/*
 * Starts the container process. Returns its pid (in the caller's PID namespace) and
 * sets *err_read to the read end of the error pipe, or returns -1 with errno set and
 * `what` filled. The caller must later write 'G' to its end of the sync socket and then
 * call berth_spawn_wait_exec.
 */
static int spawn_blocked(struct berth_spawn_request *req, int *err_read, char *what, int what_len);

int berth_spawn(struct berth_spawn_request *req, int *err_read, char *what, int what_len)
{
    /* No managed signal handler may run in a child: block everything across the clone;
       the child resets handlers and unblocks only just before exec. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = spawn_blocked(req, err_read, what, what_len);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, 0);
    errno = e;
    return rc;
}

static int spawn_blocked(struct berth_spawn_request *req, int *err_read, char *what, int what_len)
{
    int errpipe[2];
    /* CLONE_NEWCGROUP waits for the cgroup move; CLONE_NEWTIME overlaps clone()'s signal
       byte and only applies to children, so the first stage unshares it. */
    unsigned long new_flags = (unsigned long)(req->clone_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME));
    int new_time = (req->clone_flags & CLONE_NEWTIME) != 0;

    if (req->join_count < 0 || req->join_count > BERTH_MAX_JOIN ||
        req->cgroup_task_count < 0 || req->cgroup_task_count > BERTH_MAX_CGROUP) { errno = EINVAL; return -1; }
    req->cgroup2_joined = 0;
    if (pipe2(errpipe, O_CLOEXEC) < 0) return -1;

    if (req->join_count == 0 && !new_time && !binds_in_first_stage(req)) {
        int joined;
        pid_t pid = clone_final(req, new_flags, &joined);
        if (pid < 0) {
            int e = errno;
            close(errpipe[0]); close(errpipe[1]);
            if (what) strncpy(what, req->cgroup2_fd >= 0 ? "clone into the container's cgroup" : "clone", what_len);
            errno = e;
            return -1;
        }
        if (pid == 0) {
            close(errpipe[0]);
            final_child(req, errpipe[1], req->ro_self_path && (req->clone_flags & CLONE_NEWNS) ? -1 : req->exe_fd);
        }
        close(errpipe[1]);
        req->cgroup2_joined = joined;
        *err_read = errpipe[0];
        return pid;
    }

    /* Two stages: the first joins, the second is born inside what was joined. */
    pid_t stage1 = raw_clone(0);
    if (stage1 < 0) {
        int e = errno;
        close(errpipe[0]); close(errpipe[1]);
        if (what) strncpy(what, "clone", what_len);
        errno = e;
        return -1;
    }
    if (stage1 == 0) {
        close(errpipe[0]);
        reset_signals();
        /* Joining a mount namespace (exec), or a new one in a user namespace: bind the binary
           read-only in a private mount namespace first, as host root (before any user namespace),
           and keep it open; the open file keeps that mount alive after setns leaves the namespace,
           and the child execs it from there (binds_in_first_stage). */
        int exe = req->exe_fd;
        if (binds_in_first_stage(req)) {
            if (unshare(CLONE_NEWNS) < 0) fail(errpipe[1], "unshare(mnt) for the read-only runtime binary");
            exe = open_ro_self(req->ro_self_path, errpipe[1]);
        }
        for (int i = 0; i < req->join_count; i++) {
            if (joins_cgroupns_late(req, i)) continue;
            if (setns(req->join_fds[i], req->join_types[i]) < 0)
                fail(errpipe[1], ns_name(req->join_types[i]));
        }
        if (new_time) {
            if (unshare(CLONE_NEWTIME) < 0) fail(errpipe[1], "unshare(time)");
            if (req->timens_offsets && req->timens_offsets[0]) {
                int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
                if (fd < 0) fail(errpipe[1], "open /proc/self/timens_offsets");
                size_t len = strlen(req->timens_offsets);
                if (write(fd, req->timens_offsets, len) != (ssize_t)len) fail(errpipe[1], "write /proc/self/timens_offsets");
                close(fd);
            }
        }
        int joined;
        pid_t pid = clone_final(req, new_flags | CLONE_PARENT, &joined);
        if (pid < 0) fail(errpipe[1], req->cgroup2_fd >= 0 ? "clone into the container's cgroup" : "clone");
        if (pid == 0) final_child(req, errpipe[1], exe);
        struct berth_report r;
        memset(&r, 0, sizeof r);
        r.kind = 1;
        r.value = pid;
        r.joined = joined;
        ssize_t ignored = write(errpipe[1], &r, sizeof r);
        (void)ignored;
        _exit(0);
    }
    close(errpipe[1]);

    struct berth_report r;
    ssize_t n;
    do n = read(errpipe[0], &r, sizeof r); while (n < 0 && errno == EINTR);
    int status;
    while (waitpid(stage1, &status, 0) < 0 && errno == EINTR) {}
    if (n == (ssize_t)sizeof r && r.kind == 1) {
        req->cgroup2_joined = r.joined;
        *err_read = errpipe[0];
        return r.value;
    }
    close(errpipe[0]);
    if (n == (ssize_t)sizeof r && r.kind == 2) {
        if (what) { strncpy(what, r.what, what_len); what[what_len - 1] = 0; }
        errno = r.value;
    } else {
        if (what) strncpy(what, "namespace stage exited without a report", what_len);
        errno = EPIPE;
    }
    return -1;
}

/* After the go-ahead: 0 once the child has exec'd (EOF), or -1 with errno and `what`. */
int berth_spawn_wait_exec(int err_read, char *what, int what_len)
{
    struct berth_report r;
    ssize_t n;
    do n = read(err_read, &r, sizeof r); while (n < 0 && errno == EINTR);
    close(err_read);
    if (n == 0) return 0;
    if (n == (ssize_t)sizeof r && r.kind == 2) {
        if (what) { strncpy(what, r.what, what_len); what[what_len - 1] = 0; }
        errno = r.value;
        return -1;
    }
    if (what) strncpy(what, "reading the spawn report", what_len);
    errno = EIO;
    return -1;
}
