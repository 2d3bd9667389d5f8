using System.Security.Cryptography;
using Berth.Images.Interop;

namespace Berth.Images.Tests;

/// <summary>A file tree as text lines (type, mode, owner, size, content hash, link target, mtime), for exact comparisons.</summary>
public static class TreeListing
{
    public static List<string> Of(string root, bool withDirMtimes = true)
    {
        var lines = new List<string>();
        Walk(root, "", lines, withDirMtimes);
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static void Walk(string root, string rel, List<string> lines, bool dirMtimes)
    {
        string full = rel.Length == 0 ? root : Path.Combine(root, rel);
        Assert.True(FsCalls.TryLstat(At.FDCWD, full, out var st));
        uint kind = st.Mode & FsCalls.S_IFMT;
        string type = kind switch
        {
            FsCalls.S_IFDIR => "d", FsCalls.S_IFREG => "f", FsCalls.S_IFLNK => "l", FsCalls.S_IFCHR => "c",
            FsCalls.S_IFBLK => "b", FsCalls.S_IFIFO => "p", _ => "?",
        };
        string extra = kind switch
        {
            FsCalls.S_IFREG => $"{st.Size} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(full)))[..16]}",
            FsCalls.S_IFLNK => "-> " + new FileInfo(full).LinkTarget,
            FsCalls.S_IFCHR or FsCalls.S_IFBLK => $"dev {st.Rdev}",
            _ => "",
        };
        // The root of a container's filesystem is its own writable directory: its time is not the image's.
        string mtime = kind == FsCalls.S_IFDIR && (!dirMtimes || rel.Length == 0) ? "" : $" t={st.Mtime.Sec}";
        lines.Add($"/{rel} {type} {Convert.ToString(st.Mode & 0xFFF, 8)} {st.Uid}:{st.Gid} {extra}{mtime}");
        if (kind == FsCalls.S_IFDIR)
            foreach (var child in Directory.EnumerateFileSystemEntries(full))
                Walk(root, rel.Length == 0 ? Path.GetFileName(child) : Path.Combine(rel, Path.GetFileName(child)), lines, dirMtimes);
    }
}
