using System.Buffers;
using System.Text;

namespace Berth.Images.Layers;

/// <summary>
/// A streaming tar reader (ustar, PAX, GNU long names, base-256 numbers) with hard limits:
/// it never buffers more than <see cref="MaxMetadataBytes"/> of header data, whatever a
/// header claims, and checks every header's checksum. Data of the current entry is read
/// through <see cref="ReadData"/>; what an entry's reader leaves unread is skipped.
/// </summary>
public sealed class TarReader
{
    public const int MaxMetadataBytes = 1 << 20;
    public const int MaxPathBytes = 4096;
    private const int Block = 512;

    private readonly Stream _s;
    private readonly byte[] _header = new byte[Block];
    private long _remaining;   // data bytes of the current entry not yet read
    private int _padding;      // padding after the current entry's data
    private bool _done;

    public TarReader(Stream s) => _s = s;

    /// <summary>The next entry, or null at the end of the archive.</summary>
    public TarEntry? Next()
    {
        if (_done) return null;
        Skip(_remaining + _padding);
        _remaining = 0; _padding = 0;

        string? longName = null, longLink = null;
        Dictionary<string, string>? pax = null;
        List<KeyValuePair<string, byte[]>>? xattrs = null;
        while (true)
        {
            if (!ReadBlock(_header, allowEof: true)) { _done = true; return null; }
            if (IsZero(_header))
            {
                // End of archive: one or two zero blocks (some writers stop after the first).
                _done = true;
                return null;
            }
            VerifyChecksum();
            char type = (char)_header[156];
            long size = ParseNumber(124, 12, "size");
            if (size < 0) throw new ImageException("tar header has a negative size");
            switch (type)
            {
                case 'x':
                    (pax, xattrs) = ParsePax(ReadMetadata(size, "PAX extended header"));
                    continue;
                case 'g':
                    ReadMetadata(size, "PAX global header");
                    continue;
                case 'L':
                    longName = TrimNul(ReadMetadata(size, "GNU long name"));
                    continue;
                case 'K':
                    longLink = TrimNul(ReadMetadata(size, "GNU long link name"));
                    continue;
            }

            var e = new TarEntry
            {
                Type = type switch
                {
                    '0' or '\0' or '7' => TarEntryType.Regular,
                    '1' => TarEntryType.HardLink,
                    '2' => TarEntryType.SymLink,
                    '3' => TarEntryType.CharDevice,
                    '4' => TarEntryType.BlockDevice,
                    '5' => TarEntryType.Directory,
                    '6' => TarEntryType.Fifo,
                    _ => throw new ImageException($"unsupported tar entry type '{Printable(type)}'"),
                },
                Mode = (uint)ParseNumber(100, 8, "mode") & 0xFFF,
                Uid = (uint)ParseNumber(108, 8, "uid"),
                Gid = (uint)ParseNumber(116, 8, "gid"),
                Size = size,
                MtimeSeconds = ParseNumber(136, 12, "mtime"),
                DevMajor = (uint)ParseNumber(329, 8, "devmajor"),
                DevMinor = (uint)ParseNumber(337, 8, "devminor"),
                Xattrs = xattrs,
            };
            string name = Field(0, 100);
            bool posix = _header[257] == 'u' && _header[262] == 0; // "ustar\0": prefix field is a path prefix
            if (posix)
            {
                string prefix = Field(345, 155);
                if (prefix.Length > 0) name = prefix + "/" + name;
            }
            e.Name = longName ?? name;
            e.LinkName = longLink ?? Field(157, 100);
            if (pax is not null) ApplyPax(e, pax);
            if (Encoding.UTF8.GetByteCount(e.Name) > MaxPathBytes || Encoding.UTF8.GetByteCount(e.LinkName) > MaxPathBytes)
                throw new ImageException($"tar entry name longer than {MaxPathBytes} bytes");
            if (e.Type is TarEntryType.Directory or TarEntryType.SymLink or TarEntryType.HardLink
                or TarEntryType.CharDevice or TarEntryType.BlockDevice or TarEntryType.Fifo)
            {
                // These carry no data, whatever the header says (a hard link's size is 0 by rule).
                _remaining = e.Size;
                e.Size = 0;
            }
            else _remaining = e.Size;
            _padding = (int)((Block - (_remaining % Block)) % Block);
            return e;
        }
    }

    /// <summary>Reads the current entry's data; 0 at its end. Throws when the archive ends inside it.</summary>
    public int ReadData(Span<byte> buffer)
    {
        if (_remaining <= 0) return 0;
        int want = (int)Math.Min(buffer.Length, _remaining);
        int n = _s.Read(buffer[..want]);
        if (n <= 0) throw new ImageException("tar archive is truncated: it ends inside an entry's data");
        _remaining -= n;
        return n;
    }

    private (Dictionary<string, string>, List<KeyValuePair<string, byte[]>>?) ParsePax(byte[] data)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        List<KeyValuePair<string, byte[]>>? xattrs = null;
        int pos = 0;
        while (pos < data.Length)
        {
            int sp = Array.IndexOf(data, (byte)' ', pos);
            if (sp < 0) break;
            if (!int.TryParse(Encoding.ASCII.GetString(data, pos, sp - pos), out int len) || len <= sp - pos || pos + len > data.Length)
                throw new ImageException("malformed PAX extended header record");
            int recEnd = pos + len;             // record ends with '\n'
            int eq = Array.IndexOf(data, (byte)'=', sp + 1, recEnd - sp - 1);
            if (eq < 0 || data[recEnd - 1] != '\n') throw new ImageException("malformed PAX extended header record");
            string key = Encoding.UTF8.GetString(data, sp + 1, eq - sp - 1);
            var valueBytes = data.AsSpan(eq + 1, recEnd - 1 - eq - 1);
            if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                (xattrs ??= []).Add(new(key["SCHILY.xattr.".Length..], valueBytes.ToArray()));
            else
                d[key] = Encoding.UTF8.GetString(valueBytes);
            pos = recEnd;
        }
        return (d, xattrs);
    }

    private static void ApplyPax(TarEntry e, Dictionary<string, string> pax)
    {
        if (pax.TryGetValue("path", out var p)) e.Name = p;
        if (pax.TryGetValue("linkpath", out var l)) e.LinkName = l;
        if (pax.TryGetValue("uid", out var u) && uint.TryParse(u, out var uid)) e.Uid = uid;
        if (pax.TryGetValue("gid", out var g) && uint.TryParse(g, out var gid)) e.Gid = gid;
        if (pax.TryGetValue("size", out var s))
        {
            if (!long.TryParse(s, out var size) || size < 0) throw new ImageException("malformed PAX size");
            e.Size = size;
        }
        if (pax.TryGetValue("mtime", out var m)) (e.MtimeSeconds, e.MtimeNanos) = ParseTime(m);
        if (pax.TryGetValue("atime", out var a)) { var (sec, ns) = ParseTime(a); e.AtimeSeconds = sec; e.AtimeNanos = ns; }
    }

    private static (long, long) ParseTime(string v)
    {
        int dot = v.IndexOf('.');
        string secPart = dot < 0 ? v : v[..dot];
        if (!long.TryParse(secPart, out long sec)) throw new ImageException($"malformed PAX time \"{v}\"");
        long ns = 0;
        if (dot >= 0)
        {
            string frac = (v[(dot + 1)..] + "000000000")[..9];
            if (!long.TryParse(frac, out ns)) throw new ImageException($"malformed PAX time \"{v}\"");
        }
        return (sec, ns);
    }

    private byte[] ReadMetadata(long size, string what)
    {
        if (size > MaxMetadataBytes)
            throw new ImageException($"oversized tar header: {what} of {size} bytes (limit {MaxMetadataBytes})");
        var buf = new byte[size];
        ReadExactly(buf, what);
        int pad = (int)((Block - (size % Block)) % Block);
        Skip(pad);
        return buf;
    }

    private void ReadExactly(Span<byte> buf, string what)
    {
        int off = 0;
        while (off < buf.Length)
        {
            int n = _s.Read(buf[off..]);
            if (n <= 0) throw new ImageException($"tar archive is truncated inside a {what}");
            off += n;
        }
    }

    private bool ReadBlock(byte[] block, bool allowEof)
    {
        int off = 0;
        while (off < Block)
        {
            int n = _s.Read(block, off, Block - off);
            if (n <= 0)
            {
                if (off == 0 && allowEof) return false;
                throw new ImageException("tar archive is truncated inside a header");
            }
            off += n;
        }
        return true;
    }

    private void Skip(long count)
    {
        if (count <= 0) return;
        var buf = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (count > 0)
            {
                int n = _s.Read(buf, 0, (int)Math.Min(buf.Length, count));
                if (n <= 0) throw new ImageException("tar archive is truncated: it ends inside an entry's data");
                count -= n;
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
    }

    private void VerifyChecksum()
    {
        long stored = ParseOctal(148, 8, "checksum");
        long unsigned = 0, signed = 0;
        for (int i = 0; i < Block; i++)
        {
            byte b = i is >= 148 and < 156 ? (byte)' ' : _header[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        if (stored != unsigned && stored != signed) throw new ImageException("tar header checksum mismatch (corrupt or not a tar archive)");
    }

    private long ParseNumber(int off, int len, string field)
    {
        if ((_header[off] & 0x80) != 0)
        {
            // GNU base-256: big-endian two's complement, first byte's top bit is the marker.
            if ((_header[off] & 0x40) != 0) throw new ImageException($"tar header field {field} is negative");
            long v = _header[off] & 0x3F;
            for (int i = 1; i < len; i++)
            {
                if (v > (long.MaxValue >> 8)) throw new ImageException($"tar header field {field} overflows");
                v = (v << 8) | _header[off + i];
            }
            return v;
        }
        return ParseOctal(off, len, field);
    }

    private long ParseOctal(int off, int len, string field)
    {
        long v = 0;
        int i = off, end = off + len;
        while (i < end && (_header[i] == ' ' || _header[i] == 0)) i++;
        for (; i < end; i++)
        {
            byte b = _header[i];
            if (b == 0 || b == ' ') break;
            if (b is < (byte)'0' or > (byte)'7') throw new ImageException($"tar header field {field} is not an octal number");
            if (v > (long.MaxValue >> 3)) throw new ImageException($"tar header field {field} overflows");
            v = (v << 3) | (long)(b - '0');
        }
        return v;
    }

    private string Field(int off, int len)
    {
        var span = _header.AsSpan(off, len);
        int nul = span.IndexOf((byte)0);
        if (nul >= 0) span = span[..nul];
        return Encoding.UTF8.GetString(span);
    }

    private static string TrimNul(byte[] b)
    {
        int n = Array.IndexOf(b, (byte)0);
        return Encoding.UTF8.GetString(b, 0, n < 0 ? b.Length : n);
    }

    private static bool IsZero(byte[] b) => b.AsSpan().IndexOfAnyExcept((byte)0) < 0;

    private static string Printable(char c) => c is >= ' ' and < (char)127 ? c.ToString() : $"\\x{(int)c:x2}";
}
