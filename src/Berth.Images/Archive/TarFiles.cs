using Berth.Images.Layers;

namespace Berth.Images.Archive;

/// <summary>
/// Unpacks an archive of plain files (a docker-archive or an OCI layout tarball) into a
/// temporary directory: only regular files and directories, every name cleaned (no <c>..</c>
/// out, absolute names made relative); symlinks are remembered as aliases, never created.
/// </summary>
internal sealed class TarFiles : IDisposable
{
    public string Directory { get; }
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    private TarFiles(string dir) => Directory = dir;

    public static TarFiles Unpack(Stream input, string tempDir)
    {
        var t = new TarFiles(tempDir);
        try
        {
            System.IO.Directory.CreateDirectory(tempDir);
            using var plain = Decompression.Open(input, out _);
            var reader = new TarReader(plain);
            var buf = new byte[1 << 17];
            bool any = false;
            while (reader.Next() is { } e)
            {
                any = true;
                string path = SnapshotPath.Clean(e.Name);
                if (path.Length == 0) continue;
                string full = Path.Combine(tempDir, path);
                switch (e.Type)
                {
                    case TarEntryType.Directory:
                        System.IO.Directory.CreateDirectory(full);
                        break;
                    case TarEntryType.Regular:
                        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                        if (System.IO.Directory.Exists(full)) throw new ImageException($"archive entry \"{e.Name}\" replaces a directory");
                        using (var f = new FileStream(full, FileMode.Create, FileAccess.Write))
                        {
                            int n;
                            while ((n = reader.ReadData(buf)) > 0) f.Write(buf, 0, n);
                        }
                        break;
                    case TarEntryType.SymLink:
                    case TarEntryType.HardLink:
                    {
                        // docker save links identical layers; resolve relative to the link's directory, inside the archive.
                        string baseDir = e.Type == TarEntryType.SymLink ? Path.GetDirectoryName(path) ?? "" : "";
                        string target = e.LinkName.StartsWith('/') ? e.LinkName : (baseDir.Length > 0 ? baseDir + "/" : "") + e.LinkName;
                        t._aliases[path] = SnapshotPath.Clean(target);
                        break;
                    }
                    default:
                        throw new ImageException($"archive entry \"{e.Name}\" is not a regular file or directory");
                }
            }
            if (!any) throw new ImageException("archive is empty (not a tar archive?)");
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>The file for an archive path (following recorded aliases), or null.</summary>
    public string? Find(string archivePath)
    {
        string p = SnapshotPath.Clean(archivePath);
        for (int i = 0; i < 16 && _aliases.TryGetValue(p, out var next); i++) p = next;
        string full = Path.Combine(Directory, p);
        return File.Exists(full) ? full : null;
    }

    public string Require(string archivePath, string what) =>
        Find(archivePath) ?? throw new ImageException($"archive is missing {what} \"{archivePath}\"");

    public void Dispose() => Snapshots.SnapshotFiles.RemoveTree(Directory);
}
