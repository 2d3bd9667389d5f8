using System.Buffers;
using System.Text.Json;

namespace Berth.Oci.Runtime.Writing;

/// <summary>
/// Hand-written writers for the OCI objects berth-runtime sends to its init (the state; exec's
/// process), for the reason OciReader exists: JsonSerializer's first call in a fresh process
/// builds its metadata at run time. The output is OciJsonContext's, compact: null properties
/// left out, null list elements and map values kept; strings escaped as Go's encoding/json (and runc) escape them (<see cref="GoJsonEncoder"/>).
/// </summary>
public static class OciWriter
{
    /// <summary>The bytes of one document that <paramref name="write"/> writes.</summary>
    public static byte[] ToBytes(Action<Utf8JsonWriter> write, bool indented = false)
    {
        var buf = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buf, new JsonWriterOptions { Indented = indented, Encoder = GoJsonEncoder.Instance }))
            write(w);
        return buf.WrittenSpan.ToArray();
    }

    /// <summary>Writes the state as OciJsonContext does (null properties left out).</summary>
    public static void WriteContainerState(Utf8JsonWriter w, ContainerState s)
    {
        w.WriteStartObject();
        StringOrSkip(w, "ociVersion", s.OciVersion);
        StringOrSkip(w, "id", s.Id);
        StringOrSkip(w, "status", s.Status);
        w.WriteNumber("pid", s.Pid);
        StringOrSkip(w, "bundle", s.Bundle);
        Map(w, "annotations", s.Annotations);
        w.WriteEndObject();
    }

    public static void StringOrSkip(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }

    /// <summary>A string map as STJ writes it: left out when null, null values kept.</summary>
    public static void Map(Utf8JsonWriter w, string name, Dictionary<string, string>? map)
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

    public static void Strings(Utf8JsonWriter w, string name, List<string>? list)
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

    public static void WriteProcess(Utf8JsonWriter w, Process p)
    {
        w.WriteStartObject();
        w.WriteBoolean("terminal", p.Terminal);
        if (p.ConsoleSize is { } cs)
        {
            w.WriteStartObject("consoleSize");
            w.WriteNumber("height", cs.Height);
            w.WriteNumber("width", cs.Width);
            w.WriteEndObject();
        }
        if (p.User is { } u)
        {
            w.WriteStartObject("user");
            w.WriteNumber("uid", u.Uid);
            w.WriteNumber("gid", u.Gid);
            if (u.Umask is uint umask) w.WriteNumber("umask", umask);
            if (u.AdditionalGids is { } gids)
            {
                w.WriteStartArray("additionalGids");
                foreach (var g in gids) w.WriteNumberValue(g);
                w.WriteEndArray();
            }
            StringOrSkip(w, "username", u.Username);
            w.WriteEndObject();
        }
        Strings(w, "args", p.Args);
        StringOrSkip(w, "commandLine", p.CommandLine);
        Strings(w, "env", p.Env);
        StringOrSkip(w, "cwd", p.Cwd);
        if (p.Capabilities is { } c)
        {
            w.WriteStartObject("capabilities");
            Strings(w, "bounding", c.Bounding);
            Strings(w, "effective", c.Effective);
            Strings(w, "inheritable", c.Inheritable);
            Strings(w, "permitted", c.Permitted);
            Strings(w, "ambient", c.Ambient);
            w.WriteEndObject();
        }
        if (p.Rlimits is { } rlimits)
        {
            w.WriteStartArray("rlimits");
            foreach (var r in rlimits)
            {
                if (r is null) { w.WriteNullValue(); continue; }
                w.WriteStartObject();
                StringOrSkip(w, "type", r.Type);
                w.WriteNumber("hard", r.Hard);
                w.WriteNumber("soft", r.Soft);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteBoolean("noNewPrivileges", p.NoNewPrivileges);
        StringOrSkip(w, "apparmorProfile", p.ApparmorProfile);
        if (p.OomScoreAdj is int adj) w.WriteNumber("oomScoreAdj", adj);
        StringOrSkip(w, "selinuxLabel", p.SelinuxLabel);
        if (p.IoPriority is { } io)
        {
            w.WriteStartObject("ioPriority");
            StringOrSkip(w, "class", io.Class);
            w.WriteNumber("priority", io.Priority);
            w.WriteEndObject();
        }
        if (p.Scheduler is { } s)
        {
            w.WriteStartObject("scheduler");
            StringOrSkip(w, "policy", s.Policy);
            w.WriteNumber("nice", s.Nice);
            w.WriteNumber("priority", s.Priority);
            Strings(w, "flags", s.Flags);
            w.WriteNumber("runtime", s.Runtime);
            w.WriteNumber("deadline", s.Deadline);
            w.WriteNumber("period", s.Period);
            w.WriteEndObject();
        }
        if (p.ExecCpuAffinity is { } a)
        {
            w.WriteStartObject("execCPUAffinity");
            StringOrSkip(w, "initial", a.Initial);
            StringOrSkip(w, "final", a.Final);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
