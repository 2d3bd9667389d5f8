using Berth.Images.Content;
using Berth.Images.References;
using Berth.Images.Store;

namespace Berth.Images.Service;

public sealed partial class ImageService
{
    public void Tag(string source, string target)
    {
        var t = ImageReference.Parse(target);
        if (t.Digest is not null) throw new ImageException($"refusing to create a tag with a digest reference: {target}");
        Metadata.Update(m =>
        {
            var rec = Resolve(m, source);
            m.Tags[t.ToString()] = rec.Id;
            rec.LastTagTime = DateTimeOffset.UtcNow;
        });
    }

    public IReadOnlyList<string> Remove(string nameOrId, bool force)
    {
        var lines = new List<string>();
        bool deleted = Metadata.Update(m =>
        {
            var rec = Resolve(m, nameOrId);
            var tags = TagsOf(m, rec.Id).ToList();
            ImageReference.TryParse(nameOrId, out var asRef, out _);
            bool byReference = asRef is not null && (m.Tags.ContainsKey(asRef.ToString())
                || (asRef.Digest is { } rd0 && rec.RepoDigests.Contains($"{asRef.Name}@{rd0}")));
            if (byReference)
            {
                var r = asRef!;
                string key = r.ToString();
                if (m.Tags.Remove(key))
                {
                    lines.Add($"Untagged: {r.Familiar}");
                    tags.Remove(key);
                    if (tags.Count > 0) return false; // other tags keep the image
                }
                else if (r.Digest is { } d)
                {
                    string rd = $"{r.Name}@{d}";
                    if (rec.RepoDigests.Remove(rd)) lines.Add($"Untagged: {r.Familiar}");
                    if (tags.Count > 0 || rec.RepoDigests.Count > 0) return false;
                }
            }
            else if (tags.Count > 1 && !force)
                throw new ConflictException($"conflict: unable to delete {Digest.Parse(rec.Id).Short} (must be forced) - image is referenced in multiple repositories");

            var users = ContainersUsing(rec);
            if (users.Count > 0 && !force)
            {
                // Put back what was untagged above: the whole operation is refused.
                throw new ConflictException($"conflict: unable to delete {(byReference ? nameOrId : Digest.Parse(rec.Id).Short)} (must be forced) - image is being used by container {users[0]}");
            }
            foreach (var t in tags)
            {
                m.Tags.Remove(t);
                if (ImageReference.TryParse(t, out var tr, out _)) lines.Add($"Untagged: {tr!.Familiar}");
            }
            foreach (var rd in rec.RepoDigests)
                if (ImageReference.TryParse(rd, out var rr, out _)) lines.Add($"Untagged: {rr!.Familiar}");
            m.Images.Remove(rec.Id);
            lines.Add($"Deleted: {rec.Id}");
            return true;
        });
        if (deleted) CollectGarbage(wait: false);
        return lines;
    }

    public PruneResult Prune(bool all, IReadOnlyList<string> filters)
    {
        var untagged = new List<string>();
        var deleted = new List<string>();
        var labelFilters = ImageFilters.Parse(filters, allowed: ["label", "label!", "until", "dangling"]);
        Metadata.Update(m =>
        {
            foreach (var rec in m.Images.Values.ToList())
            {
                var tags = TagsOf(m, rec.Id).ToList();
                if (!all && tags.Count > 0) continue;
                if (ContainersUsing(rec).Count > 0) continue;
                if (!labelFilters.MatchesForPrune(this, rec)) continue;
                foreach (var t in tags)
                {
                    m.Tags.Remove(t);
                    untagged.Add(ImageReference.Parse(t).Familiar);
                }
                m.Images.Remove(rec.Id);
                deleted.Add(rec.Id);
            }
        });
        long freed = CollectGarbage(wait: true);
        return new PruneResult(untagged, deleted, freed);
    }

    public long CollectGarbage() => CollectGarbage(wait: true);

    /// <summary>
    /// Removes unreferenced blobs and snapshots and the debris of interrupted work. Holds the
    /// collection lock exclusively: with <paramref name="wait"/> false it gives up (leaving the
    /// work for later) while a pull, push, load or import is running.
    /// </summary>
    public long CollectGarbage(bool wait)
    {
        FileLock gc;
        if (wait) gc = FileLock.Acquire(_gcLock, exclusive: true);
        else
        {
            // A writer's shared lock can outlive it for a moment: a process forked by another thread (Process.Start)
            // holds a copy of the lock's file description until its exec closes it (O_CLOEXEC). Give that a
            // little time instead of skipping the collection (a failed pull would then leave its blobs behind).
            FileLock? got = FileLock.TryAcquire(_gcLock, exclusive: true);
            for (int i = 0; got is null && i < 20; i++)
            {
                Thread.Sleep(10);
                got = FileLock.TryAcquire(_gcLock, exclusive: true);
            }
            if (got is null) return 0;
            gc = got;
        }
        using (gc)
        {
            var m = Metadata.Read();
            var blobs = new HashSet<string>(StringComparer.Ordinal);
            var layers = new HashSet<string>(StringComparer.Ordinal);
            foreach (var rec in m.Images.Values)
            {
                blobs.Add(rec.Id);
                blobs.Add(rec.Manifest.Digest);
                foreach (var rd in rec.RepoDigests)
                    if (rd.IndexOf('@') is var at and > 0) blobs.Add(rd[(at + 1)..]);
                try
                {
                    var man = ManifestOf(rec);
                    foreach (var l in man.Layers) blobs.Add(l.Digest);
                }
                catch (ImageException) { }
                foreach (var c in rec.ChainIds) layers.Add(c);
            }
            foreach (var (_, parent) in Snapshots.Active())
                for (var c = parent; c is not null && Snapshots.HasLayer(c); c = Snapshots.ParentOf(c))
                    layers.Add(c);

            long freed = 0;
            foreach (var d in Content.List())
            {
                if (blobs.Contains(d.ToString())) continue;
                try { freed += Content.SizeOf(d); } catch (ImageException) { }
                Content.Delete(d);
            }
            foreach (var c in Snapshots.Layers().ToList())
            {
                if (layers.Contains(c)) continue;
                freed += LayerSize(c);
                Snapshots.RemoveLayer(c);
            }
            Content.CleanIngest(TimeSpan.Zero);
            Snapshots.CleanTemporary();
            return freed;
        }
    }
}

