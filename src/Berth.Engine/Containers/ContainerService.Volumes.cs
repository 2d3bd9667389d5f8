using System.Globalization;
using Berth.Engine.Api;
using Berth.Engine.Volumes;

namespace Berth.Engine.Containers;

/// <summary>Named and anonymous volumes as containers use them, and the prunes of containers and volumes.</summary>
public sealed partial class ContainerService
{
    private VolumeStore? _volumes;
    public VolumeStore Volumes => _volumes ??= new VolumeStore(_o.DataRoot);

    /// <summary>
    /// --volumes-from CONTAINER[:ro|rw], resolved at create: every bind and volume of the other container
    /// (its own volumes-from included), at the same place, in the mode asked for or else its own. The
    /// container's own binds and mounts win where both name one destination; tmpfs mounts are not shared.
    /// </summary>
    public List<string>? ResolveVolumesFrom(HostConfig hc)
    {
        if (hc.VolumesFrom is not { Count: > 0 }) return null;
        var own = new HashSet<string>(StringComparer.Ordinal);
        foreach (var b in hc.Binds ?? []) if (b.Split(':') is { Length: >= 2 } p) own.Add(p[1]);
        foreach (var m in hc.Mounts ?? []) own.Add(m.Target);
        var binds = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in hc.VolumesFrom)
        {
            var parts = entry.Split(':');
            if (parts.Length > 2 || parts[0] == "" || parts.Length == 2 && parts[1] is not ("ro" or "rw"))
                throw EngineException.BadRequest($"invalid volumes-from \"{entry}\": expected CONTAINER[:ro|rw]");
            // A 400, not Get's 404: the docker CLI takes a 404 from create for a missing image and pulls.
            Container source;
            try { source = Get(parts[0]); }
            catch (EngineException e) when (e.Status == 404) { throw EngineException.BadRequest($"volumes-from: No such container: {parts[0]}"); }
            string? mode = parts.Length == 2 ? parts[1] : null;
            foreach (var (src, dst, ro) in MountsToShare(source))
            {
                if (own.Contains(dst) || !seen.Add(dst)) continue;
                binds.Add($"{src}:{dst}:{mode ?? (ro ? "ro" : "rw")}");
            }
        }
        return binds.Count > 0 ? binds : null;
    }

    // A container's binds and volumes as (source, destination, read-only): a host path or a volume name.
    private static IEnumerable<(string Src, string Dst, bool Ro)> MountsToShare(Container c)
    {
        var r = c.R;
        foreach (var b in r.HostConfig.Binds ?? [])
            if (b.Split(':') is { Length: >= 2 } p) yield return (p[0], p[1], p.Length > 2 && p[2].Split(',').Contains("ro"));
        foreach (var m in r.HostConfig.Mounts ?? [])
        {
            if (m.Type == "bind") yield return (m.Source, m.Target, m.ReadOnly);
            if (m.Type == "volume") yield return (m.Source != "" ? m.Source : SpecBuilder.ContainerVolumeName(c.Id, m.Target), m.Target, m.ReadOnly);
        }
        foreach (var target in SpecBuilder.AnonymousVolumeTargets(r)) yield return (SpecBuilder.ContainerVolumeName(c.Id, target), target, false);
        foreach (var b in r.VolumesFromBinds ?? [])
            if (b.Split(':') is { Length: 3 } p) yield return (p[0], p[1], p[2] == "ro");
    }

    /// <summary>The volumes a container mounts: the names in its binds and its volume mounts (an anonymous one's too).</summary>
    public static IEnumerable<(string Name, bool Anonymous)> VolumesOf(Container c)
    {
        foreach (var b in (c.R.HostConfig.Binds ?? []).Concat(c.R.VolumesFromBinds ?? []))
        {
            string src = b.Split(':')[0];
            if (!src.StartsWith('/') && src.Length > 0) yield return (src, false);
        }
        foreach (var m in c.R.HostConfig.Mounts ?? [])
            if (m.Type == "volume") yield return m.Source != "" ? (m.Source, false) : (SpecBuilder.ContainerVolumeName(c.Id, m.Target), true);
        foreach (var target in SpecBuilder.AnonymousVolumeTargets(c.R))
            yield return (SpecBuilder.ContainerVolumeName(c.Id, target), true);
    }

    /// <summary>Ids of the containers (running or not) that mount the volume.</summary>
    public List<string> VolumeUsers(string name) =>
        _containers.Values.Where(c => VolumesOf(c).Any(v => v.Name == name)).Select(c => c.Id).OrderBy(id => id, StringComparer.Ordinal).ToList();

    /// <summary>DELETE /volumes/NAME: refused (409) while a container mounts it; 404 when there is none (unless forced).</summary>
    public void RemoveVolume(string name, bool force)
    {
        var users = VolumeUsers(name);
        if (users.Count > 0) throw EngineException.Conflict($"remove {name}: volume is in use - [{string.Join(", ", users)}]");
        if (!Volumes.Remove(name) && !force) throw EngineException.NotFound($"get {name}: no such volume");
        Events.Publish("volume", "destroy", name, new() { ["driver"] = "local" });
    }

    /// <summary>
    /// POST /volumes/prune: the volumes no container mounts. As docker's (API 1.42 on), only anonymous
    /// ones unless the filter all=true; label=K, label=K=V and label!=... narrow it.
    /// </summary>
    public (List<string> Deleted, long Reclaimed) PruneVolumes(string? filtersJson)
    {
        var f = Filters.Parse(filtersJson);
        foreach (var k in f.Keys)
            if (k is not ("all" or "label" or "label!")) throw EngineException.BadRequest($"invalid filter '{k}'");
        bool all = f.Values("all").Any(v => v is "1" or "true");
        var deleted = new List<string>();
        long reclaimed = 0;
        foreach (var v in Volumes.List())
        {
            if (!all && !v.Anonymous) continue;
            if (!LabelsMatch(v.Labels, f.Values("label"), f.Values("label!"))) continue;
            if (VolumeUsers(v.Name).Count > 0) continue;
            long size = VolumeStore.SizeOf(v);
            if (!Volumes.Remove(v.Name)) continue;
            deleted.Add(v.Name);
            reclaimed += size;
            Events.Publish("volume", "destroy", v.Name, new() { ["driver"] = "local" });
        }
        Events.Publish("volume", "prune", "", new() { ["reclaimed"] = reclaimed.ToString(CultureInfo.InvariantCulture) });
        return (deleted, reclaimed);
    }

    /// <summary>`rm -v`: the container's anonymous volumes go with it, when no other container mounts them.</summary>
    private void RemoveAnonymousVolumes(List<string> names)
    {
        foreach (var name in names)
        {
            if (VolumeUsers(name).Count > 0) continue;
            try
            {
                if (Volumes.Remove(name)) Events.Publish("volume", "destroy", name, new() { ["driver"] = "local" });
            }
            catch (IOException) { } // the container is gone either way; the volume stays for prune
        }
    }

    /// <summary>
    /// POST /containers/prune: every container that is not running (nor paused nor restarting), narrowed
    /// by until=TIME and label filters. SpaceReclaimed is what their writable layers held.
    /// </summary>
    public async Task<(List<string> Deleted, long Reclaimed)> PruneContainersAsync(string? filtersJson, Func<string, long> writableSize)
    {
        var f = Filters.Parse(filtersJson);
        foreach (var k in f.Keys)
            if (k is not ("until" or "label" or "label!")) throw EngineException.BadRequest($"invalid filter '{k}'");
        var until = f.Values("until").Select(ParseUntil).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        var deleted = new List<string>();
        long reclaimed = 0;
        foreach (var c in _containers.Values.ToList())
        {
            if (c.Running || c.R.State.Restarting || c.R.State.Paused || c.Removing) continue;
            if (DateTimeOffset.Parse(c.R.Created, CultureInfo.InvariantCulture) >= until) continue;
            if (!LabelsMatch(c.R.Config.Labels ?? new(), f.Values("label"), f.Values("label!"))) continue;
            long size = writableSize(c.Id);
            try { await RemoveAsync(c, force: false); }
            catch (EngineException) { continue; } // started meanwhile: it stays
            deleted.Add(c.Id);
            reclaimed += size;
        }
        Events.Publish("container", "prune", "", new() { ["reclaimed"] = reclaimed.ToString(CultureInfo.InvariantCulture) });
        return (deleted, reclaimed);
    }

    /// <summary>docker's label filters: label=K or K=V must match, label!=K or K=V must not.</summary>
    internal static bool LabelsMatch(IReadOnlyDictionary<string, string> labels, IReadOnlyList<string> want, IReadOnlyList<string> notWant)
    {
        foreach (var l in want)
        {
            var kv = l.Split('=', 2);
            if (!labels.TryGetValue(kv[0], out var val) || kv.Length == 2 && val != kv[1]) return false;
        }
        foreach (var l in notWant)
        {
            var kv = l.Split('=', 2);
            if (labels.TryGetValue(kv[0], out var val) && (kv.Length == 1 || val == kv[1])) return false;
        }
        return true;
    }

    /// <summary>docker's until: a duration before now (10m, 1h30m, 24h), a unix time, or an RFC 3339 time.</summary>
    internal static DateTimeOffset ParseUntil(string s)
    {
        if (s.Length > 1 && TryParseGoDuration(s, out var d)) return DateTimeOffset.UtcNow - d;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double unix)) return DateTimeOffset.FromUnixTimeMilliseconds((long)(unix * 1000));
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t;
        throw EngineException.BadRequest($"invalid filter 'until={s}': not a duration, a unix timestamp or a date");
    }

    internal static bool TryParseGoDuration(string s, out TimeSpan d)
    {
        d = TimeSpan.Zero;
        int i = 0;
        bool any = false;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s[start..i], NumberStyles.Float, CultureInfo.InvariantCulture, out double n)) return false;
            int u = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            switch (s[u..i])
            {
                case "ms": d += TimeSpan.FromMilliseconds(n); break;
                case "s": d += TimeSpan.FromSeconds(n); break;
                case "m": d += TimeSpan.FromMinutes(n); break;
                case "h": d += TimeSpan.FromHours(n); break;
                default: return false;
            }
            any = true;
        }
        return any;
    }
}
