using Berth.Linux.Interop;

namespace Berth.Runtime.Init;

/// <summary>
/// OCI mount options split into mount(2) flags, propagation flags and the filesystem's own
/// data string (anything the kernel's generic flags do not cover, e.g. "mode=755").
/// </summary>
public sealed class MountOptions
{
    public ulong Flags;
    public ulong ClearFlags;
    public ulong Propagation;
    public bool Bind;
    public bool Recursive;
    public List<string> Data { get; } = new();

    private static readonly Dictionary<string, (bool Clear, ulong Flag)> FlagOptions = new()
    {
        ["ro"] = (false, MS.RDONLY), ["rw"] = (true, MS.RDONLY),
        ["nosuid"] = (false, MS.NOSUID), ["suid"] = (true, MS.NOSUID),
        ["nodev"] = (false, MS.NODEV), ["dev"] = (true, MS.NODEV),
        ["noexec"] = (false, MS.NOEXEC), ["exec"] = (true, MS.NOEXEC),
        ["sync"] = (false, MS.SYNCHRONOUS), ["async"] = (true, MS.SYNCHRONOUS),
        ["dirsync"] = (false, MS.DIRSYNC),
        ["remount"] = (false, MS.REMOUNT),
        ["mand"] = (false, MS.MANDLOCK), ["nomand"] = (true, MS.MANDLOCK),
        ["noatime"] = (false, MS.NOATIME), ["atime"] = (true, MS.NOATIME),
        ["nodiratime"] = (false, MS.NODIRATIME), ["diratime"] = (true, MS.NODIRATIME),
        ["relatime"] = (false, MS.RELATIME), ["norelatime"] = (true, MS.RELATIME),
        ["strictatime"] = (false, MS.STRICTATIME), ["nostrictatime"] = (true, MS.STRICTATIME),
        ["lazytime"] = (false, MS.LAZYTIME), ["nolazytime"] = (true, MS.LAZYTIME),
        ["nosymfollow"] = (false, MS.NOSYMFOLLOW), ["symfollow"] = (true, MS.NOSYMFOLLOW),
    };

    private static readonly Dictionary<string, ulong> PropagationOptions = new()
    {
        ["private"] = MS.PRIVATE, ["rprivate"] = MS.PRIVATE | MS.REC,
        ["shared"] = MS.SHARED, ["rshared"] = MS.SHARED | MS.REC,
        ["slave"] = MS.SLAVE, ["rslave"] = MS.SLAVE | MS.REC,
        ["unbindable"] = MS.UNBINDABLE, ["runbindable"] = MS.UNBINDABLE | MS.REC,
    };

    /// <summary>Options Berth accepts and ignores: they mean something only to other tools.</summary>
    private static readonly HashSet<string> Ignored = new() { "defaults", "tmpcopyup", "x-mount.mkdir", "_netdev", "auto", "noauto", "user", "nouser" };

    public static MountOptions Parse(IEnumerable<string>? options, string? type)
    {
        var m = new MountOptions { Bind = type == "bind" };
        foreach (var o in options ?? Array.Empty<string>())
        {
            if (o == "bind") m.Bind = true;
            else if (o == "rbind") { m.Bind = true; m.Recursive = true; }
            else if (FlagOptions.TryGetValue(o, out var f))
            {
                if (f.Clear) { m.Flags &= ~f.Flag; m.ClearFlags |= f.Flag; }
                else m.Flags |= f.Flag;
            }
            else if (PropagationOptions.TryGetValue(o, out var p)) m.Propagation = p;
            else if (Ignored.Contains(o) || o.StartsWith("x-", StringComparison.Ordinal)) { }
            else m.Data.Add(o);
        }
        return m;
    }

    public string? DataString => Data.Count == 0 ? null : string.Join(',', Data);
}
