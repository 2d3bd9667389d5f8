using Berth.Images.Content;
using Berth.Images.Models;
using Berth.Images.References;
using Berth.Images.Registry;
using Berth.Images.Snapshots;
using Berth.Images.Store;

namespace Berth.Images.Service;

/// <summary>Settings of an <see cref="ImageService"/>.</summary>
public sealed class ImageServiceOptions
{
    /// <summary>The store root (default <c>/var/lib/berth</c>).</summary>
    public string Root { get; init; } = DefaultRoot;
    public const string DefaultRoot = "/var/lib/berth";
    /// <summary>overlay, native, or null to choose automatically.</summary>
    public string? Snapshotter { get; init; }
    public RegistryOptions Registry { get; init; } = new() { Credentials = new CredentialStore() };
    /// <summary>Layers downloaded at once (docker's max-concurrent-downloads is 3).</summary>
    public int MaxConcurrentDownloads { get; init; } = 4;
    public int MaxConcurrentUploads { get; init; } = 3;
}

/// <summary>
/// The image store and its operations: content store, snapshotter and metadata under one root.
/// Writers (pull, push, load, import) hold the root's collection lock shared; garbage collection
/// holds it exclusively, so it never removes what a writer has written and not yet recorded.
/// </summary>
public sealed partial class ImageService : IImageService, IDisposable
{
    private readonly ImageServiceOptions _options;
    public ContentStore Content { get; }
    public ISnapshotter Snapshots { get; }
    public ImageStore Metadata { get; }
    public string Root => _options.Root;
    private readonly string _gcLock;
    private RegistryClient? _registry;

    public ImageService(ImageServiceOptions options)
    {
        _options = options;
        Directory.CreateDirectory(options.Root);
        Content = new ContentStore(options.Root);
        Metadata = new ImageStore(options.Root);
        Snapshots = SnapshotterSelector.Open(options.Root, options.Snapshotter);
        _gcLock = Path.Combine(options.Root, "gc.lock");
    }

    public ImageService(string root) : this(new ImageServiceOptions { Root = root }) { }

    private RegistryClient Registry => _callCredentials.Value is { } c ? ClientFor(c) : _registry ??= new RegistryClient(_options.Registry);

    public void Dispose()
    {
        _registry?.Dispose();
        foreach (var c in _credentialClients.Values) c.Dispose();
    }

    private FileLock WriterLock() => FileLock.Acquire(_gcLock, exclusive: false);

    /// <summary>
    /// Runs a writer (pull, load, import) under the shared collection lock. When it fails, what it
    /// wrote and did not record is collected at once (unless another writer is busy): the store is
    /// left as it was. A writer killed outright leaves its work for the next pull to reuse.
    /// </summary>
    private async Task<T> AsWriter<T>(Func<Task<T>> work)
    {
        var l = WriterLock();
        try
        {
            return await work();
        }
        catch
        {
            l.Dispose();
            l = null;
            try { CollectGarbage(wait: false); } catch (Exception) { /* the original failure is what matters */ }
            throw;
        }
        finally { l?.Dispose(); }
    }

    private T AsWriter<T>(Func<T> work) => AsWriter(() => Task.FromResult(work())).GetAwaiter().GetResult();

    // ---- resolving names ----

    /// <summary>Finds an image by reference (tag or digest), full id or id prefix; throws "No such image".</summary>
    public ImageRecord Resolve(string nameOrId) => Resolve(Metadata.Read(), nameOrId);

    internal static ImageRecord Resolve(StoreMetadata m, string nameOrId)
    {
        if (TryResolve(m, nameOrId, out var rec, out var err)) return rec!;
        throw new NotFoundException(err!);
    }

    internal static bool TryResolve(StoreMetadata m, string nameOrId, out ImageRecord? record, out string? error)
    {
        record = null;
        error = $"No such image: {nameOrId}";
        string idText = nameOrId.StartsWith("sha256:", StringComparison.Ordinal) ? nameOrId : "sha256:" + nameOrId;
        if (m.Images.TryGetValue(idText, out record)) return true;
        if (ImageReference.TryParse(nameOrId, out var r, out _))
        {
            if (r!.Digest is { } d)
            {
                record = m.Images.Values.FirstOrDefault(i => i.RepoDigests.Contains($"{r.Name}@{d}") || i.Manifest.Digest == d.ToString());
                if (record is not null) return true;
            }
            else if (m.Tags.TryGetValue(r.ToString(), out var id) && m.Images.TryGetValue(id, out record)) return true;
        }
        if (ImageReference.LooksLikeId(nameOrId) && !nameOrId.Contains(':') || nameOrId.StartsWith("sha256:", StringComparison.Ordinal))
        {
            var matches = m.Images.Keys.Where(k => k.StartsWith(idText, StringComparison.Ordinal)).ToList();
            if (matches.Count == 1) { record = m.Images[matches[0]]; return true; }
            if (matches.Count > 1) { error = $"image id prefix \"{nameOrId}\" is ambiguous ({matches.Count} images)"; return false; }
        }
        return false;
    }

    internal static IEnumerable<string> TagsOf(StoreMetadata m, string id) => m.Tags.Where(t => t.Value == id).Select(t => t.Key);

    public ImageConfig GetConfig(string nameOrId) => Manifests.ParseConfig(Content.ReadAll(Digest.Parse(Resolve(nameOrId).Id)));

    internal ImageManifest ManifestOf(ImageRecord r) => Manifests.ParseManifest(Content.ReadAll(Digest.Parse(r.Manifest.Digest)));

    /// <summary>Containers (writable snapshots) whose root filesystem is this image's top layer.</summary>
    internal List<string> ContainersUsing(ImageRecord r)
    {
        string? top = r.ChainIds.Count > 0 ? r.ChainIds[^1] : null;
        return Snapshots.Active().Where(a => a.Parent == top && top is not null).Select(a => a.Key).ToList();
    }

    /// <summary>Makes a writable root filesystem snapshot of an image for a container (what the engine mounts).</summary>
    public RootfsMount PrepareRootfs(string containerKey, string imageNameOrId)
    {
        var r = Resolve(imageNameOrId);
        return Snapshots.Prepare(containerKey, r.ChainIds.Count > 0 ? r.ChainIds[^1] : null);
    }

    /// <summary>Records a complete image: the last step of pull, load and import.</summary>
    private void Commit(ImageRecord record, IEnumerable<string> tags, string? repoDigest = null, string? source = null)
    {
        Metadata.Update(m =>
        {
            if (m.Images.TryGetValue(record.Id, out var existing))
            {
                foreach (var rd in existing.RepoDigests) if (!record.RepoDigests.Contains(rd)) record.RepoDigests.Add(rd);
                foreach (var s in existing.Sources) if (!record.Sources.Contains(s)) record.Sources.Add(s);
                record.Added = existing.Added;
            }
            if (repoDigest is not null && !record.RepoDigests.Contains(repoDigest)) record.RepoDigests.Add(repoDigest);
            if (source is not null && !record.Sources.Contains(source)) record.Sources.Add(source);
            m.Images[record.Id] = record;
            foreach (var t in tags)
            {
                m.Tags[t] = record.Id;
                record.LastTagTime = DateTimeOffset.UtcNow;
            }
        });
    }

    /// <summary>A layer's uncompressed size (kept in the layer's directory, next to its files).</summary>
    private long LayerSize(string chainId)
    {
        string p = Path.Combine(Path.GetDirectoryName(Snapshots.LayerDirectory(chainId))!, "size");
        return File.Exists(p) && long.TryParse(File.ReadAllText(p), out var n) ? n : 0;
    }
}
