using Berth.Images.Models;
using Berth.Images.References;
using Berth.Images.Store;

namespace Berth.Images.Service;

/// <summary>One image as docker's image list shows it: one entry per image (not per tag), references familiar.</summary>
public sealed record ImageListEntry(ImageRecord Record, ImageConfig Config, IReadOnlyList<string> RepoTags,
    IReadOnlyList<string> RepoDigests, DateTimeOffset Created, long SharedSize);

/// <summary>The sizes behind docker system df: all layers together, and per image what it shares with others.</summary>
public sealed record ImageDiskUsage(long LayersSize, IReadOnlyList<ImageListEntry> Images);

public sealed partial class ImageService
{
    public static readonly string[] ApiListFilterKeys = ["dangling", "reference", "label", "before", "since", "until"];

    /// <summary>
    /// docker's GET /images/json: filters as "key=value" (dangling, reference, label, before, since,
    /// until); a reference filter also narrows the references shown. Without <paramref name="all"/>
    /// untagged images that others build on (intermediate ones) are left out. Newest first.
    /// </summary>
    public IReadOnlyList<ImageListEntry> ListImages(IReadOnlyList<string> filters, bool all)
    {
        var f = ImageFilters.Parse(filters, ApiListFilterKeys);
        bool hasReference = filters.Any(x => x.StartsWith("reference=", StringComparison.OrdinalIgnoreCase));
        string? dangling = filters.Where(x => x.StartsWith("dangling=", StringComparison.OrdinalIgnoreCase)).Select(x => x[9..]).LastOrDefault();
        var m = Metadata.Read();
        var configs = new Dictionary<string, ImageConfig>();
        ImageConfig Cfg(string id) => configs.TryGetValue(id, out var c) ? c : configs[id] = GetConfigById(id);
        DateTimeOffset CreatedOf(string id) => Cfg(id).Created ?? m.Images[id].Added;
        var shared = SharedSizes(m);
        var parents = m.Images.Keys.Select(k => Cfg(k).Parent).Where(p => !string.IsNullOrEmpty(p)).ToHashSet();

        // dangling is decided on what is left after the reference filter, the other filters per image.
        var others = ImageFilters.Parse(filters.Where(x => !x.StartsWith("dangling=", StringComparison.OrdinalIgnoreCase)).ToList(), ApiListFilterKeys);
        var result = new List<ImageListEntry>();
        foreach (var rec in m.Images.Values)
        {
            var cfg = Cfg(rec.Id);
            var labels = (IReadOnlyDictionary<string, string>?)cfg.Config?.Labels ?? new Dictionary<string, string>();
            var tags = TagsOf(m, rec.Id).ToList();
            var created = CreatedOf(rec.Id);
            if (!others.Matches(m, rec, tags, labels, created, CreatedOf) || !f.MatchesUntil(created)) continue;
            var repoTags = tags.Where(t => f.MatchesReference(t)).Select(t => ImageReference.Parse(t).Familiar).ToList();
            var repoDigests = rec.RepoDigests.Where(d => !hasReference || f.MatchesReference(d))
                .Select(d => ImageReference.TryParse(d, out var r, out _) ? r!.Familiar : d).ToList();
            if (repoTags.Count == 0 && repoDigests.Count == 0)
            {
                if (hasReference || dangling is "false" or "0") continue;
                if (!all && parents.Contains(rec.Id)) continue;
            }
            else if (dangling is "true" or "1" && repoTags.Count > 0) continue;
            result.Add(new ImageListEntry(rec, cfg, repoTags, repoDigests, created, shared.GetValueOrDefault(rec.Id)));
        }
        return result.OrderByDescending(e => e.Created).ThenBy(e => e.Record.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Every committed layer's size, and per image the part of its size in layers other images use too.</summary>
    public ImageDiskUsage DiskUsage()
    {
        long total = Snapshots.Layers().Sum(LayerSize);
        return new ImageDiskUsage(total, ListImages([], all: true));
    }

    private Dictionary<string, long> SharedSizes(StoreMetadata m)
    {
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var rec in m.Images.Values)
            foreach (var c in rec.ChainIds.Distinct()) uses[c] = uses.GetValueOrDefault(c) + 1;
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        return m.Images.Values.ToDictionary(r => r.Id, r => r.ChainIds.Distinct().Where(c => uses[c] > 1)
            .Sum(c => sizes.TryGetValue(c, out var s) ? s : sizes[c] = LayerSize(c)));
    }
}
