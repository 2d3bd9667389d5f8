using System.Text;
using System.Text.Json;
using Berth.Images.Service;

namespace Berth.Engine.Images;

/// <summary>The image documents of the Docker Engine API, written in docker's shape (field names and order, nulls, -1 for "not computed").</summary>
public static class ImageJson
{
    /// <summary>One ImageSummary (GET /images/json, and system df with the container count and shared size).</summary>
    public static void WriteSummary(Utf8JsonWriter w, ImageListEntry e, int containers, bool withSharedSize)
    {
        var labels = e.Config.Config?.Labels;
        w.WriteStartObject();
        w.WriteNumber("Containers", containers);
        w.WriteNumber("Created", e.Created.ToUnixTimeSeconds());
        w.WriteString("Id", e.Record.Id);
        w.WritePropertyName("Labels");
        if (labels is { Count: > 0 })
        {
            w.WriteStartObject();
            foreach (var (k, v) in labels) w.WriteString(k, v);
            w.WriteEndObject();
        }
        else w.WriteNullValue();
        w.WriteString("ParentId", e.Config.Parent ?? "");
        Strings(w, "RepoDigests", e.RepoDigests);
        Strings(w, "RepoTags", e.RepoTags);
        w.WriteNumber("SharedSize", withSharedSize ? e.SharedSize : -1);
        w.WriteNumber("Size", e.Record.Size);
        w.WriteEndObject();
    }

    public static string Summaries(IEnumerable<ImageListEntry> entries, bool withSharedSize) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var e in entries) WriteSummary(w, e, -1, withSharedSize);
        w.WriteEndArray();
    });

    /// <summary>GET /images/{name}/history: newest first; the image's own row carries its id and tags.</summary>
    public static string History(IReadOnlyList<HistoryRow> rows, IReadOnlyList<string> tags) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var r in rows)
        {
            w.WriteStartObject();
            w.WriteString("Id", r.Id);
            w.WriteNumber("Created", r.Created?.ToUnixTimeSeconds() ?? 0);
            w.WriteString("CreatedBy", r.CreatedBy);
            w.WritePropertyName("Tags");
            if (r.Id != "<missing>" && tags.Count > 0) { w.WriteStartArray(); foreach (var t in tags) w.WriteStringValue(t); w.WriteEndArray(); }
            else w.WriteNullValue();
            w.WriteNumber("Size", r.Size);
            w.WriteString("Comment", r.Comment);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    /// <summary>DELETE /images/{name}: [{"Untagged":..},{"Deleted":..}].</summary>
    public static void WriteDeleteItems(Utf8JsonWriter w, IEnumerable<ImageDeleteItem> items)
    {
        w.WriteStartArray();
        foreach (var i in items)
        {
            w.WriteStartObject();
            if (i.Untagged is not null) w.WriteString("Untagged", i.Untagged);
            else w.WriteString("Deleted", i.Deleted);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static string DeleteItems(IEnumerable<ImageDeleteItem> items) => Write(w => WriteDeleteItems(w, items));

    /// <summary>POST /images/prune: {"ImagesDeleted": [...] or null, "SpaceReclaimed": bytes}.</summary>
    public static string Prune(ImagePruneReport r) => Write(w =>
    {
        w.WriteStartObject();
        w.WritePropertyName("ImagesDeleted");
        if (r.Items.Count > 0) WriteDeleteItems(w, r.Items); else w.WriteNullValue();
        w.WriteNumber("SpaceReclaimed", r.SpaceReclaimed);
        w.WriteEndObject();
    });

    /// <summary>One line of a JSON message stream: {"stream":"..."}.</summary>
    public static string StreamLine(string text) => Write(w => { w.WriteStartObject(); w.WriteString("stream", text); w.WriteEndObject(); });

    /// <summary>docker's progress message: status, progressDetail (current/total while moving, {} per layer otherwise), id.</summary>
    public static string Progress(ProgressEvent e) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("status", e.Status);
        if (e.Total > 0 || e.Status is "Downloading" or "Extracting" or "Pushing")
        {
            w.WriteStartObject("progressDetail");
            w.WriteNumber("current", e.Current);
            w.WriteNumber("total", e.Total);
            w.WriteEndObject();
        }
        else if (e.Id != "") { w.WriteStartObject("progressDetail"); w.WriteEndObject(); }
        if (e.Id != "") w.WriteString("id", e.Id);
        w.WriteEndObject();
    });

    /// <summary>The push's last message, which the CLI reads for --quiet and content trust: {"aux":{"Tag","Digest","Size"}}.</summary>
    public static string PushAux(string tag, string digest, long size) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("progressDetail");
        w.WriteEndObject();
        w.WriteStartObject("aux");
        w.WriteString("Tag", tag);
        w.WriteString("Digest", digest);
        w.WriteNumber("Size", size);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    public static string Error(string message) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("errorDetail");
        w.WriteString("message", message);
        w.WriteEndObject();
        w.WriteString("error", message);
        w.WriteEndObject();
    });

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    public static string Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) body(w);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
