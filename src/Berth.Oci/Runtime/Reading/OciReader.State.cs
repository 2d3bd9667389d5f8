using System.Text.Json;

namespace Berth.Oci.Runtime.Reading;

// The OCI state (Runtime/State.cs), which berth-runtime hands its init in every create;
// why by hand: see OciReader.Spec.cs.
public static partial class OciReader
{
    public static ContainerState ReadContainerState(ref JsonCursor c)
    {
        if (!c.StartObject("an object (ContainerState)")) return null!;
        var v = new ContainerState();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "ociVersion": v.OciVersion = c.String()!; break;
                case "id": v.Id = c.String()!; break;
                case "status": v.Status = c.String()!; break;
                case "pid": v.Pid = c.Int32(); break;
                case "bundle": v.Bundle = c.String()!; break;
                case "annotations": v.Annotations = c.Map(JsonCursor.StringElement); break;
                default: c.Skip(); break;
            }
        return v;
    }

    /// <summary>Writes the state as OciJsonContext does (null properties left out).</summary>
    public static void WriteContainerState(Utf8JsonWriter w, ContainerState s)
    {
        w.WriteStartObject();
        WriteStringOrSkip(w, "ociVersion", s.OciVersion);
        WriteStringOrSkip(w, "id", s.Id);
        WriteStringOrSkip(w, "status", s.Status);
        w.WriteNumber("pid", s.Pid);
        WriteStringOrSkip(w, "bundle", s.Bundle);
        WriteMap(w, "annotations", s.Annotations);
        w.WriteEndObject();
    }

    public static void WriteStringOrSkip(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }

    /// <summary>A string map as STJ writes it: left out when null, null values kept.</summary>
    public static void WriteMap(Utf8JsonWriter w, string name, Dictionary<string, string>? map)
    {
        if (map is null) return;
        w.WriteStartObject(name);
        foreach (var (k, v) in map)
        {
            if (v is null) w.WriteNull(k);
            else w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    public static void WriteStrings(Utf8JsonWriter w, string name, List<string>? list)
    {
        if (list is null) return;
        w.WriteStartArray(name);
        foreach (var s in list)
        {
            if (s is null) w.WriteNullValue();
            else w.WriteStringValue(s);
        }
        w.WriteEndArray();
    }
}
