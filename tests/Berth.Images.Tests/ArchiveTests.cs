using System.Text.Json;
using Berth.Images.Service;

namespace Berth.Images.Tests;

/// <summary>save/load in docker-archive and OCI layout, checked against skopeo; import with --change.</summary>
public class ArchiveTests : IClassFixture<RegistryWithImage>
{
    private readonly RegistryWithImage _f;

    public ArchiveTests(RegistryWithImage f) => _f = f;

    [Theory]
    [InlineData(ArchiveFormat.Docker, "docker-archive")]
    [InlineData(ArchiveFormat.Oci, "oci-archive")]
    public async Task Save_and_load_round_trip_with_the_same_image_id(ArchiveFormat format, string skopeoTransport)
    {
        using var t = new TempDir();
        using var s = PullPushInteropTests.NewService(t.Sub("a"));
        string id = await s.PullAsync(_f.Reference, null, null);
        string archive = Path.Combine(t.Path, "image.tar");
        using (var f = File.Create(archive)) s.Save([_f.Reference], f, format);

        // skopeo reads the archive and finds the same config (image id).
        using (var info = JsonDocument.Parse(TestProcess.Run("skopeo", "inspect", "--config", $"{skopeoTransport}:{archive}")))
            Assert.Equal(3, info.RootElement.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());
        string cfgRaw = TestProcess.Run("skopeo", "inspect", "--config", "--raw", $"{skopeoTransport}:{archive}");
        Assert.Equal(id, Content.Digest.Of(System.Text.Encoding.UTF8.GetBytes(cfgRaw)).ToString());

        using var b = PullPushInteropTests.NewService(t.Sub("b"));
        using (var f = File.OpenRead(archive))
        {
            var lines = b.Load(f);
            Assert.Contains($"Loaded image: {_f.Reference}", lines);
        }
        Assert.Equal(id, b.Resolve(_f.Reference).Id);
        Assert.Equal(PullPushInteropTests.MountedTree(s, id, t), PullPushInteropTests.MountedTree(b, id, t));
    }

    [Theory]
    [InlineData("docker-archive")]
    [InlineData("oci-archive")]
    public void Loads_archives_written_by_skopeo(string transport)
    {
        using var t = new TempDir();
        string archive = Path.Combine(t.Path, "skopeo.tar");
        string dest = transport == "docker-archive" ? $"{transport}:{archive}:example.com/made/by-skopeo:v1" : $"{transport}:{archive}:example.com/made/by-skopeo:v1";
        TestProcess.Run("skopeo", "copy", "--quiet", $"oci:{_f.Image.Layout}:{UmociImage.Tag}", dest);
        string cfgRaw = TestProcess.Run("skopeo", "inspect", "--config", "--raw", $"oci:{_f.Image.Layout}:{UmociImage.Tag}");
        string expectedId = Content.Digest.Of(System.Text.Encoding.UTF8.GetBytes(cfgRaw)).ToString();

        using var s = PullPushInteropTests.NewService(t.Sub("root"));
        using (var f = File.OpenRead(archive)) s.Load(f);
        var img = Assert.Single(s.List([]));
        Assert.Equal(expectedId, img.Id);
        var expected = TreeListing.Of(_f.Image.Unpack(Path.Combine(t.Path, "umoci")), withDirMtimes: false);
        Assert.Equal(expected, PullPushInteropTests.MountedTree(s, expectedId, t, withDirMtimes: false));
    }

    [Fact]
    public void Import_makes_a_one_layer_image_with_changes()
    {
        using var t = new TempDir();
        using var s = PullPushInteropTests.NewService(t.Sub("root"));
        var tar = new TarBuilder().Dir("bin").File("bin/hello", "#!/bin/sh\necho hi\n", 755).Symlink("bin/hi", "hello").Build();
        var gz = new MemoryStream();
        using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) z.Write(tar);
        gz.Position = 0;
        string id = s.Import(gz, "imported/app:1", [
            "CMD [\"/bin/hello\", \"x\"]", "ENV A=1 B=\"two words\"", "ENTRYPOINT /bin/sh", "WORKDIR /work", "USER 1000:1000",
            "EXPOSE 8080 53/udp", "LABEL org.example.name=\"my app\" v=2",
        ], "from a tarball");
        var cfg = s.GetConfig("imported/app:1");
        Assert.Equal(["/bin/hello", "x"], cfg.Config!.Cmd);
        Assert.Equal(["/bin/sh", "-c", "/bin/sh"], cfg.Config.Entrypoint);
        Assert.Equal(["A=1", "B=two words"], cfg.Config.Env);
        Assert.Equal("/work", cfg.Config.WorkingDir);
        Assert.Equal("1000:1000", cfg.Config.User);
        Assert.Equal(["8080/tcp", "53/udp"], cfg.Config.ExposedPorts!.Keys.ToArray());
        Assert.Equal("my app", cfg.Config.Labels!["org.example.name"]);
        Assert.Equal("from a tarball", cfg.History![0].Comment);
        // The layer is the tar itself: its digest is the diff id.
        Assert.Equal(Content.Digest.Of(tar).ToString(), cfg.RootFs.DiffIds[0]);
        var tree = PullPushInteropTests.MountedTree(s, id, t);
        Assert.Contains(tree, l => l.StartsWith("/bin/hello f 755 0:0 "));
        Assert.Contains(tree, l => l.StartsWith("/bin/hi l 777 0:0 -> hello"));
    }

    [Theory]
    [InlineData("FROM busybox", "not a supported instruction")]
    [InlineData("CMD [\"unterminated\"", "invalid JSON")]
    [InlineData("EXPOSE 99999", "invalid port")]
    [InlineData("ENV", "needs an argument")]
    [InlineData("LABEL \"open", "unterminated quote")]
    public void Import_refuses_bad_changes_and_leaves_the_store_alone(string change, string cause)
    {
        using var t = new TempDir();
        using var s = PullPushInteropTests.NewService(t.Sub("root"));
        var e = Assert.Throws<ImageException>(() => s.Import(new MemoryStream(new TarBuilder().File("f", "x").Build()), "x:1", [change], null));
        Assert.Contains(cause, e.Message);
        Assert.Empty(s.List([]));
        Assert.Empty(s.Content.List());
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("traversal")]
    [InlineData("garbage")]
    public void Bad_tarballs_are_refused_and_leave_the_store_as_it_was(string kind)
    {
        using var t = new TempDir();
        using var s = PullPushInteropTests.NewService(t.Sub("root"));
        byte[] data = kind switch
        {
            "truncated" => new TarBuilder().File("a", new string('x', 5000)).Build()[..2048],
            "traversal" => new TarBuilder().File("../../escape", "x").Build(),
            _ => System.Text.Encoding.ASCII.GetBytes(new string('z', 3000)),
        };
        var import = Assert.ThrowsAny<ImageException>(() => s.Import(new MemoryStream(data), "bad:1", [], null));
        var load = Assert.ThrowsAny<ImageException>(() => s.Load(new MemoryStream(data)));
        foreach (var e in new[] { import, load }) Assert.DoesNotContain("\n", e.Message);
        Assert.Empty(s.List([]));
        Assert.Empty(s.Content.List());
        Assert.Empty(s.Snapshots.Layers());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(s.Root, "ingest")));
    }
}
