using System.Text;
using Berth.Images.Layers;

namespace Berth.Images.Archive;

/// <summary>
/// Writes a tar stream (ustar headers, PAX records where ustar cannot hold a value: long names,
/// big sizes or ids, sub-second times, xattrs). Xattr values are written as raw bytes, so binary
/// ones (security.capability) survive, which <see cref="System.Formats.Tar"/> cannot promise.
/// </summary>
public sealed class TarStreamWriter
{
    private const int Block = 512;
    private readonly Stream _out;
    private readonly byte[] _block = new byte[Block];
    private readonly byte[] _copy = new byte[128 * 1024];

    public TarStreamWriter(Stream output) => _out = output;

    /// <summary>Writes one entry; <paramref name="data"/> must hold exactly <see cref="TarEntry.Size"/> bytes for a regular file.</summary>
    public void Write(TarEntry e, Stream? data = null)
    {
        string name = e.Type == TarEntryType.Directory && !e.Name.EndsWith('/') ? e.Name + "/" : e.Name;
        var pax = new List<KeyValuePair<string, byte[]>>();
        bool longName = Encoding.UTF8.GetByteCount(name) > 100 || !IsAscii(name);
        if (longName) pax.Add(new("path", Encoding.UTF8.GetBytes(name)));
        if (Encoding.UTF8.GetByteCount(e.LinkName) > 100 || !IsAscii(e.LinkName)) pax.Add(new("linkpath", Encoding.UTF8.GetBytes(e.LinkName)));
        long size = e.Type == TarEntryType.Regular ? e.Size : 0;
        if (size > 0x1FFFFFFFFL) pax.Add(new("size", Ascii(size.ToString())));
        if (e.Uid > 0x1FFFFF) pax.Add(new("uid", Ascii(e.Uid.ToString())));
        if (e.Gid > 0x1FFFFF) pax.Add(new("gid", Ascii(e.Gid.ToString())));
        if (e.MtimeNanos != 0 || e.MtimeSeconds < 0 || e.MtimeSeconds > 0x1FFFFFFFFL)
            pax.Add(new("mtime", Ascii($"{e.MtimeSeconds}.{e.MtimeNanos:D9}")));
        foreach (var (k, v) in e.Xattrs ?? []) pax.Add(new("SCHILY.xattr." + k, v));

        if (pax.Count > 0)
        {
            var records = PaxRecords(pax);
            WriteHeader("PaxHeaders/" + Truncate(Path.GetFileName(name.TrimEnd('/')), 80), 'x', 0x1A4, 0, 0, records.Length, 0, "", 0, 0);
            _out.Write(records);
            Pad(records.Length);
        }
        char type = e.Type switch
        {
            TarEntryType.Regular => '0',
            TarEntryType.HardLink => '1',
            TarEntryType.SymLink => '2',
            TarEntryType.CharDevice => '3',
            TarEntryType.BlockDevice => '4',
            TarEntryType.Directory => '5',
            _ => '6',
        };
        WriteHeader(longName ? Truncate(name, 100) : name, type, e.Mode, Math.Min(e.Uid, 0x1FFFFFu), Math.Min(e.Gid, 0x1FFFFFu),
            Math.Min(size, 0x1FFFFFFFFL), Math.Clamp(e.MtimeSeconds, 0, 0x1FFFFFFFFL), Truncate(e.LinkName, 100), e.DevMajor, e.DevMinor);
        if (size == 0) return;
        if (data is null) throw new ArgumentException("a regular file entry needs its data", nameof(data));
        long left = size;
        while (left > 0)
        {
            int n = data.Read(_copy, 0, (int)Math.Min(_copy.Length, left));
            if (n <= 0) throw new ImageException($"{e.Name} shrank while it was being archived");
            _out.Write(_copy, 0, n);
            left -= n;
        }
        Pad(size);
    }

    /// <summary>The end-of-archive marker: two zero blocks.</summary>
    public void Finish()
    {
        Array.Clear(_block);
        _out.Write(_block);
        _out.Write(_block);
        _out.Flush();
    }

    private void WriteHeader(string name, char type, uint mode, uint uid, uint gid, long size, long mtime, string link, uint major, uint minor)
    {
        var h = _block;
        Array.Clear(h);
        Text(h, 0, 100, name);
        Octal(h, 100, 8, mode & 0xFFF);
        Octal(h, 108, 8, uid);
        Octal(h, 116, 8, gid);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, mtime);
        h[156] = (byte)type;
        Text(h, 157, 100, link);
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        if (type is '3' or '4')
        {
            Octal(h, 329, 8, major);
            Octal(h, 337, 8, minor);
        }
        // The checksum is computed with its own field as eight blanks.
        for (int i = 148; i < 156; i++) h[i] = (byte)' ';
        long sum = 0;
        foreach (var b in h) sum += b;
        Octal(h, 148, 7, sum);
        h[155] = (byte)' ';
        _out.Write(h);
    }

    private void Pad(long size)
    {
        int pad = (int)((Block - size % Block) % Block);
        if (pad == 0) return;
        Array.Clear(_block);
        _out.Write(_block, 0, pad);
    }

    private static byte[] PaxRecords(List<KeyValuePair<string, byte[]>> records)
    {
        var ms = new MemoryStream();
        foreach (var (k, v) in records)
        {
            // "LEN key=value\n", where LEN counts its own digits too.
            int body = 1 + Encoding.UTF8.GetByteCount(k) + 1 + v.Length + 1;
            int len = body + 1;
            while (len.ToString().Length + body != len) len = len.ToString().Length + body;
            ms.Write(Encoding.ASCII.GetBytes(len + " " + k + "="));
            ms.Write(v);
            ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }

    private static void Text(byte[] h, int off, int len, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        b.AsSpan(0, Math.Min(b.Length, len)).CopyTo(h.AsSpan(off));
    }

    private static void Octal(byte[] h, int off, int len, long v)
    {
        string s = Convert.ToString(v, 8).PadLeft(len - 1, '0');
        Encoding.ASCII.GetBytes(s).CopyTo(h, off);
        h[off + len - 1] = 0;
    }

    private static bool IsAscii(string s) => s.All(c => c is >= ' ' and < (char)127);
    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
    private static string Truncate(string s, int max)
    {
        // Never cut a UTF-8 sequence in two: keep ASCII only in the fallback name.
        var sb = new StringBuilder();
        foreach (var c in s) { if (sb.Length >= max) break; sb.Append(c is >= ' ' and < (char)127 ? c : '_'); }
        return sb.ToString();
    }
}
