using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux;
using Berth.Linux.Interop;

namespace Berth.Shim;

/// <summary>
/// The few libc calls the shim needs beyond Berth.Linux's, and small blocking helpers over raw
/// descriptors. The shim stays on plain syscalls (no Socket, Process, Console or async
/// machinery): that code would be most of the binary, and every page of it that runs stays
/// resident for the container's whole life.
/// </summary>
internal static unsafe partial class Native
{
    private const string Lib = "libc";
    public const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, SHUT_WR = 1, SHUT_RDWR = 2, MSG_NOSIGNAL = 0x4000;
    public const short POLLIN = 1, POLLHUP = 0x10, POLLERR = 8;

    [LibraryImport(Lib, SetLastError = true)] public static partial int bind(int fd, byte* addr, uint len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int listen(int fd, int backlog);
    [LibraryImport(Lib, SetLastError = true)] public static partial int accept4(int fd, void* addr, void* len, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int shutdown(int fd, int how);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint send(int fd, byte* buf, nuint len, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fsync(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial long lseek(int fd, long offset, int whence);
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int rename(string from, string to);
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int access(string path, int mode);
    [LibraryImport(Lib)] public static partial nint signal(int sig, nint handler);
    [LibraryImport(Lib)] public static partial int clock_gettime(int clock, long* ts);

    [LibraryImport(Lib)] public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_init(void* fa);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_adddup2(void* fa, int fd, int newfd);
    [LibraryImport(Lib)] public static partial int posix_spawn_file_actions_destroy(void* fa);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_init(void* attr);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setflags(void* attr, short flags);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setsigdefault(void* attr, void* set);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_setsigmask(void* attr, void* set);
    [LibraryImport(Lib)] public static partial int posix_spawnattr_destroy(void* attr);
    [LibraryImport(Lib)] public static partial int sigfillset(void* set);
    [LibraryImport(Lib)] public static partial int sigemptyset(void* set);

    public static bool Exists(string path) => access(path, 0) == 0;

    /// <summary>Nanoseconds since the Unix epoch (CLOCK_REALTIME).</summary>
    public static long NowUnixNs()
    {
        long* ts = stackalloc long[2];
        clock_gettime(0, ts);
        return ts[0] * 1_000_000_000 + ts[1];
    }

    /// <summary>A listening unix stream socket at <paramref name="path"/> (CLOEXEC).</summary>
    public static int ListenUnix(string path, int backlog)
    {
        int fd = Errno.Check(LibC.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
        byte[] p = Encoding.UTF8.GetBytes(path);
        if (p.Length > 107) { LibC.close(fd); throw new ArgumentException($"socket path too long: {path}"); }
        byte* addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = AF_UNIX;
        p.CopyTo(new Span<byte>(addr + 2, 108));
        if (bind(fd, addr, (uint)(2 + p.Length + 1)) < 0 || listen(fd, backlog) < 0)
        {
            int e = Errno.Last;
            LibC.close(fd);
            throw new LinuxException(e, $"listen on {path}");
        }
        return fd;
    }

    public static int Accept(int listener)
    {
        while (true)
        {
            int c = accept4(listener, null, null, SOCK_CLOEXEC);
            if (c >= 0 || Errno.Last != Errno.EINTR) return c;
        }
    }

    /// <summary>Writes everything; false when the peer is gone. Sockets never raise SIGPIPE.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data, bool socket)
    {
        fixed (byte* b = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = socket ? send(fd, b + off, (nuint)(data.Length - off), MSG_NOSIGNAL) : LibC.write(fd, b + off, (nuint)(data.Length - off));
                if (n < 0)
                {
                    if (Errno.Last == Errno.EINTR) continue;
                    return false;
                }
                off += (int)n;
            }
        }
        return true;
    }

    public static bool SendLine(int fd, string line) => WriteAll(fd, Encoding.UTF8.GetBytes(line + "\n"), socket: true);

    /// <summary>Reads up to <paramref name="buf"/>.Length bytes; 0 at end of file or on an error (EIO of a pty whose slave is gone).</summary>
    public static int Read(int fd, Span<byte> buf)
    {
        fixed (byte* b = buf)
        {
            while (true)
            {
                nint n = LibC.read(fd, b, (nuint)buf.Length);
                if (n >= 0) return (int)n;
                if (Errno.Last != Errno.EINTR) return 0;
            }
        }
    }

    public static bool ReadExactly(int fd, Span<byte> buf)
    {
        while (buf.Length > 0)
        {
            int n = Read(fd, buf);
            if (n <= 0) return false;
            buf = buf[n..];
        }
        return true;
    }

    /// <summary>One request line, read a byte at a time so no frame after it is consumed.</summary>
    public static string? ReadLine(int fd)
    {
        Span<byte> line = stackalloc byte[1024];
        Span<byte> b = stackalloc byte[1];
        int len = 0;
        while (len < line.Length)
        {
            if (Read(fd, b) <= 0) return len == 0 ? null : Encoding.UTF8.GetString(line[..len]);
            if (b[0] == '\n') return Encoding.UTF8.GetString(line[..len]);
            line[len++] = b[0];
        }
        return null;
    }

    public static byte[]? ReadFile(string path, long from = 0)
    {
        int fd = LibC.open(path, O.RDONLY | O.CLOEXEC, 0);
        if (fd < 0) return null;
        try
        {
            if (from > 0) lseek(fd, from, 0);
            var ms = new MemoryStream();
            var buf = new byte[4096];
            int n;
            while ((n = Read(fd, buf)) > 0) ms.Write(buf, 0, n);
            return ms.ToArray();
        }
        finally { LibC.close(fd); }
    }

    public static long FileSize(string path)
    {
        Stat st;
        return LibC.fstatat(At.FDCWD, path, &st, 0) == 0 ? st.Size : 0;
    }

    /// <summary>
    /// Writes a file by temp file and rename, so a reader never sees half of it. Not fsynced: it
    /// must survive berthd, not the machine (after a machine crash no container runs anyway).
    /// </summary>
    public static void WriteFileAtomic(string path, ReadOnlySpan<byte> data)
    {
        string tmp = path + ".tmp";
        int fd = Errno.Check(LibC.open(tmp, O.WRONLY | O.CREAT | O.TRUNC | O.CLOEXEC, 0x1a4), $"open {tmp}");
        bool ok = WriteAll(fd, data, socket: false);
        LibC.close(fd);
        if (!ok || rename(tmp, path) < 0) throw new LinuxException(Errno.Last, $"write {path}");
    }

    public static void Log(string message) => WriteAll(2, Encoding.UTF8.GetBytes($"berth-shim: {message}\n"), socket: false);
}
