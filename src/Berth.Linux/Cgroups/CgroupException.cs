using System.Runtime.InteropServices;

namespace Berth.Linux.Cgroups;

/// <summary>
/// A cgroup operation failed. The message is one line naming the file, the value and errno's text,
/// e.g. "memory.limit_in_bytes=1048576: Device or resource busy (/sys/fs/cgroup/memory/berth/c1)".
/// </summary>
public sealed class CgroupException : Exception
{
    /// <summary>errno of the failed call, 0 when the failure was not a system call (a bad value, an unsupported setting).</summary>
    public int ErrorCode { get; }
    /// <summary>The cgroup file (name only), when one is involved.</summary>
    public string? FileName { get; }
    public string? Value { get; }

    public CgroupException(string message, int errno = 0, string? fileName = null, string? value = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorCode = errno;
        FileName = fileName;
        Value = value;
    }

    internal static CgroupException Write(string dir, string file, string value, int errno) =>
        new($"{file}={OneLine(value)}: {Marshal.GetPInvokeErrorMessage(errno)} ({dir})", errno, file, value);

    internal static CgroupException Read(string dir, string file, int errno) =>
        new($"read {file}: {Marshal.GetPInvokeErrorMessage(errno)} ({dir})", errno, file);

    internal static CgroupException Op(string what, string path, int errno) =>
        new($"{what} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);

    /// <summary>Multi-line values (device rules, ifpriomap) are shown with "\n" so the message stays one line.</summary>
    private static string OneLine(string v) => v.TrimEnd('\n').Replace("\n", "\\n");
}
