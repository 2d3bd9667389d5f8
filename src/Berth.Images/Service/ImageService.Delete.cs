using Berth.Images.Content;
using Berth.Images.References;
using Berth.Images.Store;

namespace Berth.Images.Service;

/// <summary>One entry of docker's image delete answer: a reference untagged, or an image (or one of its layers) deleted.</summary>
public sealed record ImageDeleteItem(string? Untagged, string? Deleted, string ImageId, bool IsLayer = false);

/// <summary>A container that uses an image, as the engine knows it.</summary>
public sealed record ImageUser(string ContainerId, bool Running);

/// <summary>What docker's prune answers: the deletions and the bytes of the layers released.</summary>
public sealed record ImagePruneReport(IReadOnlyList<ImageDeleteItem> Items, long SpaceReclaimed);

public sealed partial class ImageService
{
    /// <summary>
    /// docker rmi, with the daemon's rules: a name untags (and deletes only when it was the last
    /// reference); an id deletes with all its references. A container using the image refuses
    /// it unless forced, a running one even then; an image other images build on is refused.
    /// <paramref name="usersOf"/> says which containers use an image id. Nothing changes when it
    /// is refused.
    /// </summary>
    public IReadOnlyList<ImageDeleteItem> DeleteImage(string nameOrId, bool force, Func<string, IReadOnlyList<ImageUser>> usersOf)
    {
        var items = Metadata.Update(m => DeleteIn(m, nameOrId, force, usersOf));
        if (items.Any(i => i.Deleted is not null)) CollectGarbage(wait: false);
        return items;
    }

    private List<ImageDeleteItem> DeleteIn(StoreMetadata m, string nameOrId, bool force, Func<string, IReadOnlyList<ImageUser>> usersOf)
    {
        var rec = Resolve(m, nameOrId);
        var items = new List<ImageDeleteItem>();
        var users = usersOf(rec.Id);
        bool removedRepositoryRef = false;
        if (!IsIdPrefix(rec.Id, nameOrId))
        {
            var named = ImageReference.Parse(nameOrId);
            if (!force && IsSingleReference(RefsOf(m, rec)) && users.Count > 0)
                throw new ConflictException($"conflict: unable to remove repository reference \"{nameOrId}\" (must force) - container {users[0].ContainerId[..12]} is using its referenced image {Digest.Parse(rec.Id).Short}");
            if (!RemoveRef(m, rec, named)) throw new NotFoundException($"No such image: {nameOrId}");
            items.Add(new ImageDeleteItem(named.Familiar, null, rec.Id));
            // The last tag of a repository takes that repository's digest references with it.
            if (named.Digest is null && !TagsOf(m, rec.Id).Any(t => ImageReference.Parse(t).Name == named.Name))
                foreach (var rd in rec.RepoDigests.ToList())
                {
                    var r = ImageReference.Parse(rd);
                    if (r.Name != named.Name) continue;
                    rec.RepoDigests.Remove(rd);
                    items.Add(new ImageDeleteItem(r.Familiar, null, rec.Id));
                }
            if (RefsOf(m, rec).Count > 0) return items;
            removedRepositoryRef = true;
        }
        else if (IsSingleReference(RefsOf(m, rec)))
        {
            // An id with one repository's references: those go with it, unless something harder says no.
            var conflict = Conflict(m, rec, users, children: true, running: true, references: false, stopped: !force);
            if (conflict is not null) throw conflict.Value.Error;
            foreach (var r in RefsOf(m, rec))
            {
                RemoveRef(m, rec, r);
                items.Add(new ImageDeleteItem(r.Familiar, null, rec.Id));
            }
        }

        var c = Conflict(m, rec, users, children: true, running: true, references: !force, stopped: !force);
        if (c is { } hit)
        {
            // Untagging by name already happened: the image stays (dangling) when a container still uses it.
            if (removedRepositoryRef && (RefsOf(m, rec).Count > 0 || HasChildren(m, rec) || hit.Used)) return items;
            throw hit.Error;
        }
        foreach (var r in RefsOf(m, rec))
        {
            RemoveRef(m, rec, r);
            items.Add(new ImageDeleteItem(r.Familiar, null, rec.Id));
        }
        m.Images.Remove(rec.Id);
        items.Add(new ImageDeleteItem(null, rec.Id, rec.Id));
        foreach (var layer in ReleasedLayers(m, rec)) items.Add(new ImageDeleteItem(null, layer, rec.Id, IsLayer: true));
        return items;
    }

    /// <summary>
    /// docker image prune: dangling images (or, with dangling=false, every image) that no container
    /// uses, narrowed by label, label! and until. A refusal of one image skips it.
    /// </summary>
    public ImagePruneReport PruneImages(IReadOnlyList<string> filters, Func<string, IReadOnlyList<ImageUser>> usersOf)
    {
        var f = ImageFilters.Parse(filters, allowed: ["dangling", "label", "label!", "until"]);
        bool danglingOnly = !filters.Any(x => x.StartsWith("dangling=", StringComparison.OrdinalIgnoreCase) && x[9..] is "false" or "0");
        var m = Metadata.Read();
        var sizes = m.Images.Values.SelectMany(r => r.ChainIds).Distinct().ToDictionary(c => c, LayerSize);
        var items = new List<ImageDeleteItem>();
        foreach (var rec in m.Images.Values.ToList())
        {
            if (usersOf(rec.Id).Count > 0) continue;
            if (danglingOnly && (HasChildren(m, rec) || TagsOf(m, rec.Id).Any())) continue;
            if (!f.MatchesForPrune(this, rec)) continue;
            var refs = RefsOf(m, rec);
            var names = refs.Count > 0 ? refs.Select(r => r.ToString()).ToList() : [Digest.Parse(rec.Id).Hex];
            foreach (var n in names)
            {
                try { items.AddRange(Metadata.Update(mm => DeleteIn(mm, n, force: false, usersOf))); }
                catch (ImageException) { /* refused or gone meanwhile: docker skips it too */ }
            }
        }
        if (items.Count > 0) CollectGarbage(wait: true);
        long freed = items.Where(i => i.IsLayer).Sum(i => sizes.GetValueOrDefault(i.Deleted!));
        return new ImagePruneReport(items, freed);
    }

    private static bool IsIdPrefix(string id, string text) =>
        id.StartsWith(text, StringComparison.Ordinal) || id[(id.IndexOf(':') + 1)..].StartsWith(text, StringComparison.Ordinal);

    /// <summary>Tags and digest references of an image, as references.</summary>
    private static List<ImageReference> RefsOf(StoreMetadata m, ImageRecord rec) =>
        TagsOf(m, rec.Id).Concat(rec.RepoDigests).Select(ImageReference.Parse).ToList();

    /// <summary>docker's test: at most one tag, and every reference in that one repository.</summary>
    private static bool IsSingleReference(List<ImageReference> refs)
    {
        if (refs.Count <= 1) return refs.Count == 1;
        var tags = refs.Where(r => r.Digest is null).ToList();
        if (tags.Count > 1) return false;
        var single = tags.Count == 1 ? tags[0] : refs[0];
        var digestRepos = refs.Where(r => r.Digest is not null).Select(r => r.Name).Distinct().ToList();
        return digestRepos.Count == 1 && digestRepos[0] == single.Name;
    }

    private static bool RemoveRef(StoreMetadata m, ImageRecord rec, ImageReference r)
    {
        if (r.Digest is null) return m.Tags.TryGetValue(r.ToString(), out var id) && id == rec.Id && m.Tags.Remove(r.ToString());
        return rec.RepoDigests.Remove($"{r.Name}@{r.Digest}");
    }

    private bool HasChildren(StoreMetadata m, ImageRecord rec) =>
        m.Images.Values.Any(o => o.Id != rec.Id && TryParent(o.Id) == rec.Id);

    private string? TryParent(string id)
    {
        try { return GetConfigById(id).Parent; } catch (ImageException) { return null; }
    }

    private (ConflictException Error, bool Used)? Conflict(StoreMetadata m, ImageRecord rec, IReadOnlyList<ImageUser> users,
        bool children, bool running, bool references, bool stopped)
    {
        string id = Digest.Parse(rec.Id).Short;
        ConflictException E(bool hard, string why) => new($"conflict: unable to delete {id} ({(hard ? "cannot be forced" : "must be forced")}) - {why}");
        if (children && HasChildren(m, rec)) return (E(true, "image has dependent child images"), false);
        if (running && users.FirstOrDefault(u => u.Running) is { } r) return (E(true, $"image is being used by running container {r.ContainerId[..12]}"), true);
        if (references && RefsOf(m, rec).Count > 0) return (E(false, "image is referenced in multiple repositories"), false);
        if (stopped && users.FirstOrDefault(u => !u.Running) is { } s) return (E(false, $"image is being used by stopped container {s.ContainerId[..12]}"), true);
        return null;
    }

    /// <summary>The layers of a deleted image that nothing else holds, top first (docker lists them as Deleted).</summary>
    private List<string> ReleasedLayers(StoreMetadata m, ImageRecord gone)
    {
        var held = new HashSet<string>(m.Images.Values.SelectMany(r => r.ChainIds), StringComparer.Ordinal);
        foreach (var (_, parent) in Snapshots.Active())
            for (var ch = parent; ch is not null && Snapshots.HasLayer(ch); ch = Snapshots.ParentOf(ch)) held.Add(ch);
        var released = new List<string>();
        for (int i = gone.ChainIds.Count - 1; i >= 0 && !held.Contains(gone.ChainIds[i]); i--) released.Add(gone.ChainIds[i]);
        return released;
    }
}
