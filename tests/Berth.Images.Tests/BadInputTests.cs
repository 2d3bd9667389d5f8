using System.Text;
using Berth.Images.Registry;
using Berth.Images.Service;

namespace Berth.Images.Tests;

/// <summary>Registries that fail or lie: one line naming the cause, and the store as it was.</summary>
public class BadInputTests : IClassFixture<RegistryWithImage>
{
    private readonly RegistryWithImage _f;

    public BadInputTests(RegistryWithImage f) => _f = f;

    private static ImageService Service(string root) => new(new ImageServiceOptions
    {
        Root = root,
        Registry = new RegistryOptions { RetryDelay = TimeSpan.FromMilliseconds(10) },
    });

    private static void AssertUnchanged(ImageService s)
    {
        Assert.Empty(s.List([]));
        Assert.Empty(s.Content.List());
        Assert.Empty(s.Snapshots.Layers());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(s.Root, "ingest")));
    }

    private static async Task<ImageException> PullFails(ImageService s, string reference, string cause)
    {
        var e = await Assert.ThrowsAnyAsync<ImageException>(() => s.PullAsync(reference, null, null));
        Assert.Contains(cause, e.Message);
        Assert.DoesNotContain("\n", e.Message);
        AssertUnchanged(s);
        return e;
    }

    private static byte[] Json(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData(500, "answered 500")]
    [InlineData(404, "not found")]
    [InlineData(401, "unauthorized")]
    [InlineData(403, "denied")]
    public async Task Registry_errors_are_one_line(int status, string cause)
    {
        using var t = new TempDir();
        using var fake = new FakeRegistry(_ => (status, "application/json", Json("{\"errors\":[{\"code\":\"BROKEN\",\"message\":\"it broke\"}]}")));
        using var s = Service(t.Sub("root"));
        var e = await PullFails(s, $"{fake.Host}/x/y:1", cause);
        Assert.Contains(fake.Host, e.Message);
    }

    [Fact]
    public async Task A_registry_that_closes_the_connection()
    {
        using var t = new TempDir();
        using var proxy = new TcpProxy(1) { RefuseAll = true };
        using var s = Service(t.Sub("root"));
        await PullFails(s, $"{proxy.Host}/x/y:1", "cannot reach registry");
    }

    [Theory]
    [InlineData("application/vnd.example.unknown+json", "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example.unknown+json\"}", "unsupported manifest media type")]
    [InlineData("application/vnd.docker.distribution.manifest.v1+prettyjws", "{\"schemaVersion\":1,\"name\":\"x/y\",\"fsLayers\":[]}", "schema 1 is not supported")]
    [InlineData("application/vnd.oci.image.manifest.v1+json", "not json at all", "not valid JSON")]
    public async Task Manifests_of_unknown_kinds_are_refused(string type, string body, string cause)
    {
        using var t = new TempDir();
        using var fake = new FakeRegistry(r => r.Url!.AbsolutePath.Contains("/manifests/") ? (200, type, Json(body)) : (200, "application/json", Json("{}")));
        using var s = Service(t.Sub("root"));
        await PullFails(s, $"{fake.Host}/x/y:1", cause);
    }

    [Fact]
    public async Task A_blob_whose_digest_does_not_match_is_refused()
    {
        using var t = new TempDir();
        using var reg = new RegistryServer();
        _f.Image.PushTo(reg.Host, "corrupt/img:v1");
        // Corrupt the largest layer in the registry's storage: same size, other bytes.
        var data = Directory.EnumerateFiles(Path.Combine(reg.Storage, "docker/registry/v2/blobs"), "data", SearchOption.AllDirectories)
            .OrderByDescending(f => new FileInfo(f).Length).First();
        var bytes = File.ReadAllBytes(data);
        for (int i = 100; i < bytes.Length; i += 4096) bytes[i] ^= 0xff;
        File.WriteAllBytes(data, bytes);
        using var s = Service(t.Sub("root"));
        await PullFails(s, $"{reg.Host}/corrupt/img:v1", "digest");
    }

    [Fact]
    public async Task An_interrupted_download_resumes_where_it_stopped()
    {
        using var t = new TempDir();
        using var proxy = new TcpProxy(_f.Registry.Port) { CutAfterBytes = 1_000_000, CutsRemaining = 2 };
        using var s = Service(t.Sub("root"));
        string reference = $"{proxy.Host}/test/busybox:{UmociImage.Tag}";
        await s.PullAsync(reference, null, null);
        Assert.Equal(2, proxy.Cuts);
        var expected = TreeListing.Of(_f.Image.Unpack(Path.Combine(t.Path, "umoci")));
        Assert.Equal(expected, PullPushInteropTests.MountedTree(s, reference, t));
    }

    [Fact]
    public async Task Unknown_platform_is_named()
    {
        using var t = new TempDir();
        using var s = Service(t.Sub("root"));
        var e = await Assert.ThrowsAnyAsync<ImageException>(() => s.PullAsync(_f.Reference, "linux/arm64", null));
        Assert.Contains("linux/arm64", e.Message);
        var bad = await Assert.ThrowsAnyAsync<ImageException>(() => s.PullAsync(_f.Reference, "linux", null));
        Assert.Contains("invalid platform", bad.Message);
        AssertUnchanged(s);
    }
}
