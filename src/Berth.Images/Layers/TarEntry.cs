namespace Berth.Images.Layers;

public enum TarEntryType { Regular, HardLink, SymLink, CharDevice, BlockDevice, Directory, Fifo }

/// <summary>One tar entry's header, after PAX and GNU long-name records are folded in.</summary>
public sealed class TarEntry
{
    public string Name { get; set; } = "";
    public TarEntryType Type { get; set; }
    public uint Mode { get; set; }
    public uint Uid { get; set; }
    public uint Gid { get; set; }
    public long Size { get; set; }
    public long MtimeSeconds { get; set; }
    public long MtimeNanos { get; set; }
    public long? AtimeSeconds { get; set; }
    public long AtimeNanos { get; set; }
    public string LinkName { get; set; } = "";
    public uint DevMajor { get; set; }
    public uint DevMinor { get; set; }
    public List<KeyValuePair<string, byte[]>>? Xattrs { get; set; }
}
