using System.Text.Json;
using Berth.Oci.Runtime.Reading;
using Berth.Oci.Runtime.Writing;

namespace Berth.Runtime.State;

/// <summary>
/// state.json and the `state` output, written and read by hand: start, state, kill and delete
/// are each a fresh process that reads state.json once, and JsonSerializer's first call (building
/// the type's metadata) was most of what reading it cost. Same JSON as RuntimeJsonContext writes.
/// </summary>
public static class SavedStateJson
{
    public static byte[] Write(SavedState s)
    {
        return OciWriter.ToBytes(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", s.Id);
            w.WriteNumber("pid", s.Pid);
            w.WriteNumber("pidStartTime", s.PidStartTime);
            w.WriteString("bundle", s.Bundle);
            w.WriteString("rootfs", s.Rootfs);
            w.WriteString("created", s.Created);
            w.WriteString("owner", s.Owner);
            OciWriter.Map(w, "cgroupPaths", s.CgroupPaths);
            OciWriter.Strings(w, "cgroupParentsCreated", s.CgroupParentsCreated);
            OciWriter.Map(w, "annotations", s.Annotations);
            w.WriteBoolean("hasProcess", s.HasProcess);
            w.WriteBoolean("hostMountNamespace", s.HostMountNamespace);
            OciWriter.Strings(w, "hooks", s.HookPhases);
            w.WriteEndObject();
        });
    }

    /// <summary>The saved state; null for a file that holds JSON null.</summary>
    public static SavedState? Read(ReadOnlySpan<byte> json) => JsonCursor.ReadDocument(json, StateObject);

    private static SavedState StateObject(ref JsonCursor c)
    {
        if (!c.StartObject("an object (SavedState)")) return null!;
        var v = new SavedState();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "id": v.Id = c.String()!; break;
                case "pid": v.Pid = c.Int32(); break;
                case "pidStartTime": v.PidStartTime = c.UInt64(); break;
                case "bundle": v.Bundle = c.String()!; break;
                case "rootfs": v.Rootfs = c.String()!; break;
                case "created": v.Created = c.DateTime(); break;
                case "owner": v.Owner = c.String()!; break;
                case "cgroupPaths": v.CgroupPaths = c.Map(JsonCursor.StringElement)!; break;
                case "cgroupParentsCreated": v.CgroupParentsCreated = c.List(JsonCursor.StringElement); break;
                case "annotations": v.Annotations = c.Map(JsonCursor.StringElement); break;
                case "hasProcess": v.HasProcess = c.Bool(); break;
                case "hostMountNamespace": v.HostMountNamespace = c.Bool(); break;
                case "hooks": v.HookPhases = c.List(JsonCursor.StringElement); break;
                default: c.Skip(); break;
            }
        return v;
    }

    /// <summary>runc's `state` output: indented, as RuntimeIndentedJsonContext writes it.</summary>
    public static byte[] WriteReport(StateReport r)
    {
        return OciWriter.ToBytes(w =>
        {
            w.WriteStartObject();
            w.WriteString("ociVersion", r.OciVersion);
            w.WriteString("id", r.Id);
            w.WriteNumber("pid", r.Pid);
            w.WriteString("status", r.Status);
            w.WriteString("bundle", r.Bundle);
            w.WriteString("rootfs", r.Rootfs);
            w.WriteString("created", r.Created);
            w.WriteString("owner", r.Owner);
            OciWriter.Map(w, "annotations", r.Annotations);
            w.WriteEndObject();
        }, indented: true);
    }
}
