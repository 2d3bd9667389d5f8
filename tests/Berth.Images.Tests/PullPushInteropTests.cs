using System.Text.Json;
using Berth.Images.Registry;
using Berth.Images.Service;

namespace Berth.Images.Tests;

/// <summary>Berth against real peers: docker-registry, skopeo and umoci.</summary>
public class PullPushInteropTests : IClassFixture<RegistryWithImage>
{
    private readonly RegistryWithImage _f;

    public PullPushInteropTests(RegistryWithImage f) => _f = f;

    internal static ImageService NewService(string root, string? snapshotter = null, long chunk = 32L << 20) => new(new ImageServiceOptions
    {
        Root = root,
        Snapshotter = snapshotter,
        Registry = new RegistryOptions { ChunkSize = chunk },
    });

    /// <summary>The merged root filesystem of an image, as a container would see it.</summary>
    internal static List<string> MountedTree(ImageService s, string image, TempDir t, bool withDirMtimes = true)
    {
        string key = "c" + Guid.NewGuid().ToString("N")[..8];
        var m = s.PrepareRootfs(key, image);
        string target = t.Sub("mnt-" + key);
        s.Snapshots.Mount(m, target);
        try { return TreeListing.Of(target, withDirMtimes); }
        finally
        {
            Interop.FsCalls.umount2(target, 2);
            s.Snapshots.RemoveActive(key);
        }
    }

    [Theory]
    [InlineData("overlay")]
    [InlineData("native")]
    public async Task Pulled_image_tree_is_exactly_what_umoci_unpacks(string snapshotter)
    {
        using var t = new TempDir();
        using var s = NewService(t.Sub("root"), snapshotter);
        var events = new List<ProgressEvent>();
        string id = await s.PullAsync(_f.Reference, null, new SyncProgress(events));
        Assert.StartsWith("sha256:", id);
        Assert.Contains(events, e => e.Status == "Pull complete");
        Assert.Equal("Pulling from test/busybox", events[0].Status);

        var expected = TreeListing.Of(_f.Image.Unpack(Path.Combine(t.Path, "umoci")));
        var actual = MountedTree(s, _f.Reference, t);
        Assert.Equal(expected, actual);
        Assert.DoesNotContain(actual, l => l.StartsWith("/etc/removeme ") || l.StartsWith("/var/cache/old"));
        Assert.Contains(actual, l => l.StartsWith("/bin/suid f 4755 "));

        var row = Assert.Single(s.List([]));
        Assert.Equal($"{_f.Registry.Host}/test/busybox", row.Repository);
        Assert.Equal(UmociImage.Tag, row.Tag);
        Assert.Equal(id, row.Id);
    }

    [Fact]
    public async Task A_second_pull_finds_everything_present()
    {
        using var t = new TempDir();
        using var s = NewService(t.Sub("root"));
        string id = await s.PullAsync(_f.Reference, null, null);
        var events = new List<ProgressEvent>();
        Assert.Equal(id, await s.PullAsync(_f.Reference, null, new SyncProgress(events)));
        Assert.Equal(3, events.Count(e => e.Status == "Already exists"));
    }

    [Fact]
    public async Task Pushed_image_reads_back_with_skopeo_with_the_same_digests()
    {
        using var t = new TempDir();
        using var s = NewService(t.Sub("root"), chunk: 1 << 20); // the 3 MiB layer goes up in chunks
        await s.PullAsync(_f.Reference, null, null);
        string target = $"{_f.Registry.Host}/pushed/by-berth:copy";
        s.Tag(_f.Reference, target);
        string digest = await s.PushAsync(target, null);

        string raw = TestProcess.Run("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{target}");
        Assert.Equal(digest, Content.Digest.Of(System.Text.Encoding.UTF8.GetBytes(raw)).ToString());
        string orig = TestProcess.Run("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{_f.Reference}");
        Assert.Equal(orig, raw); // the very same manifest bytes
        using var info = JsonDocument.Parse(TestProcess.Run("skopeo", "inspect", "--tls-verify=false", $"docker://{target}"));
        Assert.Equal(digest, info.RootElement.GetProperty("Digest").GetString());
        // skopeo copies it out, checking every blob's digest on the way.
        TestProcess.Run("skopeo", "copy", "--quiet", "--src-tls-verify=false", $"docker://{target}", $"oci:{Path.Combine(t.Path, "back")}:x");
    }

    [Fact]
    public async Task Push_to_another_repository_of_the_same_registry_mounts_the_layers()
    {
        using var t = new TempDir();
        using var s = NewService(t.Sub("root"));
        await s.PullAsync(_f.Reference, null, null);
        string target = $"{_f.Registry.Host}/other/repo-{Guid.NewGuid():N}:v1";
        s.Tag(_f.Reference, target);
        var events = new List<ProgressEvent>();
        await s.PushAsync(target, new SyncProgress(events));
        Assert.Equal(3, events.Count(e => e.Status.StartsWith("Mounted from test/busybox")));
        var again = new List<ProgressEvent>();
        await s.PushAsync(target, new SyncProgress(again));
        // Per layer, as docker shows it: Preparing first, then the outcome; the config blob is pushed silently.
        Assert.Equal(3, again.Count(e => e.Status == "Preparing"));
        Assert.Equal(3, again.Count(e => e.Status == "Layer already exists"));
        Assert.True(again.FindLastIndex(e => e.Status == "Preparing") < again.FindIndex(e => e.Status == "Layer already exists"));
    }

    [Fact]
    public async Task Pull_by_digest_verifies_and_leaves_no_tag()
    {
        using var t = new TempDir();
        using var s = NewService(t.Sub("root"));
        string raw = TestProcess.Run("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{_f.Reference}");
        var d = Content.Digest.Of(System.Text.Encoding.UTF8.GetBytes(raw));
        string byDigest = $"{_f.Registry.Host}/test/busybox@{d}";
        await s.PullAsync(byDigest, null, null);
        var row = Assert.Single(s.List([]));
        Assert.Equal("<none>", row.Tag);
        Assert.Equal(d.ToString(), row.Digest);
        Assert.Single(s.List(["dangling=true"]));
    }
}

/// <summary>An IProgress that records on the calling thread (Progress&lt;T&gt; posts asynchronously).</summary>
internal sealed class SyncProgress(List<ProgressEvent> sink) : IProgress<ProgressEvent>
{
    public void Report(ProgressEvent value) { lock (sink) sink.Add(value); }
}
