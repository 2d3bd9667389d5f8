using Berth.Images.Content;
using Berth.Images.Layers;
using Berth.Images.Models;
using Berth.Images.References;
using Berth.Images.Registry;
using Berth.Images.Snapshots;
using Berth.Images.Store;

namespace Berth.Images.Service;

public sealed partial class ImageService
{
    private const long MaxConfigSize = 8 << 20;

    public async Task<string> PullAsync(string reference, string? platform, IProgress<ProgressEvent>? progress, CancellationToken ct = default)
    {
        var r = ImageReference.Parse(reference);
        var want = platform is null ? Manifests.HostPlatform() : Manifests.ParsePlatform(platform);
        return await AsWriter(() => PullCore(r, want, platform is not null, progress, ct));
    }

    private async Task<string> PullCore(ImageReference r, Platform want, bool explicitPlatform, IProgress<ProgressEvent>? progress, CancellationToken ct)
    {

        var (top, topType, topDigest) = await Registry.GetManifestAsync(r, r.ManifestReference, ct);
        var kind = Manifests.Classify(top, topType, out var topMediaType);
        byte[] manifestBytes = top;
        string manifestMediaType = topMediaType;
        Digest manifestDigest = topDigest;
        if (kind == ManifestKind.Index)
        {
            var index = Manifests.ParseIndex(top);
            var chosen = Manifests.SelectPlatform(index, want, r.Familiar);
            var (m, mt, md) = await Registry.GetManifestAsync(r, chosen.Digest, ct);
            if (Manifests.Classify(m, mt, out manifestMediaType) != ManifestKind.Manifest)
                throw new ImageException($"{r.Familiar}: the index entry for {want} is not an image manifest");
            manifestBytes = m;
            manifestDigest = md;
        }
        var manifest = Manifests.ParseManifest(manifestBytes);
        // docker names the repository path, without the registry: "Pulling from library/busybox".
        progress?.Report(new ProgressEvent(r.Tag ?? r.Digest!.Value.Short, $"Pulling from {r.Repository}"));

        var configDigest = Digest.Parse(manifest.Config.Digest);
        byte[] configBytes = Content.Exists(configDigest)
            ? Content.ReadAll(configDigest)
            : await Registry.GetBlobAsync(r, configDigest, MaxConfigSize, ct);
        var config = Manifests.ParseConfig(configBytes);
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
            throw new ImageException($"{r.Familiar}: the config lists {config.RootFs.DiffIds.Count} layers, the manifest {manifest.Layers.Count}");
        if (explicitPlatform && (config.Os != want.Os || config.Architecture != want.Architecture))
            throw new ImageException($"{r.Familiar}: image is for {config.Os}/{config.Architecture}, not {want}");
        var chain = Manifests.ChainIds(config.RootFs.DiffIds);

        await FetchLayersAsync(manifest.Layers, config.RootFs.DiffIds, chain, progress, ct,
            (d, pos) => new ResumableBlobStream(Registry, r, d.Digest, d.Size));

        // Everything is on disk and verified; now make it visible, manifests first, the record last.
        Content.Put(configBytes, configDigest);
        Content.Put(manifestBytes, manifestDigest);
        if (kind == ManifestKind.Index) Content.Put(top, topDigest);
        var record = new ImageRecord
        {
            Id = configDigest.ToString(),
            Manifest = new Descriptor { MediaType = manifestMediaType, Digest = manifestDigest.ToString(), Size = manifestBytes.Length },
            ChainIds = chain,
            Added = DateTimeOffset.UtcNow,
            Size = chain.Sum(LayerSize),
        };
        var tags = r.Tag is not null && r.Digest is null ? new[] { r.ToString() } : [];
        Commit(record, tags, $"{r.Name}@{topDigest}", r.Name);
        progress?.Report(new ProgressEvent("", $"Digest: {topDigest}"));
        progress?.Report(new ProgressEvent("", $"Status: Downloaded newer image for {r.Familiar}"));
        return record.Id;
    }

    private sealed record LayerJob(int Index, DescriptorRef Layer, Digest DiffId, string Chain, string? Parent);
    private readonly record struct DescriptorRef(Digest Digest, long Size, string MediaType);

    /// <summary>
    /// Makes sure every layer's blob is in the content store and its snapshot exists. With overlay,
    /// layers are independent directories: each is downloaded, checked, decompressed and extracted in
    /// one stream, several at once. With the copy-based snapshotter a layer needs its parent first:
    /// blobs download in parallel, extraction follows in order.
    /// </summary>
    private async Task FetchLayersAsync(IReadOnlyList<Descriptor> layers, IReadOnlyList<string> diffIds, List<string> chain,
        IProgress<ProgressEvent>? progress, CancellationToken ct, Func<DescriptorRef, long, Stream> open)
    {
        var jobs = layers.Select((l, i) => new LayerJob(i, new DescriptorRef(Digest.Parse(l.Digest), l.Size, l.MediaType),
            Digest.Parse(diffIds[i]), chain[i], i == 0 ? null : chain[i - 1])).ToList();
        foreach (var j in jobs) progress?.Report(new ProgressEvent(j.Layer.Digest.Short, "Waiting", 0, j.Layer.Size));
        bool streaming = Snapshots.WhiteoutMode == WhiteoutMode.Overlay;
        using var gate = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrentDownloads));
        var failures = new List<Exception>();

        async Task Run(LayerJob j)
        {
            await gate.WaitAsync(ct);
            try
            {
                // A thread of its own: a layer blocks on the network, on decompression and on syncfs, and
                // the thread pool (as many threads as cores) would add threads for it only slowly.
                await Task.Factory.StartNew(() => FetchLayer(j, streaming, progress, open), ct,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            catch (Exception e)
            {
                lock (failures) failures.Add(e);
            }
            finally { gate.Release(); }
        }

        await Task.WhenAll(jobs.Select(Run));
        if (failures.Count > 0) throw Unwrap(failures[0]);

        if (streaming) ImplicitDirectories.Fix(Snapshots, chain);
        else
        {
            foreach (var j in jobs)
            {
                if (Snapshots.HasLayer(j.Chain)) continue;
                progress?.Report(new ProgressEvent(j.Layer.Digest.Short, "Extracting", 0, j.Layer.Size));
                using var blob = Content.OpenRead(j.Layer.Digest);
                ExtractLayer(j, blob);
                progress?.Report(new ProgressEvent(j.Layer.Digest.Short, "Pull complete"));
            }
        }
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerExceptions.Count: > 0 } a ? a.InnerExceptions[0] : e;

    private void FetchLayer(LayerJob j, bool streaming, IProgress<ProgressEvent>? progress, Func<DescriptorRef, long, Stream> open)
    {
        string id = j.Layer.Digest.Short;
        bool haveBlob = Content.Exists(j.Layer.Digest);
        bool haveLayer = Snapshots.HasLayer(j.Chain);
        if (haveBlob && (haveLayer || !streaming))
        {
            if (streaming) progress?.Report(new ProgressEvent(id, "Already exists"));
            return;
        }
        if (haveBlob)
        {
            // Blob kept, snapshot missing (an interrupted pull, a removed snapshot): extract from the store.
            using var local = Content.OpenRead(j.Layer.Digest);
            ExtractLayer(j, local);
            progress?.Report(new ProgressEvent(id, "Pull complete"));
            return;
        }

        using var remote = open(j.Layer, 0);
        using var blob = Content.BeginWrite(j.Layer.Digest, j.Layer.Size);
        long last = 0;
        using var counted = new TeeReadStream(remote, blob, n =>
        {
            if (n - last >= 1 << 20 || n == j.Layer.Size) { last = n; progress?.Report(new ProgressEvent(id, "Downloading", n, j.Layer.Size)); }
        });
        if (streaming && !haveLayer)
        {
            try
            {
                // Large reads from the network: the decompressor asks for a few kB at a time.
                // (Not disposed: that would close the hashing stream, still needed below.)
                var buffered = new BufferedStream(counted, 1 << 20);
                ExtractLayer(j, buffered, () =>
                {
                    counted.Drain();
                    blob.Verify(); // checks size and digest: a wrong blob never becomes a layer
                }, w =>
                {
                    // The layer's syncfs also made the blob's data (written before it, verified) durable
                    // when both are on one filesystem: no fsync of its own. The blob is renamed into place
                    // after its layer; a crash in between leaves a layer whose blob is downloaded again.
                    bool synced = w.SyncedFilesystem && SnapshotFiles.DeviceOf(blob.TempPath) == w.Device && w.Device != 0;
                    blob.Commit(fsyncData: !synced);
                });
            }
            catch (ImageException e) when (e is not RegistryException && !BlobCommitted(blob))
            {
                // The layer did not extract: if that is because the blob is not what its digest says, say that.
                counted.Drain();
                blob.Commit();
                throw;
            }
        }
        else
        {
            counted.Drain();
            blob.Commit();
        }
        progress?.Report(new ProgressEvent(id, streaming ? "Pull complete" : "Download complete"));
    }

    private static bool BlobCommitted(BlobWriter w) => w.Committed;

    /// <summary>Extracts a layer into a new snapshot; <paramref name="beforeCommit"/> runs the checks that must pass first.</summary>
    private void ExtractLayer(LayerJob j, Stream compressed, Action? beforeCommit = null, Action<LayerWriter>? afterCommit = null)
    {
        using var w = Snapshots.BeginLayer(j.Chain, j.Parent);
        var (diffId, size, implicitDirs) = LayerApplier.Apply(compressed, w.Directory, Snapshots.WhiteoutMode);
        if (implicitDirs.Count > 0 && Snapshots.WhiteoutMode == WhiteoutMode.Overlay)
            File.WriteAllLines(Path.Combine(Path.GetDirectoryName(w.Directory)!, ImplicitDirectories.FileName), implicitDirs);
        beforeCommit?.Invoke();
        if (diffId != j.DiffId)
            throw new ImageException($"layer {j.Layer.Digest.Short}: uncompressed content {diffId} does not match the config's diff_id {j.DiffId}");
        // Inside the layer's temporary directory: made durable and visible with the layer, no extra fsync.
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(w.Directory)!, "size"), size.ToString());
        w.Commit();
        afterCommit?.Invoke(w);
    }
}
