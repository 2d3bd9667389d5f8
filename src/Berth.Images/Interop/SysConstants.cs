using System.Runtime.InteropServices;

namespace Berth.Images.Interop;

// Berth.Images keeps its own few constants and error type so that it builds on its own.
internal static class O
{
    public const int RDONLY = 0, WRONLY = 1, RDWR = 2, CREAT = 0x40, EXCL = 0x80, TRUNC = 0x200,
        DIRECT = 0x4000, DIRECTORY = 0x10000, NOFOLLOW = 0x20000, CLOEXEC = 0x80000, PATH = 0x200000;
}

internal static class At
{
    public const int FDCWD = -100, SYMLINK_NOFOLLOW = 0x100, REMOVEDIR = 0x200, EMPTY_PATH = 0x1000;
}

internal static class Resolve
{
    public const ulong NO_XDEV = 0x01, NO_MAGICLINKS = 0x02, NO_SYMLINKS = 0x04, BENEATH = 0x08, IN_ROOT = 0x10;
}

internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EAGAIN = 11, EACCES = 13, EBUSY = 16, EEXIST = 17, EXDEV = 18,
        ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61,
        EOPNOTSUPP = 95;
}

/// <summary>A failed system call: the operation (with its path) and errno's text, in one line.</summary>
public sealed class SystemCallException : ImageException
{
    public int ErrorCode { get; }

    public SystemCallException(int errno, string operation)
        : base($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)}")
    {
        ErrorCode = errno;
    }
}

/// <summary>File modes (C# has no octal literals: these spell them out).</summary>
internal static class Mode
{
    public const uint Rw = 0b110_000_000;          // 0600
    public const uint Rwx = 0b111_000_000;         // 0700
    public const uint RwRwRw = 0b110_110_110;      // 0666, less the umask (as a FileStream creates)
    public const uint RwxRxRx = 0b111_101_101;     // 0755
}
