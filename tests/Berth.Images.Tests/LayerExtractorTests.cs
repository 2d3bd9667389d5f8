using System.Text;
using Berth.Images.Interop;
using Berth.Images.Layers;

namespace Berth.Images.Tests;

public class LayerExtractorTests
{
    private static ExtractResult Extract(string root, byte[] tar, WhiteoutMode mode = WhiteoutMode.Overlay) =>
        new LayerExtractor(root, mode).Extract(new MemoryStream(tar));

    private static unsafe FsCalls.StatBuf Lstat(string path)
    {
        Assert.True(FsCalls.TryLstat(At.FDCWD, path, out var st), $"{path} exists");
        return st;
    }

    /// <summary>
    /// Entries below a layer's own "../" symlink are resolved with RESOLVE_IN_ROOT, whose ".." steps the
    /// kernel answers with EAGAIN while any rename on the system races them (layers extracting side by
    /// side rename all the time). The extraction must not fail for that.
    /// </summary>
    [Fact]
    public void Entries_through_a_dotdot_link_extract_while_renames_race_them()
    {
        using var t = new TempDir();
        string root = t.Sub("fs");
        var b = new TarBuilder().Dir("tmp").Symlink("tmp/up", "../../../../../..");
        for (int i = 0; i < 2000; i++) b.Dir($"d{i}").File($"tmp/up/d{i}/f", "x");
        byte[] tar = b.Build();
        string a = Path.Combine(t.Path, "a"), moved = Path.Combine(t.Path, "b");
        File.WriteAllText(a, "");
        using var stop = new CancellationTokenSource();
        using var renaming = new ManualResetEventSlim();
        var renamer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) { File.Move(a, moved); File.Move(moved, a); renaming.Set(); }
        });
        try
        {
            Assert.True(renaming.Wait(TimeSpan.FromSeconds(30)), "the renaming thread did not start");
            Extract(root, tar);
        }
        finally { stop.Cancel(); renamer.Wait(); }
        Assert.Equal(2000, Enumerable.Range(0, 2000).Count(i => File.Exists(Path.Combine(root, $"d{i}", "f"))));
        Assert.False(Directory.Exists("/d0"), "an entry through the link left the snapshot");
    }

    [Fact]
    public void Files_get_the_tar_owner_and_mode_in_setgid_directories_and_with_modes_the_umask_would_strip()
    {
        // Regular files skip fchown/fchmod when creation already gave the tar's values: a setgid parent
        // (gid inherited), a root entry made setgid after files were written, and bits the umask takes
        // away must still end as the tar says.
        using var t = new TempDir();
        string root = t.Sub("fs");
        var tar = new TarBuilder()
            .File("first", "1", 644)
            .Dir("./", 2755, 0, 77)
            .File("second", "2", 644)
            .Dir("sg", 2775, 0, 55)
            .File("sg/plain", "3", 644)
            .File("sg/owned", "4", 640, 0, 55)
            .File("wide", "5", 666)
            .File("exec", "6", 777)
            .Build();
        Extract(root, tar);
        foreach (var (name, mode, gid) in new[] { ("first", "644", 0u), ("second", "644", 0u), ("sg/plain", "644", 0u),
                     ("sg/owned", "640", 55u), ("wide", "666", 0u), ("exec", "777", 0u) })
        {
            var st = Lstat(Path.Combine(root, name));
            Assert.True((Convert.ToUInt32(mode, 8), 0u, gid) == (st.Mode & 0xFFF, st.Uid, st.Gid),
                $"{name}: {Convert.ToString(st.Mode & 0xFFF, 8)} {st.Uid}:{st.Gid}");
        }
        var r = Lstat(root);
        Assert.Equal((Convert.ToUInt32("2755", 8), 77u), (r.Mode & 0xFFF, r.Gid));
    }

    [Fact]
    public void Keeps_owners_modes_setuid_times_xattrs_links_and_devices()
    {
        using var t = new TempDir();
        string root = t.Sub("fs");
        var tar = new TarBuilder()
            .Dir("bin", 750, 12, 34, mtime: 1_500_000_000)
            .File("bin/tool", "#!/bin/sh\n", 4755, 1000, 1001, mtime: 1_400_000_000)
            .File("bin/capped", "x", 755, pax: new() { ["SCHILY.xattr.user.test"] = "hello", ["mtime"] = "1400000000.123456789" })
            .Hardlink("bin/tool-again", "bin/tool")
            .Symlink("bin/sh", "/bin/tool")
            .CharDevice("dev/null", 1, 3)
            .Fifo("run/pipe")
            .File("deep/a/b/c/file", "deep")
            .Build();
        var r = Extract(root, tar);
        Assert.Equal(8, r.Entries);

        var tool = Lstat(Path.Combine(root, "bin/tool"));
        Assert.Equal(Convert.ToUInt32("4755", 8), tool.Mode & 0xFFF);
        Assert.Equal((1000u, 1001u), (tool.Uid, tool.Gid));
        Assert.Equal(1_400_000_000, tool.Mtime.Sec);
        Assert.Equal(2ul, tool.Nlink);
        Assert.Equal(tool.Ino, Lstat(Path.Combine(root, "bin/tool-again")).Ino);

        var bin = Lstat(Path.Combine(root, "bin"));
        Assert.Equal(Convert.ToUInt32("750", 8), bin.Mode & 0xFFF);
        Assert.Equal((12u, 34u), (bin.Uid, bin.Gid));
        Assert.Equal(1_500_000_000, bin.Mtime.Sec); // set after its children were written

        var capped = Lstat(Path.Combine(root, "bin/capped"));
        Assert.Equal(123456789, capped.Mtime.Nsec);
        var x = FsCalls.ListXattrs(Path.Combine(root, "bin/capped"));
        Assert.Contains(x, kv => kv.Key == "user.test" && Encoding.UTF8.GetString(kv.Value) == "hello");

        Assert.Equal("/bin/tool", new FileInfo(Path.Combine(root, "bin/sh")).LinkTarget);
        var dev = Lstat(Path.Combine(root, "dev/null"));
        Assert.Equal(FsCalls.S_IFCHR, dev.Mode & FsCalls.S_IFMT);
        Assert.Equal((1ul << 8) | 3ul, dev.Rdev);
        Assert.Equal(FsCalls.S_IFIFO, Lstat(Path.Combine(root, "run/pipe")).Mode & FsCalls.S_IFMT);
        Assert.Equal("deep", File.ReadAllText(Path.Combine(root, "deep/a/b/c/file")));
        // Parents the tar does not list are made 0755 root:root, as docker does.
        Assert.Equal(Convert.ToUInt32("755", 8), Lstat(Path.Combine(root, "deep/a")).Mode & 0xFFF);
        Assert.Equal(Convert.ToUInt32("666", 8), dev.Mode & 0xFFF);
    }

    [Fact]
    public void Overlay_mode_writes_overlay_whiteouts()
    {
        using var t = new TempDir();
        string root = t.Sub("fs");
        Extract(root, new TarBuilder().Dir("etc").File("etc/.wh.passwd", "").Dir("var/cache").File("var/cache/.wh..wh..opq", "").File("var/cache/new", "n").Build());
        var wh = Lstat(Path.Combine(root, "etc/passwd"));
        Assert.Equal(FsCalls.S_IFCHR, wh.Mode & FsCalls.S_IFMT);
        Assert.Equal(0ul, wh.Rdev);
        Assert.False(File.Exists(Path.Combine(root, "etc/.wh.passwd")));
        var x = FsCalls.ListXattrs(Path.Combine(root, "var/cache"));
        Assert.Contains(x, kv => kv.Key == "trusted.overlay.opaque" && kv.Value.SequenceEqual("y"u8.ToArray()));
        Assert.Equal("n", File.ReadAllText(Path.Combine(root, "var/cache/new")));
    }

    [Fact]
    public void Apply_mode_removes_whited_out_paths_and_clears_opaque_directories()
    {
        using var t = new TempDir();
        string root = t.Sub("fs");
        Extract(root, new TarBuilder().Dir("etc").File("etc/passwd", "p").File("etc/group", "g").Dir("cache").File("cache/old", "o").Dir("cache/sub").File("cache/sub/x", "x").Build(), WhiteoutMode.Apply);
        Extract(root, new TarBuilder().File("etc/.wh.passwd", "").File("cache/kept", "k").File("cache/.wh..wh..opq", "").Build(), WhiteoutMode.Apply);
        Assert.False(File.Exists(Path.Combine(root, "etc/passwd")));
        Assert.True(File.Exists(Path.Combine(root, "etc/group")));
        Assert.Equal(["kept"], Directory.EnumerateFileSystemEntries(Path.Combine(root, "cache")).Select(p => Path.GetFileName(p)!).ToArray());
    }

    [Fact]
    public void A_later_entry_replaces_an_earlier_one_of_another_type()
    {
        using var t = new TempDir();
        string root = t.Sub("fs");
        Extract(root, new TarBuilder().Dir("x").File("x/in", "1").File("x", "now a file").Symlink("y", "x").File("y", "file again").Build());
        Assert.Equal("now a file", File.ReadAllText(Path.Combine(root, "x")));
        Assert.Null(new FileInfo(Path.Combine(root, "y")).LinkTarget);
        Assert.Equal("now a file", File.ReadAllText(Path.Combine(root, "x")));
    }

    [Fact]
    public void Long_names_through_pax_work()
    {
        using var t = new TempDir();
        string root = t.Sub("fs");
        string longName = string.Join('/', Enumerable.Range(0, 12).Select(i => $"directory{i:D3}")) + "/file.txt";
        Extract(root, new TarBuilder().File(longName, "long").Build());
        Assert.Equal("long", File.ReadAllText(Path.Combine(root, longName)));
    }
}
