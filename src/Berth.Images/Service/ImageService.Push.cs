using Berth.Images.Content;
using Berth.Images.References;

namespace Berth.Images.Service;

public sealed partial class ImageService
{
    public async Task<string> PushAsync(string reference, IProgress<ProgressEvent>? progress, CancellationToken ct = default)
    {
        var r = ImageReference.Parse(reference);
        using var writer = WriterLock();
        var meta = Metadata.Read();
        if (!TryResolve(meta, r.ToString(), out var rec, out _) && !(r.Digest is null && TryResolve(meta, reference, out rec, out _)))
            throw new NotFoundException($"An image does not exist locally with the tag: {r.FamiliarName}");
        var record = rec!;
        var manifestDigest = Digest.Parse(record.Manifest.Digest);
        byte[] manifestBytes = Content.ReadAll(manifestDigest);
        var manifest = Manifests.ParseManifest(manifestBytes);
        progress?.Report(new ProgressEvent("", $"The push refers to repository [{r.Name}]"));

        // A repository in the same registry that already has the blobs lets the registry mount instead of copy.
        string? mountFrom = record.Sources
            .Select(s => ImageReference.TryParse(s, out var sr, out _) ? sr : null)
            .FirstOrDefault(sr => sr is not null && sr.Registry == r.Registry && sr.Repository != r.Repository)?.Repository;

        using var gate = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrentUploads));
        // docker's order: every layer Preparing first, then each one's outcome; the config is pushed silently.
        foreach (var l in manifest.Layers) progress?.Report(new ProgressEvent(Digest.Parse(l.Digest).Short, "Preparing"));
        async Task PushBlob(Models.Descriptor d, bool mountable, IProgress<ProgressEvent>? progress)
        {
            await gate.WaitAsync(ct);
            try
            {
                var digest = Digest.Parse(d.Digest);
                string id = digest.Short;
                if (await Registry.BlobExistsAsync(r, digest, ct))
                {
                    progress?.Report(new ProgressEvent(id, "Layer already exists"));
                    return;
                }
                if (!Content.Exists(digest)) throw new NotFoundException($"blob {digest} of {r.Familiar} is missing from the content store");
                var location = await Registry.StartUploadAsync(r, mountable && mountFrom is not null ? digest : null, mountable ? mountFrom : null, ct);
                if (location is null)
                {
                    progress?.Report(new ProgressEvent(id, $"Mounted from {mountFrom}"));
                    return;
                }
                using var blob = Content.OpenRead(digest);
                long size = Content.SizeOf(digest);
                await Registry.UploadBlobAsync(r, location, digest, size, blob,
                    new Progress<long>(n => progress?.Report(new ProgressEvent(id, "Pushing", n, size))), ct);
                progress?.Report(new ProgressEvent(id, "Pushed"));
            }
            finally { gate.Release(); }
        }

        await Task.WhenAll(manifest.Layers.Select(l => PushBlob(l, mountable: true, progress)));
        await PushBlob(manifest.Config, mountable: false, progress: null);
        string tag = r.Tag ?? record.Manifest.Digest;
        await Registry.PutManifestAsync(r, r.Digest?.ToString() ?? tag, manifestBytes, record.Manifest.MediaType, ct);
        string repoDigest = $"{r.Name}@{manifestDigest}";
        Metadata.Update(m =>
        {
            if (!m.Images.TryGetValue(record.Id, out var cur)) return;
            if (!cur.RepoDigests.Contains(repoDigest)) cur.RepoDigests.Add(repoDigest);
            if (!cur.Sources.Contains(r.Name)) cur.Sources.Add(r.Name);
        });
        progress?.Report(new ProgressEvent("", $"{tag}: digest: {manifestDigest} size: {manifestBytes.Length}"));
        return manifestDigest.ToString();
    }
}
