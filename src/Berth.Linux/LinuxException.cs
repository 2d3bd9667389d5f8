using System.Runtime.InteropServices;

namespace Berth.Linux;

/// <summary>A failed system call: the operation (with its path) and errno's text, in one line.</summary>
public sealed class LinuxException : Exception
{
    public int ErrorCode { get; }

    public LinuxException(int errno, string operation)
        : base($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)}")
    {
        ErrorCode = errno;
    }
}
