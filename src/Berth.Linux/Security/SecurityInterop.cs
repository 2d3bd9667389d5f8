using System.Runtime.InteropServices;

namespace Berth.Linux.Interop;

// libc entry points the Security code needs that LibC.cs does not (yet) declare.
public static unsafe partial class LibC
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);
}

/// <summary>struct sock_fprog for seccomp(2): instruction count and a pointer to struct sock_filter[].</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SockFprog
{
    public ushort Len;
    public byte* Filter;
}
