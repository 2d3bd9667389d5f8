using Berth.Linux.Interop;

namespace Berth.Linux.Io;

/// <summary>Blocking reads and writes of whole buffers on a raw fd, retrying EINTR and short transfers.</summary>
public static unsafe class FdIo
{
    public static void WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = LibC.write(fd, p + off, (nuint)(data.Length - off));
                if (n < 0) { if (Errno.Last == Errno.EINTR) continue; throw new LinuxException(Errno.Last, "write"); }
                off += (int)n;
            }
        }
    }

    /// <summary>Reads exactly buffer.Length bytes; false on EOF before the first byte.</summary>
    public static bool ReadExactly(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int off = 0;
            while (off < buffer.Length)
            {
                nint n = LibC.read(fd, p + off, (nuint)(buffer.Length - off));
                if (n < 0) { if (Errno.Last == Errno.EINTR) continue; throw new LinuxException(Errno.Last, "read"); }
                if (n == 0)
                {
                    if (off == 0) return false;
                    throw new EndOfStreamException("connection closed in the middle of a message");
                }
                off += (int)n;
            }
        }
        return true;
    }

    /// <summary>Writes a whole file, creating or truncating it (for /proc and cgroup files).</summary>
    public static void WriteFile(string path, string content)
    {
        int fd = LibC.open(path, O.WRONLY | O.CLOEXEC | O.TRUNC, 0);
        if (fd < 0) throw new LinuxException(Errno.Last, $"open {path}");
        try
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(content);
            fixed (byte* p = bytes)
            {
                nint n = LibC.write(fd, p, (nuint)bytes.Length);
                if (n < 0) throw new LinuxException(Errno.Last, $"write {path}");
            }
        }
        finally { LibC.close(fd); }
    }
}
