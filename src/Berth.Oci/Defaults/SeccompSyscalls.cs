namespace Berth.Oci.Defaults;

/// <summary>
/// The syscall lists behind <see cref="DockerDefaults.Seccomp"/>, grouped by why they are there.
/// Written for x86_64 and its x86/x32 ABIs from the kernel's syscall tables: names that exist
/// only on i386 (chown32, socketcall, the *_time64 calls) are listed so the x86 ABI works too;
/// libseccomp ignores a name on an architecture that lacks it.
/// </summary>
internal static class SeccompSyscalls
{
    /// <summary>Allowed to every container.</summary>
    public static readonly string[] Allowed =
    {
        // files and directories
        "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat",
        "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
        "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
        "fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
        "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "lchown", "lchown32", "link", "linkat",
        "_llseek", "lseek", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open",
        "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
        "readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir",
        "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
        "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask", "unlink",
        "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
        "cachestat",
        // extended attributes
        "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr",
        "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr",
        // polling, events, timers
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
        "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "inotify_add_watch", "inotify_init",
        "inotify_init1", "inotify_rm_watch", "fanotify_mark", "poll", "ppoll", "ppoll_time64", "pselect6",
        "pselect6_time64", "select", "_newselect", "signalfd", "signalfd4", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
        "timer_settime", "timer_settime64", "alarm", "getitimer", "setitimer",
        // asynchronous I/O (io_uring is left out, as in Docker 25)
        "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit",
        "ioctl", "ioprio_get", "ioprio_set",
        // time
        "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "gettimeofday",
        "nanosleep", "time", "times",
        // memory
        "brk", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2", "mlockall", "mmap",
        "mmap2", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc",
        "pkey_free", "pkey_mprotect", "remap_file_pages", "map_shadow_stack",
        // processes, threads, scheduling
        "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "vfork", "futex",
        "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "getcpu",
        "get_robust_list", "set_robust_list", "get_thread_area", "set_thread_area", "set_tid_address",
        "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getrlimit", "getrusage",
        "getsid", "gettid", "kill", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
        "process_mrelease", "restart_syscall", "rseq", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "setpgid", "setpriority",
        "setrlimit", "setsid", "sysinfo", "tgkill", "tkill", "ugetrlimit", "uname", "wait4", "waitid",
        "waitpid", "arch_prctl", "modify_ldt",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
        // signals
        "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
        "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack",
        "signal", "sigaction", "sigpending", "sigprocmask", "sigreturn", "sigsuspend",
        // credentials (the kernel checks CAP_SETUID/CAP_SETGID)
        "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
        "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32", "setfsgid",
        "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
        "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
        "setreuid32", "setuid", "setuid32",
        // sockets (socket itself is filtered by family)
        "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
        "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
        "sendto", "setsockopt", "shutdown", "socketcall", "socketpair",
        // System V and POSIX IPC (namespaced)
        "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
        "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
        // debugging: allowed since the 4.8 kernel closed the ptrace-seccomp bypass (Docker does the same)
        "ptrace", "process_vm_readv", "process_vm_writev",
        "pipe", "pipe2",
    };

    /// <summary>personality(2) values allowed: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff.</summary>
    public static readonly ulong[] PersonalityValues = { 0x0, 0x0008, 0x20000, 0x20008, 0xffffffff };

    /// <summary>AF_VSOCK, refused as a socket family.</summary>
    public const ulong AfVsock = 40;

    /// <summary>CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.</summary>
    public const ulong CloneNamespaceFlags = 0x7E020000;

    public static readonly ulong[] CloneNamespaceBits =
        { 0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000 };

    /// <summary>Syscalls allowed only when the container holds a capability.</summary>
    public static readonly (string Capability, string[] Names)[] ByCapability =
    {
        ("CAP_DAC_READ_SEARCH", new[] { "open_by_handle_at" }),
        ("CAP_SYS_ADMIN", new[]
        {
            "bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
            "mount_setattr", "move_mount", "name_to_handle_at", "open_tree", "perf_event_open", "quotactl",
            "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
        }),
        ("CAP_SYS_BOOT", new[] { "reboot" }),
        ("CAP_SYS_CHROOT", new[] { "chroot" }),
        ("CAP_SYS_MODULE", new[] { "delete_module", "init_module", "finit_module" }),
        ("CAP_SYS_PACCT", new[] { "acct" }),
        ("CAP_SYS_PTRACE", new[] { "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace" }),
        ("CAP_SYS_RAWIO", new[] { "iopl", "ioperm" }),
        ("CAP_SYS_TIME", new[] { "settimeofday", "stime", "clock_settime", "clock_settime64" }),
        ("CAP_SYS_TTY_CONFIG", new[] { "vhangup" }),
        ("CAP_SYS_NICE", new[] { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node" }),
        ("CAP_SYSLOG", new[] { "syslog" }),
        ("CAP_BPF", new[] { "bpf" }),
        ("CAP_PERFMON", new[] { "perf_event_open" }),
    };

    /// <summary>
    /// Syscalls the profile knows and refuses with EPERM unless a capability above allows them:
    /// they change the host (time, modules, swap, reboot, mounts), cross namespaces, reach the
    /// kernel keyring, or have a history of container escapes.
    /// </summary>
    public static readonly string[] Privileged =
    {
        "acct", "add_key", "bpf", "chroot", "clock_settime", "clock_settime64", "create_module",
        "delete_module", "fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
        "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load",
        "kexec_load", "keyctl", "lookup_dcookie", "mbind", "migrate_pages", "mount", "mount_setattr",
        "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree",
        "perf_event_open", "pidfd_getfd", "pivot_root", "process_madvise", "quotactl", "quotactl_fd",
        "query_module", "reboot", "request_key", "set_mempolicy", "set_mempolicy_home_node",
        "setdomainname", "sethostname", "setns", "settimeofday", "stime", "swapoff", "swapon", "_sysctl",
        "sysfs", "syslog", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vhangup",
        "vm86", "vm86old",
    };
}
