using System.Text;

namespace Berth.Images.Tests;

/// <summary>
/// Modes are given as their octal digits in decimal (755 for 0755; C# has no octal literals).
/// Writes tar archives byte by byte (ustar headers, PAX records), so that tests can build
/// layers no well-behaved tar writer would: traversal names, absolute links, huge headers.
/// </summary>
public sealed class TarBuilder
{
    private readonly MemoryStream _out = new();

    public TarBuilder Dir(string name, int mode = 755, int uid = 0, int gid = 0, long mtime = 1_600_000_000) =>
        Entry(name, '5', [], mode, uid, gid, mtime: mtime);

    public TarBuilder File(string name, string content, int mode = 644, int uid = 0, int gid = 0, long mtime = 1_600_000_000,
        Dictionary<string, string>? pax = null) =>
        Entry(name, '0', Encoding.UTF8.GetBytes(content), mode, uid, gid, mtime: mtime, pax: pax);

    public TarBuilder File(string name, byte[] content, int mode = 644) => Entry(name, '0', content, mode, 0, 0);

    public TarBuilder Symlink(string name, string target) => Entry(name, '2', [], 777, 0, 0, link: target);

    public TarBuilder Hardlink(string name, string target) => Entry(name, '1', [], 644, 0, 0, link: target);

    public TarBuilder CharDevice(string name, int major, int minor, int mode = 666) => Entry(name, '3', [], mode, 0, 0, major: major, minor: minor);

    public TarBuilder Fifo(string name) => Entry(name, '6', [], 644, 0, 0);

    public TarBuilder Entry(string name, char type, byte[] data, int mode, int uid, int gid, string link = "", long mtime = 1_600_000_000,
        int major = 0, int minor = 0, Dictionary<string, string>? pax = null)
    {
        var records = new Dictionary<string, string>(pax ?? new());
        if (Encoding.UTF8.GetByteCount(name) > 100) records["path"] = name;
        if (Encoding.UTF8.GetByteCount(link) > 100) records["linkpath"] = link;
        if (records.Count > 0) Pax(records);
        Header(name.Length > 100 ? name[..100] : name, type, data.Length, mode, uid, gid, link.Length > 100 ? link[..100] : link, mtime, major, minor);
        _out.Write(data);
        Pad(data.Length);
        return this;
    }

    /// <summary>A PAX extended header with the given records (for xattrs: "SCHILY.xattr.NAME").</summary>
    public TarBuilder Pax(Dictionary<string, string> records)
    {
        var body = new MemoryStream();
        foreach (var (k, v) in records)
        {
            string rest = $" {k}={v}\n";
            int len = Encoding.UTF8.GetByteCount(rest);
            int total = len + len.ToString().Length;
            if ((total).ToString().Length != len.ToString().Length) total++;
            var rec = Encoding.UTF8.GetBytes($"{total}{rest}");
            body.Write(rec);
        }
        Header("PaxHeaders/x", 'x', body.Length, 644, 0, 0, "", 0, 0, 0);
        _out.Write(body.ToArray());
        Pad(body.Length);
        return this;
    }

    /// <summary>A header claiming <paramref name="size"/> bytes of data that are not there.</summary>
    public TarBuilder RawHeader(string name, char type, long size) { Header(name, type, size, 644, 0, 0, "", 0, 0, 0); return this; }

    public TarBuilder RawBytes(byte[] b) { _out.Write(b); return this; }

    private void Header(string name, char type, long size, int mode, int uid, int gid, string link, long mtime, int major, int minor)
    {
        var h = new byte[512];
        Put(h, 0, 100, name);
        Octal(h, 100, 8, Convert.ToInt32(mode.ToString(), 8)); // modes are written as octal digits: 755
        Octal(h, 108, 8, uid);
        Octal(h, 116, 8, gid);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, mtime);
        for (int i = 148; i < 156; i++) h[i] = (byte)' ';
        h[156] = (byte)type;
        Put(h, 157, 100, link);
        Put(h, 257, 6, "ustar");
        h[262] = 0;
        h[263] = (byte)'0'; h[264] = (byte)'0';
        Octal(h, 329, 8, major);
        Octal(h, 337, 8, minor);
        int sum = h.Sum(b => b);
        Octal(h, 148, 7, sum);
        h[155] = (byte)' ';
        _out.Write(h);
    }

    private static void Put(byte[] h, int off, int len, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Array.Copy(b, 0, h, off, Math.Min(len, b.Length));
    }

    private static void Octal(byte[] h, int off, int len, long v)
    {
        string s = Convert.ToString(v, 8).PadLeft(len - 1, '0');
        Put(h, off, len - 1, s);
        h[off + len - 1] = 0;
    }

    private void Pad(long n)
    {
        int pad = (int)((512 - n % 512) % 512);
        _out.Write(new byte[pad]);
    }

    public byte[] Build(bool end = true)
    {
        if (end) _out.Write(new byte[1024]);
        return _out.ToArray();
    }
}

/// <summary>A temporary directory removed (with anything mounted below it unmounted) on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "berth-images-test-" + Guid.NewGuid().ToString("N")[..12]);

    public TempDir() => Directory.CreateDirectory(Path);

    public string Sub(string name)
    {
        string p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var line in System.IO.File.ReadAllLines("/proc/self/mounts").Reverse())
        {
            var mp = line.Split(' ')[1].Replace("\\040", " ");
            if (mp.StartsWith(Path + "/", StringComparison.Ordinal)) TestProcess.Run("umount", "-l", mp);
        }
        try { TestProcess.Run("rm", "-rf", Path); } catch { }
    }
}
