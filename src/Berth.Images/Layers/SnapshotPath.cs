namespace Berth.Images.Layers;

/// <summary>
/// Turns a tar entry name into a clean path relative to the snapshot root: leading <c>/</c>
/// and <c>./</c> dropped (an absolute name is contained, as docker does), <c>.</c> and empty
/// components removed, and <c>..</c> that would climb above the root refused.
/// </summary>
public static class SnapshotPath
{
    public static string Clean(string name)
    {
        var parts = new List<string>();
        foreach (var c in name.Split('/'))
        {
            if (c.Length == 0 || c == ".") continue;
            if (c == "..")
            {
                if (parts.Count == 0) throw new ImageException($"layer entry \"{name}\" points outside the layer (\"..\")");
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            if (c.Length > 255) throw new ImageException($"layer entry \"{Trim(name)}\" has a path component longer than 255 bytes");
            if (c.Contains('\0')) throw new ImageException("layer entry name contains a NUL byte");
            parts.Add(c);
        }
        return string.Join('/', parts);
    }

    public static (string Parent, string Name) Split(string clean)
    {
        int i = clean.LastIndexOf('/');
        return i < 0 ? ("", clean) : (clean[..i], clean[(i + 1)..]);
    }

    private static string Trim(string s) => s.Length > 80 ? s[..80] + "..." : s;
}
