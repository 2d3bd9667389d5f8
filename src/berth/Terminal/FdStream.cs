using System.Runtime.InteropServices;

namespace Berth.Cli.Terminal;

/// <summary>
/// One of our standard file descriptors as a stream of plain read(2)/write(2) calls. Not .NET's
/// console streams (they initialise the terminal: keypad escapes, their own termios) and not a
/// FileStream (on a regular file it writes at its own cached offset with pwrite, so output that
/// others append to the same file, e.g. a shared log, would be overwritten).
/// </summary>
public sealed partial class FdStream(int fd) : Stream
{
    public override bool CanRead => fd == 0;
    public override bool CanSeek => false;
    public override bool CanWrite => fd != 0;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override unsafe int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
            while (true)
            {
                nint n = read(fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                int errno = Marshal.GetLastPInvokeError();
                if (errno == 4 /* EINTR */) continue;
                if (errno == 5 /* EIO: the terminal went away */) return 0;
                throw new IOException($"read fd {fd}: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
    }

    // A blocking read on stdin would hold a thread-pool thread; callers run it on a thread of its own.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => new(Read(buffer.Span));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            byte* p = start;
            nuint left = (nuint)buffer.Length;
            while (left > 0)
            {
                nint n = write(fd, p, left);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == 4) continue;
                    // A reader that went away (berth ps | head -1): end quietly, as a Go program killed by SIGPIPE.
                    if (errno == 32 /* EPIPE */) Environment.Exit(141);
                    throw new IOException($"write fd {fd}: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
                p += n;
                left -= (nuint)n;
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;

    [LibraryImport("libc", SetLastError = true)] private static unsafe partial nint read(int fd, byte* buf, nuint count);
    [LibraryImport("libc", SetLastError = true)] private static unsafe partial nint write(int fd, byte* buf, nuint count);
}
