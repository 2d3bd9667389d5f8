using System.Runtime.InteropServices;

namespace Berth.Init;

/// <summary>The few libc calls berth-init makes (bound at link time: the binary is static).</summary>
internal static unsafe partial class Native
{
    private const string Lib = "libc";

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int posix_spawnp(out int pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_init(void* attr);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setflags(void* attr, short flags);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setsigdefault(void* attr, void* set);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setsigmask(void* attr, void* set);
    [LibraryImport(Lib)] public static partial int sigemptyset(void* set);
    [LibraryImport(Lib)] public static partial int sigfillset(void* set);
    [LibraryImport(Lib)] public static partial int sigdelset(void* set, int sig);
    [LibraryImport(Lib, SetLastError = true)] public static partial int waitpid(int pid, out int status, int options);
    [LibraryImport(Lib, SetLastError = true)] public static partial int kill(int pid, int sig);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getpid();
    [LibraryImport(Lib, SetLastError = true)] public static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int open(string path, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial int setns(int fd, int nstype);
    [LibraryImport(Lib, SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport(Lib, SetLastError = true)] public static partial int ioctl(int fd, ulong request, void* arg);
    [LibraryImport(Lib)] public static partial nint strerror(int errnum);

    public const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
    public const int WNOHANG = 1, PR_SET_CHILD_SUBREAPER = 36, O_RDONLY = 0, O_CLOEXEC = 0x80000, CLONE_NEWNET = 0x40000000;
    public const int AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    public const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    public const short IFF_UP = 0x1;

    public static string Error(int errno) => Marshal.PtrToStringUTF8(strerror(errno)) ?? $"errno {errno}";
}
