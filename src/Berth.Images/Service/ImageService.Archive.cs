using System.Formats.Tar;
using System.Text.Json;
using Berth.Images.Archive;
using Berth.Images.Content;
using Berth.Images.Layers;
using Berth.Images.Models;
using Berth.Images.References;
using Berth.Images.Store;

namespace Berth.Images.Service;

public sealed partial class ImageService
{
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private const string ContainerdNameAnnotation = "io.containerd.image.name";

    // ---- save ----

    public void Save(IReadOnlyList<string> namesOrIds, Stream output, ArchiveFormat format)
    {
        if (namesOrIds.Count == 0) throw new ImageException("save needs at least one image");
        var m = Metadata.Read();
        // Which images, and under which tags (a tag names itself; an id brings no tag).
        var chosen = new List<(ImageRecord Rec, List<string> Tags)>();
        foreach (var n in namesOrIds)
        {
            var rec = Resolve(m, n);
            var entry = chosen.FirstOrDefault(c => c.Rec.Id == rec.Id);
            if (entry.Rec is null) chosen.Add(entry = (rec, []));
            if (ImageReference.TryParse(n, out var r, out _) && m.Tags.ContainsKey(r!.ToString()) && !entry.Tags.Contains(r.ToString()))
                entry.Tags.Add(r.ToString());
        }
        using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        if (format == ArchiveFormat.Oci) SaveOci(tar, chosen);
        else SaveDocker(tar, chosen);
    }

    private void SaveDocker(TarWriter tar, List<(ImageRecord Rec, List<string> Tags)> images)
    {
        var entries = new List<DockerArchiveEntry>();
        var written = new HashSet<string>();
        foreach (var (rec, tags) in images)
        {
            var cfgDigest = Digest.Parse(rec.Id);
            var cfg = GetConfigById(rec.Id);
            var man = ManifestOf(rec);
            string cfgName = cfgDigest.Hex + ".json";
            if (written.Add(cfgName)) AddBlobFile(tar, cfgName, cfgDigest);
            var layerNames = new List<string>();
            for (int i = 0; i < man.Layers.Count; i++)
            {
                string diff = Digest.Parse(cfg.RootFs.DiffIds[i]).Hex;
                string name = $"{diff}/layer.tar";
                layerNames.Add(name);
                if (!written.Add(name)) continue;
                // docker-archive layers are uncompressed tars whose sha256 is the diff id.
                string temp = Content.NewIngestPath();
                try
                {
                    using (var src = Content.OpenRead(Digest.Parse(man.Layers[i].Digest)))
                    using (var plain = Decompression.Open(src, out _))
                    using (var dst = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                        plain.CopyTo(dst, 1 << 17);
                    tar.WriteEntry(temp, name);
                }
                finally { File.Delete(temp); }
            }
            entries.Add(new DockerArchiveEntry
            {
                Config = cfgName,
                RepoTags = tags.Select(t => ImageReference.Parse(t).Familiar).ToList(),
                Layers = layerNames,
            });
        }
        AddBytes(tar, "manifest.json", JsonSerializer.SerializeToUtf8Bytes(entries, ImagesJsonContext.Default.ListDockerArchiveEntry));
    }

    private void SaveOci(TarWriter tar, List<(ImageRecord Rec, List<string> Tags)> images)
    {
        AddBytes(tar, "oci-layout", JsonSerializer.SerializeToUtf8Bytes(new OciLayoutFile(), ImagesJsonContext.Default.OciLayoutFile));
        var index = new ImageIndex { MediaType = MediaTypes.OciIndex };
        var written = new HashSet<string>();
        void Blob(string digest)
        {
            var d = Digest.Parse(digest);
            if (written.Add(d.Hex)) AddBlobFile(tar, $"blobs/sha256/{d.Hex}", d);
        }
        foreach (var (rec, tags) in images)
        {
            var man = ManifestOf(rec);
            Blob(rec.Manifest.Digest);
            Blob(man.Config.Digest);
            foreach (var l in man.Layers) Blob(l.Digest);
            var names = tags.Count > 0 ? tags.Cast<string?>() : [null];
            foreach (var t in names)
            {
                var d = new Descriptor { MediaType = rec.Manifest.MediaType, Digest = rec.Manifest.Digest, Size = rec.Manifest.Size };
                if (t is not null)
                {
                    var r = ImageReference.Parse(t);
                    d.Annotations = new() { [ContainerdNameAnnotation] = r.ToString(), [RefNameAnnotation] = r.Tag ?? "latest" };
                }
                index.Manifests.Add(d);
            }
        }
        AddBytes(tar, "index.json", JsonSerializer.SerializeToUtf8Bytes(index, ImagesJsonContext.Default.ImageIndex));
    }

    private void AddBlobFile(TarWriter tar, string name, Digest d) => tar.WriteEntry(Content.PathOf(d), name);

    private static void AddBytes(TarWriter tar, string name, byte[] data)
    {
        var e = new PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(data),
            Mode = (UnixFileMode)0b110_100_100,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        tar.WriteEntry(e);
    }

    // ---- load ----

    public IReadOnlyList<string> Load(Stream input) => AsWriter(() => LoadCore(input));

    private IReadOnlyList<string> LoadCore(Stream input)
    {
        using var files = TarFiles.Unpack(input, Content.NewIngestPath() + ".load");
        if (files.Find("manifest.json") is { } dockerManifest) return LoadDocker(files, dockerManifest);
        if (files.Find("index.json") is { } ociIndex && files.Find("oci-layout") is not null) return LoadOci(files, ociIndex);
        throw new ImageException("archive is neither a docker-archive (manifest.json) nor an OCI image layout (oci-layout, index.json)");
    }

    private List<string> LoadDocker(TarFiles files, string manifestPath)
    {
        List<DockerArchiveEntry> entries;
        try { entries = JsonSerializer.Deserialize(File.ReadAllBytes(manifestPath), ImagesJsonContext.Default.ListDockerArchiveEntry) ?? []; }
        catch (JsonException e) { throw new ImageException($"archive manifest.json is malformed: {e.Message}"); }
        if (entries.Count == 0) throw new ImageException("archive manifest.json lists no image");

        var prepared = new List<(ImageRecord Rec, List<string> Tags)>();
        foreach (var entry in entries)
        {
            byte[] cfgBytes = File.ReadAllBytes(files.Require(entry.Config, "image config"));
            var cfgDigest = Digest.Of(cfgBytes);
            var cfg = Manifests.ParseConfig(cfgBytes);
            if (cfg.RootFs.DiffIds.Count != entry.Layers.Count)
                throw new ImageException($"archive: config {entry.Config} lists {cfg.RootFs.DiffIds.Count} layers, manifest.json {entry.Layers.Count}");
            var tags = (entry.RepoTags ?? []).Select(t => ImageReference.Parse(t).ToString()).ToList();
            var layers = new List<Descriptor>();
            for (int i = 0; i < entry.Layers.Count; i++)
                layers.Add(ImportBlobFile(files.Require(entry.Layers[i], "layer"), cfg.RootFs.DiffIds[i]));
            prepared.Add((BuildRecord(cfgBytes, cfgDigest, MediaTypes.OciConfig, layers, cfg), tags));
        }
        return FinishLoad(prepared);
    }

    private List<string> LoadOci(TarFiles files, string indexPath)
    {
        var index = Manifests.ParseIndex(File.ReadAllBytes(indexPath));
        var prepared = new List<(ImageRecord Rec, List<string> Tags)>();
        byte[] ReadBlob(string digest, long max)
        {
            var d = Digest.Parse(digest);
            var path = files.Require($"blobs/sha256/{d.Hex}", "blob");
            if (new FileInfo(path).Length > max) throw new ImageException($"archive blob {d.Short} is too large for a manifest or config");
            var data = File.ReadAllBytes(path);
            if (Digest.Of(data) != d) throw new ImageException($"archive blob {d.Short}: digest mismatch");
            return data;
        }
        foreach (var top in index.Manifests)
        {
            var desc = top;
            byte[] mbytes = ReadBlob(desc.Digest, 4 << 20);
            var kind = Manifests.Classify(mbytes, desc.MediaType, out var mt);
            if (kind == ManifestKind.Index)
            {
                desc = Manifests.SelectPlatform(Manifests.ParseIndex(mbytes), Manifests.HostPlatform(), "the archive");
                mbytes = ReadBlob(desc.Digest, 4 << 20);
                Manifests.Classify(mbytes, desc.MediaType, out mt);
            }
            var man = Manifests.ParseManifest(mbytes);
            byte[] cfgBytes = ReadBlob(man.Config.Digest, MaxConfigSize);
            var cfg = Manifests.ParseConfig(cfgBytes);
            if (cfg.RootFs.DiffIds.Count != man.Layers.Count)
                throw new ImageException($"archive: config lists {cfg.RootFs.DiffIds.Count} layers, the manifest {man.Layers.Count}");
            foreach (var l in man.Layers)
            {
                var d = Digest.Parse(l.Digest);
                if (Content.Exists(d)) continue;
                using var src = File.OpenRead(files.Require($"blobs/sha256/{d.Hex}", "layer blob"));
                using var w = Content.BeginWrite(d, l.Size);
                src.CopyTo(w, 1 << 17);
                w.Commit();
            }
            var tags = new List<string>();
            string? name = top.Annotations?.GetValueOrDefault(ContainerdNameAnnotation);
            string? refName = top.Annotations?.GetValueOrDefault(RefNameAnnotation);
            if (name is null && refName is not null && (refName.Contains('/') || refName.Contains(':'))) name = refName;
            if (name is not null) tags.Add(ImageReference.Parse(name).ToString());
            var rec = new ImageRecord
            {
                Id = Digest.Of(cfgBytes).ToString(),
                Manifest = new Descriptor { MediaType = mt, Digest = Digest.Of(mbytes).ToString(), Size = mbytes.Length },
                ChainIds = Manifests.ChainIds(cfg.RootFs.DiffIds),
                Added = DateTimeOffset.UtcNow,
            };
            PendingBlobs[rec.Id] = (cfgBytes, mbytes);
            prepared.Add((rec, tags));
        }
        return FinishLoad(prepared);
    }

    private readonly Dictionary<string, (byte[] Config, byte[] Manifest)> PendingBlobs = new();

    /// <summary>Copies a layer file into the content store; an uncompressed one must hash to its diff id.</summary>
    private Descriptor ImportBlobFile(string path, string diffId)
    {
        LayerCompression kind;
        using (var head = File.OpenRead(path))
        {
            Span<byte> b = stackalloc byte[4];
            int n = head.Read(b);
            kind = Decompression.Sniff(b[..n]);
        }
        using var src = File.OpenRead(path);
        using var w = Content.BeginWrite(null, null);
        src.CopyTo(w, 1 << 17);
        var d = w.Commit();
        if (kind == LayerCompression.None && d.ToString() != diffId)
            throw new ImageException($"archive layer {Path.GetFileName(Path.GetDirectoryName(path))}: content {d} does not match the config's diff_id {diffId}");
        return new Descriptor
        {
            MediaType = kind switch { LayerCompression.Gzip => MediaTypes.OciLayerGzip, LayerCompression.Zstd => MediaTypes.OciLayerZstd, _ => MediaTypes.OciLayer },
            Digest = d.ToString(),
            Size = new FileInfo(path).Length,
        };
    }

    /// <summary>Writes an OCI manifest for a config and its layers and returns the (not yet committed) record.</summary>
    private ImageRecord BuildRecord(byte[] cfgBytes, Digest cfgDigest, string configMediaType, List<Descriptor> layers, ImageConfig cfg)
    {
        var man = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = configMediaType, Digest = cfgDigest.ToString(), Size = cfgBytes.Length },
            Layers = layers,
        };
        byte[] mbytes = JsonSerializer.SerializeToUtf8Bytes(man, ImagesJsonContext.Default.ImageManifest);
        var rec = new ImageRecord
        {
            Id = cfgDigest.ToString(),
            Manifest = new Descriptor { MediaType = MediaTypes.OciManifest, Digest = Digest.Of(mbytes).ToString(), Size = mbytes.Length },
            ChainIds = Manifests.ChainIds(cfg.RootFs.DiffIds),
            Added = DateTimeOffset.UtcNow,
        };
        PendingBlobs[rec.Id] = (cfgBytes, mbytes);
        return rec;
    }

    /// <summary>Extracts the layers of prepared images, stores configs and manifests, then records them.</summary>
    private List<string> FinishLoad(List<(ImageRecord Rec, List<string> Tags)> prepared)
    {
        var lines = new List<string>();
        foreach (var (rec, tags) in prepared)
        {
            var (cfgBytes, mbytes) = PendingBlobs[rec.Id];
            var man = Manifests.ParseManifest(mbytes);
            var cfg = Manifests.ParseConfig(cfgBytes);
            FetchLayersAsync(man.Layers, cfg.RootFs.DiffIds, rec.ChainIds, null, CancellationToken.None,
                (d, _) => throw new ImageException($"layer {d.Digest} is missing")).GetAwaiter().GetResult();
            Content.Put(cfgBytes);
            Content.Put(mbytes);
            rec.Size = rec.ChainIds.Sum(LayerSize);
            Commit(rec, tags);
            PendingBlobs.Remove(rec.Id);
            if (tags.Count == 0) lines.Add($"Loaded image ID: {rec.Id}");
            foreach (var t in tags) lines.Add($"Loaded image: {ImageReference.Parse(t).Familiar}");
        }
        return lines;
    }

    // ---- import ----

    public string Import(Stream tarball, string? reference, IReadOnlyList<string> changes, string? message)
    {
        var target = reference is null ? null : ImageReference.Parse(reference);
        if (target?.Digest is not null) throw new ImageException($"cannot import to a digest reference: {reference}");
        var container = new ContainerConfig();
        foreach (var c in changes) ChangeInstructions.Apply(container, c);
        return AsWriter(() => ImportCore(tarball, target, container, message));
    }

    private string ImportCore(Stream tarball, ImageReference? target, ContainerConfig container, string? message)
    {

        // The layer is stored uncompressed; its digest is its diff id. The tar is checked on the way in.
        Digest layer;
        long size;
        using (var plain = Decompression.Open(tarball, out _))
        using (var w = Content.BeginWrite(null, null))
        {
            using var tee = new TeeReadStream(plain, w);
            var reader = new Layers.TarReader(tee);
            bool any = false;
            while (reader.Next() is { } e) { any = true; SnapshotPath.Clean(e.Name); }
            if (!any) throw new ImageException("import: the tarball holds no files (empty or not a tar archive)");
            tee.Drain();
            size = tee.Count;
            layer = w.Commit();
        }
        var now = DateTimeOffset.UtcNow;
        var host = Manifests.HostPlatform();
        var cfg = new ImageConfig
        {
            Created = now,
            Architecture = host.Architecture,
            Os = host.Os,
            Config = container,
            RootFs = new RootFs { DiffIds = [layer.ToString()] },
            History = [new HistoryEntry { Created = now, CreatedBy = "Imported from tarball", Comment = message }],
            Comment = message,
        };
        byte[] cfgBytes = JsonSerializer.SerializeToUtf8Bytes(cfg, ImagesJsonContext.Default.ImageConfig);
        var rec = BuildRecord(cfgBytes, Digest.Of(cfgBytes), MediaTypes.OciConfig,
            [new Descriptor { MediaType = MediaTypes.OciLayer, Digest = layer.ToString(), Size = size }], cfg);
        FinishLoad([(rec, target is null ? [] : [target.ToString()])]);
        return rec.Id;
    }
}
