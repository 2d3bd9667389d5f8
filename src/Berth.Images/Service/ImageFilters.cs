using System.Text.RegularExpressions;
using Berth.Images.References;
using Berth.Images.Store;

namespace Berth.Images.Service;

/// <summary>docker's image filters: dangling, reference, label (and label!), before, since, until.</summary>
internal sealed class ImageFilters
{
    private readonly List<(string Key, string Value)> _filters;

    private ImageFilters(List<(string, string)> f) => _filters = f;

    public static ImageFilters Parse(IReadOnlyList<string> filters, string[] allowed)
    {
        var list = new List<(string, string)>();
        foreach (var f in filters)
        {
            int eq = f.IndexOf('=');
            if (eq <= 0) throw new ImageException($"bad format of filter (expected name=value): \"{f}\"");
            string key = f[..eq].ToLowerInvariant(), value = f[(eq + 1)..];
            if (!allowed.Contains(key)) throw new ImageException($"invalid filter '{key}'");
            if (key == "dangling" && value is not ("true" or "false" or "1" or "0"))
                throw new ImageException($"invalid filter 'dangling={value}': expected true or false");
            list.Add((key, value));
        }
        return new ImageFilters(list);
    }

    public static readonly string[] ListKeys = ["dangling", "reference", "label", "before", "since"];

    /// <summary>Whether an image (with its tags and config) passes the image filters (the tag is checked by <see cref="MatchesReference"/>).</summary>
    public bool Matches(StoreMetadata m, ImageRecord rec, IReadOnlyList<string> tags, IReadOnlyDictionary<string, string> labels,
        DateTimeOffset created, Func<string, DateTimeOffset> createdOf)
    {
        foreach (var (k, v) in _filters)
        {
            switch (k)
            {
                case "dangling":
                    bool wantDangling = v is "true" or "1";
                    if ((tags.Count == 0) != wantDangling) return false;
                    break;
                case "label":
                    if (!LabelMatches(labels, v)) return false;
                    break;
                case "before":
                    if (created >= createdOf(ImageService.Resolve(m, v).Id)) return false;
                    break;
                case "since":
                    if (created <= createdOf(ImageService.Resolve(m, v).Id)) return false;
                    break;
            }
        }
        return true;
    }

    /// <summary>reference=PATTERN filters; several are alternatives (docker ORs them).</summary>
    public bool MatchesReference(string? tagRef)
    {
        var patterns = _filters.Where(f => f.Key == "reference").Select(f => f.Value).ToList();
        if (patterns.Count == 0) return true;
        if (tagRef is null) return false;
        var r = ImageReference.Parse(tagRef);
        foreach (var p in patterns)
        {
            // Matched against the familiar name, with and without the tag, and the full name (docker's rules).
            foreach (var candidate in new[] { r.Familiar, r.FamiliarName, r.ToString(), r.Name })
                if (Glob(p).IsMatch(candidate)) return true;
        }
        return false;
    }

    public bool MatchesForPrune(ImageService s, ImageRecord rec)
    {
        if (_filters.Count == 0) return true;
        var cfg = s.GetConfigById(rec.Id);
        var labels = (IReadOnlyDictionary<string, string>?)cfg.Config?.Labels ?? new Dictionary<string, string>();
        foreach (var (k, v) in _filters)
        {
            if (k == "label" && !LabelMatches(labels, v)) return false;
            if (k == "label!" && LabelMatches(labels, v)) return false;
            if (k == "until")
            {
                var limit = ParseUntil(v);
                if ((cfg.Created ?? rec.Added) >= limit) return false;
            }
        }
        return true;
    }

    /// <summary>until=TIMESTAMP|DURATION: images created before it (docker's list filter).</summary>
    public bool MatchesUntil(DateTimeOffset created)
    {
        foreach (var (k, v) in _filters)
            if (k == "until" && created >= ParseUntil(v)) return false;
        return true;
    }

    private static DateTimeOffset ParseUntil(string v)
    {
        if (DateTimeOffset.TryParse(v, out var t)) return t;
        if (long.TryParse(v, out var unix)) return DateTimeOffset.FromUnixTimeSeconds(unix);
        if (decimal.TryParse(v, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var secs))
            return DateTimeOffset.UnixEpoch.AddTicks((long)(secs * TimeSpan.TicksPerSecond));
        var m = Regex.Match(v, @"^(\d+)(s|m|h)$");
        if (m.Success)
        {
            long n = long.Parse(m.Groups[1].Value);
            var span = m.Groups[2].Value switch { "s" => TimeSpan.FromSeconds(n), "m" => TimeSpan.FromMinutes(n), _ => TimeSpan.FromHours(n) };
            return DateTimeOffset.UtcNow - span;
        }
        throw new ImageException($"invalid until filter \"{v}\": expected a timestamp or a duration like 24h");
    }

    private static bool LabelMatches(IReadOnlyDictionary<string, string> labels, string v)
    {
        int eq = v.IndexOf('=');
        if (eq < 0) return labels.ContainsKey(v);
        return labels.TryGetValue(v[..eq], out var lv) && lv == v[(eq + 1)..];
    }

    private static Regex Glob(string pattern)
    {
        var sb = new System.Text.StringBuilder("^");
        foreach (char c in pattern)
        {
            sb.Append(c switch { '*' => "[^/]*", '?' => "[^/]", _ => Regex.Escape(c.ToString()) });
        }
        return new Regex(sb.Append('$').ToString());
    }
}
