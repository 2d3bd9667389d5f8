using System.Diagnostics;

namespace Berth.Images.Tests;

/// <summary>
/// kill -9 of the berth CLI in the middle of pull, load, push and remove: the store still opens,
/// shows no half-made image, and doing it again finishes the job.
/// </summary>
public class CrashSafetyTests : IClassFixture<RegistryWithImage>
{
    private readonly RegistryWithImage _f;

    public CrashSafetyTests(RegistryWithImage f) => _f = f;

    /// <summary>Starts berth, waits until <paramref name="midway"/> holds, then kills it with SIGKILL.</summary>
    private static bool KillMidway(string root, Func<bool> midway, params string[] args)
    {
        using var p = Process.Start(BerthCli.Start(root, null, args))!;
        p.StandardInput.Close();
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!midway() && !p.HasExited && DateTime.UtcNow < until) Thread.Sleep(5);
        bool killedRunning = !p.HasExited;
        if (killedRunning) Process.Start("kill", ["-9", p.Id.ToString()])!.WaitForExit();
        p.WaitForExit();
        return killedRunning;
    }

    private static bool IngestHasData(string root) =>
        Directory.Exists(Path.Combine(root, "ingest")) &&
        Directory.EnumerateFiles(Path.Combine(root, "ingest")).Any(f => new FileInfo(f).Length > 200_000);

    private static void AssertStoreOpensEmpty(string root)
    {
        var images = BerthCli.Run(root, "images", "-q");
        Assert.True(images.Code == 0, images.Stderr);
        Assert.Equal("", images.Stdout);
    }

    [Fact]
    public void Kill_during_pull_then_pull_again()
    {
        using var t = new TempDir();
        string root = t.Sub("root");
        using var slow = new TcpProxy(_f.Registry.Port) { BytesPerSecond = 1_000_000 };
        string reference = $"{slow.Host}/test/busybox:{UmociImage.Tag}";
        Assert.True(KillMidway(root, () => IngestHasData(root), "pull", reference), "berth was still pulling when killed");
        AssertStoreOpensEmpty(root);

        slow.BytesPerSecond = 0;
        var again = BerthCli.Run(root, "pull", reference);
        Assert.True(again.Code == 0, again.Stderr);
        using var s = PullPushInteropTests.NewService(root);
        Assert.Equal(TreeListing.Of(_f.Image.Unpack(Path.Combine(t.Path, "umoci"))), PullPushInteropTests.MountedTree(s, reference, t));
        // The debris of the killed pull is collected.
        s.CollectGarbage();
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(root, "ingest")));
    }

    [Fact]
    public void Kill_during_load_then_load_again()
    {
        using var t = new TempDir();
        string root = t.Sub("root");
        var rnd = new Random(7);
        var layers = Enumerable.Range(0, 8).Select(i =>
        {
            var b = new byte[6 << 20];
            rnd.NextBytes(b);
            return new TarBuilder().File($"big{i}.bin", b).Build();
        }).ToList();
        string archive = DockerArchive.Write(t.Path, layers, "crash/load:1");
        string snapTmp = Path.Combine(root, "snapshots");
        bool Midway() => Directory.Exists(snapTmp) && Directory.EnumerateDirectories(snapTmp, "*", SearchOption.AllDirectories)
            .Any(d => d.Contains("/layers/"));
        if (KillMidway(root, Midway, "load", "-i", archive)) AssertStoreOpensEmpty(root);
        // (On a machine slow to react, the load may have finished first: then loading again must still work.)
        var again = BerthCli.Run(root, "load", "-i", archive);
        Assert.True(again.Code == 0, again.Stderr);
        Assert.Equal("Loaded image: crash/load:1\n", again.Stdout);
    }

    [Fact]
    public void Kill_during_push_then_push_again()
    {
        using var t = new TempDir();
        string root = t.Sub("root");
        Assert.Equal(0, BerthCli.Run(root, "pull", _f.Reference).Code);
        using var slow = new TcpProxy(_f.Registry.Port) { BytesPerSecond = 300_000 };
        string target = $"{slow.Host}/crash/push:1";
        Assert.Equal(0, BerthCli.Run(root, "tag", _f.Reference, target).Code);
        var started = DateTime.UtcNow;
        KillMidway(root, () => DateTime.UtcNow - started > TimeSpan.FromMilliseconds(1500), "push", target);
        var images = BerthCli.Run(root, "images", "-q");
        Assert.Equal(0, images.Code);
        Assert.Single(images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        slow.BytesPerSecond = 0;
        var again = BerthCli.Run(root, "push", target);
        Assert.True(again.Code == 0, again.Stderr);
        TestProcess.Run("skopeo", "copy", "--quiet", "--src-tls-verify=false", $"docker://{_f.Registry.Host}/crash/push:1", $"oci:{Path.Combine(t.Path, "out")}:x");
    }

    [Fact]
    public void Kill_during_remove_leaves_the_image_whole_or_gone()
    {
        using var t = new TempDir();
        string root = t.Sub("root");
        var b = new TarBuilder();
        for (int i = 0; i < 20000; i++) b.File($"d{i % 100}/f{i}", "x");
        string rootfs = Path.Combine(t.Path, "many.tar");
        File.WriteAllBytes(rootfs, b.Build());
        Assert.Equal(0, BerthCli.Run(root, "import", rootfs, "many:1").Code);
        string meta = Path.Combine(root, "metadata.json");
        KillMidway(root, () => !File.ReadAllText(meta).Contains("many"), "rmi", "many:1");
        var images = BerthCli.Run(root, "images", "-q");
        Assert.Equal(0, images.Code);
        using var s = new Service.ImageService(root);
        if (images.Stdout.Length > 0)
        {
            // Still there: it must be whole.
            Assert.Equal(20000, PullPushInteropTests.MountedTree(s, "many:1", t).Count(l => l.Contains(" f ")));
            Assert.Equal(0, BerthCli.Run(root, "rmi", "many:1").Code);
        }
        s.CollectGarbage();
        Assert.Empty(s.Snapshots.Layers());
        Assert.Empty(s.Content.List());
    }
}
