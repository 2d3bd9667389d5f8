using System.Text.Json;
using Berth.Images.Service;

namespace Berth.Images.Tests;

/// <summary>tag, rmi (and its refusals), list filters, inspect, history, prune and garbage collection.</summary>
public class ManageTests
{
    private static string ImportImage(ImageService s, string? reference, string content, params string[] changes) =>
        s.Import(new MemoryStream(new TarBuilder().Dir("data").File("data/file", content).Build()), reference, changes, null);

    [Fact]
    public void Tag_untag_and_remove_like_docker()
    {
        using var t = new TempDir();
        using var s = new ImageService(t.Sub("root"));
        string id = ImportImage(s, "app:1", "one");
        s.Tag("app:1", "example.com/team/app:2");
        s.Tag(id[7..19], "app:latest");
        Assert.Equal(3, s.List([]).Count);

        var e = Assert.Throws<ConflictException>(() => s.Remove(id, force: false));
        Assert.Contains("referenced in multiple repositories", e.Message);

        Assert.Equal(["Untagged: app:1"], s.Remove("app:1", false));
        Assert.Equal(["Untagged: app:latest"], s.Remove("app", false));
        var last = s.Remove("example.com/team/app:2", false);
        Assert.Equal(["Untagged: example.com/team/app:2", $"Deleted: {id}"], last);
        Assert.Empty(s.List([]));
        Assert.Empty(s.Content.List());
        Assert.Empty(s.Snapshots.Layers());
        Assert.Throws<NotFoundException>(() => s.Remove("app:1", false));
    }

    [Fact]
    public void Remove_is_refused_while_a_container_uses_the_image_unless_forced()
    {
        using var t = new TempDir();
        using var s = new ImageService(t.Sub("root"));
        string id = ImportImage(s, "busy:1", "x");
        s.PrepareRootfs("container1", "busy:1");
        var e = Assert.Throws<ConflictException>(() => s.Remove("busy:1", false));
        Assert.Contains("being used by container container1", e.Message);
        Assert.Single(s.List([])); // refused means unchanged: the tag is still there

        s.Remove("busy:1", force: true);
        Assert.Empty(s.List([]));
        // The container's snapshot keeps its layers alive through garbage collection.
        s.CollectGarbage();
        Assert.Single(s.Snapshots.Layers());
        s.Snapshots.RemoveActive("container1");
        s.CollectGarbage();
        Assert.Empty(s.Snapshots.Layers());
        Assert.Empty(s.Content.List());
    }

    [Fact]
    public void List_filters_dangling_reference_label_before_since()
    {
        using var t = new TempDir();
        using var s = new ImageService(t.Sub("root"));
        string a = ImportImage(s, "web/frontend:1", "a", "LABEL tier=front");
        Thread.Sleep(1100);
        string b = ImportImage(s, "web/backend:1", "b", "LABEL tier=back");
        Thread.Sleep(1100);
        string c = ImportImage(s, null, "c");
        Assert.Equal(3, s.List([]).Count);
        Assert.Equal([c], s.List(["dangling=true"]).Select(r => r.Id));
        Assert.Equal(2, s.List(["dangling=false"]).Count);
        Assert.Equal([a], s.List(["reference=web/front*"]).Select(r => r.Id));
        Assert.Equal(2, s.List(["reference=web/*:1"]).Count);
        Assert.Equal([b], s.List(["label=tier=back"]).Select(r => r.Id));
        Assert.Equal(2, s.List(["label=tier"]).Count);
        Assert.Equal([a], s.List(["before=web/backend:1"]).Select(r => r.Id));
        Assert.Equal([c], s.List(["since=web/backend:1"]).Select(r => r.Id));
        var bad = Assert.Throws<ImageException>(() => s.List(["colour=blue"]));
        Assert.Contains("invalid filter 'colour'", bad.Message);
        Assert.Throws<NotFoundException>(() => s.List(["before=nope:1"]));
    }

    [Fact]
    public void Inspect_has_dockers_shape_and_history_lists_layers()
    {
        using var t = new TempDir();
        using var s = new ImageService(t.Sub("root"));
        string id = ImportImage(s, "shape:1", "content", "CMD [\"sh\"]", "ENV X=1", "EXPOSE 80");
        using var doc = JsonDocument.Parse(s.Inspect(["shape:1"]));
        var img = doc.RootElement[0];
        Assert.Equal(id, img.GetProperty("Id").GetString());
        Assert.Equal("shape:1", img.GetProperty("RepoTags")[0].GetString());
        foreach (var key in new[] { "RepoDigests", "Parent", "Comment", "Created", "DockerVersion", "Author", "Config", "Architecture", "Os", "Size", "GraphDriver", "RootFS", "Metadata" })
            Assert.True(img.TryGetProperty(key, out _), key);
        Assert.Equal("sh", img.GetProperty("Config").GetProperty("Cmd")[0].GetString());
        Assert.True(img.GetProperty("Config").GetProperty("ExposedPorts").TryGetProperty("80/tcp", out _));
        Assert.Equal("layers", img.GetProperty("RootFS").GetProperty("Type").GetString());
        Assert.Equal(JsonValueKind.Null, img.GetProperty("Config").GetProperty("Entrypoint").ValueKind);
        var h = Assert.Single(s.History("shape:1"));
        Assert.Equal(id, h.Id);
        Assert.True(h.Size > 0);
        Assert.Throws<NotFoundException>(() => s.Inspect(["shape:1", "missing:2"]));
    }

    [Fact]
    public void Prune_removes_dangling_or_all_unused_and_collects_blobs()
    {
        using var t = new TempDir();
        using var s = new ImageService(t.Sub("root"));
        ImportImage(s, null, "dangling");
        string kept = ImportImage(s, "kept:1", "kept");
        ImportImage(s, "used:1", "used");
        s.PrepareRootfs("ctr", "used:1");
        var r = s.Prune(all: false, []);
        Assert.Single(r.Deleted);
        Assert.True(r.SpaceReclaimed > 0);
        Assert.Equal(2, s.List([]).Count);
        var all = s.Prune(all: true, []);
        Assert.Equal([kept], all.Deleted);
        Assert.Equal(["kept:1"], all.Untagged);
        Assert.Equal("used", s.List([]).Single().Repository);
    }

    [Fact]
    public void Garbage_collection_removes_debris_of_interrupted_work()
    {
        using var t = new TempDir();
        using var s = new ImageService(t.Sub("root"));
        ImportImage(s, "x:1", "x");
        // What a kill -9 leaves: a half-written ingest file, a half-extracted snapshot, an unreferenced blob.
        File.WriteAllText(Path.Combine(s.Root, "ingest", "99999-deadbeef"), "partial");
        Directory.CreateDirectory(Path.Combine(s.Root, "snapshots", s.Snapshots.Name, "tmp", "99999-abc", "fs", "etc"));
        s.Content.Put("orphan"u8);
        s.CollectGarbage();
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(s.Root, "ingest")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(s.Root, "snapshots", s.Snapshots.Name, "tmp")));
        Assert.Equal(3, s.Content.List().Count()); // config, manifest, layer of x:1
        Assert.Single(s.List([]));
    }

    [Fact]
    public void Overlay_mounts_images_with_more_layers_than_one_page_of_options_holds()
    {
        using var t = new TempDir();
        using var s = new ImageService(new ImageServiceOptions { Root = t.Sub("root-with-a-rather-long-directory-name-to-fill-the-page"), Snapshotter = "overlay" });
        // 60 layers: 60 lowerdir paths of ~170 characters do not fit in mount(2)'s 4096-byte option page.
        var layers = new List<byte[]>();
        for (int i = 0; i < 60; i++) layers.Add(new TarBuilder().File($"layer{i:D2}", $"{i}").File("top", $"{i}").Build());
        string archive = DockerArchive.Write(t.Path, layers, "many/layers:60");
        using (var f = File.OpenRead(archive)) s.Load(f);
        var m = s.PrepareRootfs("many", "many/layers:60");
        Assert.True(m.Options.Length > 4096, $"option string is {m.Options.Length} bytes");
        string target = t.Sub("mnt");
        s.Snapshots.Mount(m, target);
        try
        {
            Assert.Equal(61, Directory.EnumerateFileSystemEntries(target).Count());
            Assert.Equal("59", File.ReadAllText(Path.Combine(target, "top")));
            File.WriteAllText(Path.Combine(target, "written"), "upper"); // only the top is writable
            Assert.True(File.Exists(Path.Combine(m.UpperDir!, "written")));
        }
        finally { Interop.FsCalls.umount2(target, 2); }
    }

    [Fact]
    public void Native_snapshotter_is_chosen_on_overlay_and_works()
    {
        using var t = new TempDir();
        string lower = t.Sub("l"), upper = t.Sub("u"), work = t.Sub("w"), merged = t.Sub("m");
        Assert.Equal(0, Interop.FsCalls.mount("overlay", merged, "overlay", 0, $"lowerdir={lower},upperdir={upper},workdir={work}"));
        try
        {
            string root = Path.Combine(merged, "store");
            using var s = new ImageService(root);
            Assert.Equal("native", s.Snapshots.Name);
            ImportImage(s, "n:1", "native");
            var m = s.PrepareRootfs("c", "n:1");
            Assert.Equal("native", File.ReadAllText(Path.Combine(m.Source!, "data/file")));
        }
        finally { Interop.FsCalls.umount2(merged, 2); }
    }
}

/// <summary>Writes a docker-archive (manifest.json, config, layer tars) for tests.</summary>
internal static class DockerArchive
{
    public static string Write(string dir, List<byte[]> layers, string tag)
    {
        var diffIds = layers.Select(l => Content.Digest.Of(l).ToString()).ToList();
        string config = $"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{string.Join(',', diffIds.Select(d => $"\"{d}\""))}]}}}}";
        var cfgBytes = System.Text.Encoding.UTF8.GetBytes(config);
        var cfgName = Content.Digest.Of(cfgBytes).Hex + ".json";
        var b = new TarBuilder().File(cfgName, cfgBytes);
        var names = new List<string>();
        for (int i = 0; i < layers.Count; i++)
        {
            string n = $"{Content.Digest.Of(layers[i]).Hex}/layer.tar";
            names.Add(n);
            b.File(n, layers[i]);
        }
        string manifest = $"[{{\"Config\":\"{cfgName}\",\"RepoTags\":[\"{tag}\"],\"Layers\":[{string.Join(',', names.Select(n => $"\"{n}\""))}]}}]";
        b.File("manifest.json", manifest);
        string path = Path.Combine(dir, $"archive-{Guid.NewGuid():N}.tar");
        File.WriteAllBytes(path, b.Build());
        return path;
    }
}
