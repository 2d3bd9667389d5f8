using Berth.Images.Layers;

namespace Berth.Images.Tests;

/// <summary>
/// Crafted layers that try to write outside their snapshot. Each is refused (with a one-line
/// cause) or contained (what it wrote stays inside); in every case nothing appears outside.
/// </summary>
public class HostileLayerTests
{
    public enum Outcome { Refused, Contained }

    public sealed record Case(string Name, Func<string, byte[]> Tar, Outcome Outcome, string? Cause = null, string? InsidePath = null);

    // "outside" is a sibling of the snapshot root: /tmp/.../outside; the snapshot is /tmp/.../fs.
    public static readonly Case[] Cases =
    [
        new("dot-dot traversal", _ => new TarBuilder().File("../outside/evil", "x").Build(), Outcome.Refused, "points outside"),
        new("traversal in the middle", _ => new TarBuilder().File("a/../../outside/evil", "x").Build(), Outcome.Refused, "points outside"),
        new("absolute path", outside => new TarBuilder().File(outside + "/evil", "x").Build(), Outcome.Contained, InsidePath: "OUTSIDE/evil"),
        new("symlink to an absolute directory, file through it", outside => new TarBuilder().Dir(outside).Symlink("link", outside).File("link/evil", "x").Build(),
            Outcome.Contained, InsidePath: "OUTSIDE/evil"),
        new("symlink to a directory missing inside, file through it", outside => new TarBuilder().Symlink("link", outside).File("link/evil", "x").Build(),
            Outcome.Refused, "symlink to a missing directory"),
        new("symlink with ../ climbing, file through it", _ => new TarBuilder().Dir("outside").Symlink("link", "../../../../../../../../outside").File("link/evil", "x").Build(),
            Outcome.Contained, InsidePath: "outside/evil"),
        new("symlink chain", outside => new TarBuilder().Dir(outside).Symlink("a", "b").Symlink("b", outside).Dir("a/sub").File("a/sub/evil", "x").Build(),
            Outcome.Contained, InsidePath: "OUTSIDE/sub/evil"),
        new("symlink as the final component is replaced, not followed", outside => new TarBuilder().Symlink("evil", outside + "/evil").File("evil", "x").Build(),
            Outcome.Contained, InsidePath: "evil"),
        new("hardlink to a path outside", _ => new TarBuilder().Hardlink("evil", "../outside/target").Build(), Outcome.Refused, "points outside"),
        new("hardlink through a symlink to outside", outside => new TarBuilder().Symlink("link", outside).Hardlink("evil", "link/target").Build(),
            Outcome.Refused, "not found"),
        new("device node (created inside only)", _ => new TarBuilder().CharDevice("dev/mem", 1, 1).Build(), Outcome.Contained, InsidePath: "dev/mem"),
        new("device node through a symlink", outside => new TarBuilder().Dir(outside).Symlink("dev", outside).CharDevice("dev/kmsg", 1, 11).Build(),
            Outcome.Contained, InsidePath: "OUTSIDE/kmsg"),
        new("oversized PAX header", _ => new TarBuilder().RawHeader("PaxHeaders/x", 'x', 1L << 40).Build(end: false), Outcome.Refused, "oversized tar header"),
        new("oversized GNU long name", _ => new TarBuilder().RawHeader("././@LongLink", 'L', 64L << 20).Build(end: false), Outcome.Refused, "oversized tar header"),
        new("whiteout of a parent path", _ => new TarBuilder().Dir("a").File("a/.wh...", "").Build(), Outcome.Refused, "invalid whiteout"),
        new("whiteout through ../", _ => new TarBuilder().File("../outside/.wh.target", "").Build(), Outcome.Refused, "points outside"),
        new("whiteout through a symlink", outside => new TarBuilder().Dir(outside).Symlink("link", outside).File("link/.wh.target", "").Build(),
            Outcome.Contained, InsidePath: "OUTSIDE/target"),
        new("overlay xattr forged in the tar", _ => new TarBuilder().Dir("d").File("d/f", "x", pax: new() { ["SCHILY.xattr.trusted.overlay.opaque"] = "y" }).Build(),
            Outcome.Contained, InsidePath: "d/f"),
        new("truncated data", _ => new TarBuilder().RawHeader("big", '0', 1 << 20).RawBytes(new byte[1000]).Build(end: false), Outcome.Refused, "truncated"),
        new("corrupt header checksum", _ => { var b = new TarBuilder().File("f", "x").Build(); b[0] ^= 0x55; return b; }, Outcome.Refused, "checksum"),
        new("entry replacing the root", _ => new TarBuilder().File("./", "x").Build(), Outcome.Refused, "root"),
    ];

    public static IEnumerable<object[]> Names() => Cases.Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(Names))]
    public void Hostile_layer_is_refused_or_contained(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        using var t = new TempDir();
        string root = t.Sub("fs");
        string outside = t.Sub("outside");
        System.IO.File.WriteAllText(Path.Combine(outside, "target"), "precious");
        var before = Snapshot(t.Path, root);

        var tar = c.Tar(outside);
        Exception? error = Record.Exception(() => new LayerExtractor(root, WhiteoutMode.Overlay).Extract(new MemoryStream(tar)));

        if (c.Outcome == Outcome.Refused)
        {
            var ie = Assert.IsAssignableFrom<ImageException>(error);
            Assert.Contains(c.Cause!, ie.Message);
            Assert.DoesNotContain("\n", ie.Message);
        }
        else
        {
            Assert.Null(error);
            string inside = c.InsidePath!.Replace("OUTSIDE", outside.TrimStart('/'));
            Assert.True(Path.Exists(Path.Combine(root, inside)) || new FileInfo(Path.Combine(root, inside)).LinkTarget is not null,
                $"{inside} was written inside the snapshot");
        }
        // Nothing outside the snapshot changed: same entries, same content.
        Assert.Equal(before, Snapshot(t.Path, root));
        Assert.Equal("precious", System.IO.File.ReadAllText(Path.Combine(outside, "target")));
    }

    [Fact]
    public void Every_case_is_in_the_table_once()
    {
        Assert.Equal(Cases.Length, Cases.Select(c => c.Name).Distinct().Count());
        Assert.True(Cases.Length >= 7);
    }

    private static List<string> Snapshot(string dir, string except)
    {
        var list = new List<string>();
        foreach (var p in Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            if (p == except || p.StartsWith(except + "/", StringComparison.Ordinal)) continue;
            var fi = new FileInfo(p);
            list.Add($"{p}:{(fi.Exists ? fi.Length : -1)}");
        }
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
