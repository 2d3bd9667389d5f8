using System.Text;
using System.Text.Json;
using Berth.Images.Content;
using Berth.Images.Models;
using Berth.Images.References;
using Berth.Images.Store;

namespace Berth.Images.Service;

public sealed partial class ImageService
{
    internal ImageConfig GetConfigById(string id) => Manifests.ParseConfig(Content.ReadAll(Digest.Parse(id)));

    public IReadOnlyList<ImageSummary> List(IReadOnlyList<string> filters, bool all = false)
    {
        var f = ImageFilters.Parse(filters, ImageFilters.ListKeys);
        var m = Metadata.Read();
        var configs = new Dictionary<string, ImageConfig>();
        ImageConfig Cfg(string id) => configs.TryGetValue(id, out var c) ? c : configs[id] = GetConfigById(id);
        DateTimeOffset CreatedOf(string id) => Cfg(id).Created ?? m.Images[id].Added;

        var rows = new List<ImageSummary>();
        foreach (var rec in m.Images.Values)
        {
            var cfg = Cfg(rec.Id);
            var labels = (IReadOnlyDictionary<string, string>?)cfg.Config?.Labels ?? new Dictionary<string, string>();
            var tags = TagsOf(m, rec.Id).ToList();
            var created = CreatedOf(rec.Id);
            if (!f.Matches(m, rec, tags, labels, created, CreatedOf)) continue;
            string? DigestFor(string name) => rec.RepoDigests.FirstOrDefault(d => d.StartsWith(name + "@", StringComparison.Ordinal)) is { } rd ? rd[(rd.IndexOf('@') + 1)..] : null;
            if (tags.Count == 0)
            {
                if (!f.MatchesReference(null) && rec.RepoDigests.Count == 0) continue;
                var byDigest = rec.RepoDigests.Select(rd => ImageReference.Parse(rd)).ToList();
                if (byDigest.Count > 0)
                {
                    foreach (var r in byDigest.Where(r => f.MatchesReference(r.WithoutDigest().ToString())))
                        rows.Add(new ImageSummary(rec.Id, r.FamiliarName, "<none>", r.Digest?.ToString(), created, rec.Size, labels));
                }
                else rows.Add(new ImageSummary(rec.Id, "<none>", "<none>", null, created, rec.Size, labels));
                continue;
            }
            foreach (var t in tags)
            {
                if (!f.MatchesReference(t)) continue;
                var r = ImageReference.Parse(t);
                rows.Add(new ImageSummary(rec.Id, r.FamiliarName, r.Tag ?? "<none>", DigestFor(r.Name), created, rec.Size, labels));
            }
        }
        return rows.OrderByDescending(r => r.Created).ThenBy(r => r.Repository, StringComparer.Ordinal).ThenBy(r => r.Tag, StringComparer.Ordinal).ToList();
    }

    public IReadOnlyList<HistoryRow> History(string nameOrId)
    {
        var rec = Resolve(nameOrId);
        var cfg = GetConfigById(rec.Id);
        var rows = new List<HistoryRow>();
        var history = cfg.History ?? [];
        int layer = 0;
        foreach (var h in history)
        {
            long size = 0;
            if (h.EmptyLayer != true && layer < rec.ChainIds.Count) size = LayerSize(rec.ChainIds[layer++]);
            rows.Add(new HistoryRow("<missing>", h.Created, h.CreatedBy ?? "", size, h.Comment ?? ""));
        }
        if (history.Count == 0)
            for (int i = 0; i < rec.ChainIds.Count; i++) rows.Add(new HistoryRow("<missing>", cfg.Created, "", LayerSize(rec.ChainIds[i]), ""));
        rows.Reverse();
        if (rows.Count > 0) rows[0] = rows[0] with { Id = rec.Id };
        return rows;
    }

    public string Inspect(IReadOnlyList<string> namesOrIds)
    {
        var m = Metadata.Read();
        var records = namesOrIds.Select(n => Resolve(m, n)).ToList();
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var rec in records) WriteInspect(w, m, rec);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private void WriteInspect(Utf8JsonWriter w, StoreMetadata m, ImageRecord rec)
    {
        var cfg = GetConfigById(rec.Id);
        var c = cfg.Config ?? new ContainerConfig();
        w.WriteStartObject();
        w.WriteString("Id", rec.Id);
        w.WriteStartArray("RepoTags");
        foreach (var t in TagsOf(m, rec.Id)) w.WriteStringValue(ImageReference.Parse(t).Familiar);
        w.WriteEndArray();
        w.WriteStartArray("RepoDigests");
        foreach (var d in rec.RepoDigests) w.WriteStringValue(ImageReference.TryParse(d, out var r, out _) ? r!.Familiar : d);
        w.WriteEndArray();
        w.WriteString("Parent", cfg.Parent ?? "");
        w.WriteString("Comment", cfg.Comment ?? cfg.History?.LastOrDefault()?.Comment ?? "");
        w.WriteString("Created", (cfg.Created ?? rec.Added).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'"));
        w.WriteString("DockerVersion", cfg.DockerVersion ?? "");
        w.WriteString("Author", cfg.Author ?? "");
        w.WritePropertyName("Config");
        w.WriteStartObject();
        w.WriteString("Hostname", ""); w.WriteString("Domainname", ""); w.WriteString("User", c.User ?? "");
        w.WriteBoolean("AttachStdin", false); w.WriteBoolean("AttachStdout", false); w.WriteBoolean("AttachStderr", false);
        if (c.ExposedPorts is { Count: > 0 }) { w.WritePropertyName("ExposedPorts"); WriteEmptyObjects(w, c.ExposedPorts.Keys); }
        w.WriteBoolean("Tty", false); w.WriteBoolean("OpenStdin", false); w.WriteBoolean("StdinOnce", false);
        WriteStrings(w, "Env", c.Env);
        WriteStrings(w, "Cmd", c.Cmd);
        if (c.Healthcheck is { } hc)
        {
            w.WriteStartObject("Healthcheck");
            WriteStrings(w, "Test", hc.Test);
            if (hc.Interval is { } i) w.WriteNumber("Interval", i);
            if (hc.Timeout is { } t) w.WriteNumber("Timeout", t);
            if (hc.StartPeriod is { } sp) w.WriteNumber("StartPeriod", sp);
            if (hc.StartInterval is { } si) w.WriteNumber("StartInterval", si);
            if (hc.Retries is { } r) w.WriteNumber("Retries", r);
            w.WriteEndObject();
        }
        if (c.ArgsEscaped is { } ae) w.WriteBoolean("ArgsEscaped", ae);
        w.WriteString("Image", "");
        w.WritePropertyName("Volumes");
        if (c.Volumes is { Count: > 0 }) WriteEmptyObjects(w, c.Volumes.Keys); else w.WriteNullValue();
        w.WriteString("WorkingDir", c.WorkingDir ?? "");
        WriteStrings(w, "Entrypoint", c.Entrypoint);
        WriteStrings(w, "OnBuild", c.OnBuild);
        w.WritePropertyName("Labels");
        if (c.Labels is { Count: > 0 })
        {
            w.WriteStartObject();
            foreach (var (k, v) in c.Labels) w.WriteString(k, v);
            w.WriteEndObject();
        }
        else w.WriteNullValue();
        if (c.StopSignal is not null) w.WriteString("StopSignal", c.StopSignal);
        if (c.Shell is { Count: > 0 }) WriteStrings(w, "Shell", c.Shell);
        w.WriteEndObject();
        w.WriteString("Architecture", cfg.Architecture);
        if (cfg.Variant is not null) w.WriteString("Variant", cfg.Variant);
        w.WriteString("Os", cfg.Os);
        w.WriteNumber("Size", rec.Size);
        w.WriteNumber("VirtualSize", rec.Size);
        w.WritePropertyName("GraphDriver");
        w.WriteStartObject();
        w.WritePropertyName("Data");
        w.WriteStartObject();
        if (rec.ChainIds.Count > 0)
        {
            string layersDir = Path.Combine(Root, "snapshots", Snapshots.Name, "layers");
            var dirs = rec.ChainIds.AsEnumerable().Reverse().Select(ch => Path.Combine(layersDir, ch.Replace("sha256:", ""), "fs")).ToList();
            if (Snapshots.Name == "overlay")
            {
                if (dirs.Count > 1) w.WriteString("LowerDir", string.Join(':', dirs.Skip(1)));
                w.WriteString("UpperDir", dirs[0]);
            }
            else w.WriteString("Dir", dirs[0]);
        }
        w.WriteEndObject();
        w.WriteString("Name", Snapshots.Name);
        w.WriteEndObject();
        w.WritePropertyName("RootFS");
        w.WriteStartObject();
        w.WriteString("Type", cfg.RootFs.Type);
        w.WriteStartArray("Layers");
        foreach (var d in cfg.RootFs.DiffIds) w.WriteStringValue(d);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WritePropertyName("Metadata");
        w.WriteStartObject();
        w.WriteString("LastTagTime", (rec.LastTagTime ?? DateTimeOffset.MinValue).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'"));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, List<string>? values)
    {
        w.WritePropertyName(name);
        if (values is null) { w.WriteNullValue(); return; }
        w.WriteStartArray();
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void WriteEmptyObjects(Utf8JsonWriter w, IEnumerable<string> keys)
    {
        w.WriteStartObject();
        foreach (var k in keys) { w.WritePropertyName(k); w.WriteStartObject(); w.WriteEndObject(); }
        w.WriteEndObject();
    }
}
