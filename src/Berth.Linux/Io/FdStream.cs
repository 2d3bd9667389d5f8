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

    /// <summary>
    /// The text of a small file (/proc, /sys, /etc/passwd): one open and plain reads. File.ReadAllText
    /// builds a FileStream and a StreamReader for it, a good part of what a short-lived runtime
    /// command spends on such files. Errors as File's: FileNotFoundException (ENOENT, ENOTDIR),
    /// UnauthorizedAccessException (EACCES, EPERM), IOException.
    /// </summary>
    public static string ReadText(string path) => TryReadText(path, out int errno) ?? throw FileError(errno, path);

    /// <summary>As <see cref="ReadText"/>, but null (with the errno) when the file cannot be opened or read.</summary>
    public static string? TryReadText(string path, out int errno)
    {
        errno = 0;
        int fd = LibC.open(path, O.RDONLY | O.CLOEXEC, 0);
        if (fd < 0) { errno = Errno.Last; return null; }
        try
        {
            byte[] buf = new byte[4096];
            int len = 0;
            while (true)
            {
                if (len == buf.Length) Array.Resize(ref buf, buf.Length * 2);
                nint n;
                fixed (byte* p = &buf[len]) n = LibC.read(fd, p, (nuint)(buf.Length - len));
                if (n < 0) { if (Errno.Last == Errno.EINTR) continue; errno = Errno.Last; return null; }
                if (n == 0) break;
                len += (int)n;
            }
            return System.Text.Encoding.UTF8.GetString(buf, 0, len);
        }
        finally { LibC.close(fd); }
    }

    /// <summary><see cref="ReadText"/> split into lines, without empty ones.</summary>
    public static string[] ReadLines(string path) => ReadText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static Exception FileError(int errno, string path) => errno switch
    {
        Errno.ENOENT or Errno.ENOTDIR => new FileNotFoundException($"{path}: {new LinuxException(errno, "open").Message}", path),
        Errno.EACCES or Errno.EPERM => new UnauthorizedAccessException($"{path}: permission denied"),
        _ => new IOException(new LinuxException(errno, $"read {path}").Message),
    };

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
