using System.Buffers;
using System.Text;
using Berth.Engine.Shim;
using Berth.Linux.Interop;

namespace Berth.Shim;

/// <summary>
/// Docker's json-file log: one JSON object per line, <c>{"log":"...","stream":"stdout","time":"RFC3339Nano"}</c>.
/// Output is cut at newlines (a partial line waits for its end, up to 16 KiB, as docker does);
/// the file rotates to .1, .2, ... when it grows beyond max-size, keeping max-file files.
/// Lines are encoded by hand into one reused buffer (docker's escaping: quotes, backslashes,
/// control characters, &lt; &gt; &amp;, U+2028/2029, invalid UTF-8 as U+FFFD), so logging allocates nothing.
/// </summary>
public sealed class JsonFileLogWriter : IDisposable
{
    private const int MaxLine = 16 * 1024;
    private readonly string _path;
    private readonly long _maxSize;
    private readonly int _maxFile;
    private int _fd;
    private long _size;
    private readonly byte[][] _partial = [[], new byte[256], new byte[256]];
    private readonly int[] _partialLen = new int[3];
    private byte[] _line = new byte[512];
    private int _lineLen;
    private readonly object _lock = new();

    public JsonFileLogWriter(string path, long maxSize, int maxFile)
    {
        _path = path;
        _maxSize = maxSize;
        _maxFile = Math.Max(1, maxFile);
        _fd = Open(append: true);
    }

    private int Open(bool append)
    {
        int fd = Errno.Check(LibC.open(_path, O.WRONLY | O.CREAT | O.CLOEXEC | (append ? O.APPEND : O.TRUNC), 0x1a0), $"open {_path}");
        _size = append ? Native.FileSize(_path) : 0;
        return fd;
    }

    public void Write(byte kind, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            while (data.Length > 0)
            {
                int nl = data.IndexOf((byte)'\n');
                if (nl < 0)
                {
                    Keep(kind, data);
                    if (_partialLen[kind] >= MaxLine) EmitPartial(kind);
                    return;
                }
                if (_partialLen[kind] == 0) Emit(kind, data[..(nl + 1)]);
                else { Keep(kind, data[..(nl + 1)]); EmitPartial(kind); }
                data = data[(nl + 1)..];
            }
        }
    }

    private void Keep(byte kind, ReadOnlySpan<byte> data)
    {
        int len = _partialLen[kind];
        if (_partial[kind].Length < len + data.Length) Array.Resize(ref _partial[kind], Math.Max(len + data.Length, _partial[kind].Length * 2));
        data.CopyTo(_partial[kind].AsSpan(len));
        _partialLen[kind] = len + data.Length;
    }

    private void EmitPartial(byte kind)
    {
        Emit(kind, _partial[kind].AsSpan(0, _partialLen[kind]));
        _partialLen[kind] = 0;
    }

    private void Emit(byte kind, ReadOnlySpan<byte> text)
    {
        _lineLen = 0;
        Put("{\"log\":\""u8);
        Escape(text);
        Put(kind == ShimProtocol.Stderr ? "\",\"stream\":\"stderr\",\"time\":\""u8 : "\",\"stream\":\"stdout\",\"time\":\""u8);
        Span<byte> ts = stackalloc byte[40];
        Put(ts[..Rfc3339Nano(Native.NowUnixNs(), ts)]);
        Put("\"}\n"u8);
        if (_maxSize > 0 && _size > 0 && _size + _lineLen > _maxSize) Rotate();
        if (Native.WriteAll(_fd, _line.AsSpan(0, _lineLen), socket: false)) _size += _lineLen;
    }

    private void Put(ReadOnlySpan<byte> b)
    {
        if (_line.Length < _lineLen + b.Length) Array.Resize(ref _line, Math.Max(_lineLen + b.Length, _line.Length * 2));
        b.CopyTo(_line.AsSpan(_lineLen));
        _lineLen += b.Length;
    }

    private void Escape(ReadOnlySpan<byte> s)
    {
        Span<byte> u = stackalloc byte[6];
        while (s.Length > 0)
        {
            byte c = s[0];
            if (c < 0x80)
            {
                switch (c)
                {
                    case (byte)'"': Put("\\\""u8); break;
                    case (byte)'\\': Put("\\\\"u8); break;
                    case (byte)'\n': Put("\\n"u8); break;
                    case (byte)'\r': Put("\\r"u8); break;
                    case (byte)'\t': Put("\\t"u8); break;
                    case < 0x20 or (byte)'<' or (byte)'>' or (byte)'&': Put(Hex4(c, u)); break;
                    default: Put(s[..1]); break;
                }
                s = s[1..];
                continue;
            }
            var status = Rune.DecodeFromUtf8(s, out var rune, out int used);
            if (status != OperationStatus.Done) Put("\\ufffd"u8);
            else if (rune.Value is 0x2028 or 0x2029) Put(Hex4(rune.Value, u));
            else Put(s[..used]);
            s = s[Math.Max(1, used)..];
        }
    }

    private static ReadOnlySpan<byte> Hex4(int v, Span<byte> u)
    {
        const string hex = "0123456789abcdef";
        u[0] = (byte)'\\'; u[1] = (byte)'u';
        for (int i = 0; i < 4; i++) u[2 + i] = (byte)hex[(v >> (12 - 4 * i)) & 0xf];
        return u;
    }

    private void Rotate()
    {
        LibC.close(_fd);
        if (_maxFile > 1)
        {
            for (int i = _maxFile - 1; i >= 1; i--)
            {
                string from = i == 1 ? _path : $"{_path}.{i - 1}";
                if (Native.Exists(from)) Native.rename(from, $"{_path}.{i}");
            }
        }
        _fd = Open(append: _maxFile > 1);
    }

    /// <summary>RFC 3339 with nanoseconds, trailing zeros trimmed (Go's time.RFC3339Nano), into <paramref name="into"/>; its length.</summary>
    public static int Rfc3339Nano(long unixNs, Span<byte> into)
    {
        var t = DateTime.UnixEpoch.AddTicks(unixNs / 100);
        int n = 0;
        D(into, ref n, t.Year, 4); into[n++] = (byte)'-'; D(into, ref n, t.Month, 2); into[n++] = (byte)'-'; D(into, ref n, t.Day, 2); into[n++] = (byte)'T';
        D(into, ref n, t.Hour, 2); into[n++] = (byte)':'; D(into, ref n, t.Minute, 2); into[n++] = (byte)':'; D(into, ref n, t.Second, 2);
        int frac = (int)(unixNs % 1_000_000_000);
        if (frac > 0)
        {
            into[n++] = (byte)'.';
            int digits = 9;
            while (frac % 10 == 0) { frac /= 10; digits--; }
            D(into, ref n, frac, digits);
        }
        into[n++] = (byte)'Z';
        return n;
    }

    private static void D(Span<byte> into, ref int n, int v, int width)
    {
        for (int i = width - 1; i >= 0; i--) { into[n + i] = (byte)('0' + v % 10); v /= 10; }
        n += width;
    }

    public static string Rfc3339Nano(long unixNs)
    {
        Span<byte> b = stackalloc byte[40];
        return Encoding.ASCII.GetString(b[..Rfc3339Nano(unixNs, b)]);
    }

    /// <summary>
    /// Writes out partial lines. No fsync: every line is written through at once, so a reader
    /// (docker logs, a restarted berthd) sees it; only a machine crash could lose it, and that
    /// takes the container with it.
    /// </summary>
    public void Flush()
    {
        lock (_lock)
        {
            for (byte k = 1; k <= 2; k++) if (_partialLen[k] > 0) EmitPartial(k);
        }
    }

    public void Dispose()
    {
        Flush();
        lock (_lock) { LibC.close(_fd); _fd = -1; }
    }
}
