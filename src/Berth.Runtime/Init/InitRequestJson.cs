using System.Text.Json;
using Berth.Oci.Runtime;
using Berth.Oci.Runtime.Reading;
using Berth.Oci.Runtime.Writing;

namespace Berth.Runtime.Init;

/// <summary>
/// The sync socket's frames (InitRequest, InitMessage) written and read by hand: the parent and
/// the init are fresh processes, and JsonSerializer's first call in each (building the types'
/// metadata) cost ~3 ms of every create. Same JSON as RuntimeJsonContext would write.
/// </summary>
public static class InitRequestJson
{
    public static byte[] Write(InitRequest r)
    {
        return OciWriter.ToBytes(w =>
        {
            w.WriteStartObject();
            w.WriteString("mode", r.Mode);
            w.WriteString("id", r.Id);
            w.WriteString("bundle", r.Bundle);
            w.WriteString("rootfs", r.Rootfs);
            // The spec itself never travels in this frame: create sends config.json's bytes after
            // it (specFollows), and exec needs only the process.
            w.WriteBoolean("specFollows", r.SpecFollows);
            if (r.Process is not null)
            {
                // exec only: create's process is in the spec.
                w.WritePropertyName("process");
                OciWriter.WriteProcess(w, r.Process);
            }
            OciWriter.StringOrSkip(w, "fifoPath", r.FifoPath);
            OciWriter.StringOrSkip(w, "consoleSocket", r.ConsoleSocket);
            w.WriteBoolean("noPivot", r.NoPivot);
            w.WriteNumber("preserveFds", r.PreserveFds);
            if (r.SeccompBpf is not null) w.WriteBase64String("seccompBpf", r.SeccompBpf);
            w.WriteNumber("seccompFlags", r.SeccompFlags);
            if (r.CgroupMounts is not null)
            {
                w.WriteStartArray("cgroupMounts");
                foreach (var m in r.CgroupMounts)
                {
                    w.WriteStartObject();
                    w.WriteString("name", m.Name);
                    w.WriteString("hostPath", m.HostPath);
                    w.WriteBoolean("v2", m.V2);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteBoolean("inUserNamespace", r.InUserNamespace);
            w.WriteBoolean("newUtsNamespace", r.NewUtsNamespace);
            OciWriter.Strings(w, "cgroupTasks", r.CgroupTasks);
            w.WriteBoolean("unshareCgroupNamespace", r.UnshareCgroupNamespace);
            w.WriteBoolean("hostMountNamespace", r.HostMountNamespace);
            if (r.State is not null)
            {
                w.WritePropertyName("state");
                OciWriter.WriteContainerState(w, r.State);
            }
            w.WriteEndObject();
        });
    }

    public static InitRequest Read(ReadOnlySpan<byte> json) => JsonCursor.ReadDocument(json, RequestObject);

    private static InitRequest RequestObject(ref JsonCursor c)
    {
        if (!c.StartObject("an object (InitRequest)")) throw new RuntimeException("the init request is null");
        var v = new InitRequest();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "mode": v.Mode = c.String()!; break;
                case "id": v.Id = c.String()!; break;
                case "bundle": v.Bundle = c.String()!; break;
                case "rootfs": v.Rootfs = c.String()!; break;
                case "specFollows": v.SpecFollows = c.Bool(); break;
                case "process": v.Process = OciReader.ReadProcess(ref c); break;
                case "fifoPath": v.FifoPath = c.String(); break;
                case "consoleSocket": v.ConsoleSocket = c.String(); break;
                case "noPivot": v.NoPivot = c.Bool(); break;
                case "preserveFds": v.PreserveFds = c.Int32(); break;
                case "seccompBpf": v.SeccompBpf = c.Base64OrNull(); break;
                case "seccompFlags": v.SeccompFlags = c.UInt32(); break;
                case "cgroupMounts": v.CgroupMounts = c.List(ReadCgroupMount); break;
                case "inUserNamespace": v.InUserNamespace = c.Bool(); break;
                case "newUtsNamespace": v.NewUtsNamespace = c.Bool(); break;
                case "cgroupTasks": v.CgroupTasks = c.List(JsonCursor.StringElement); break;
                case "unshareCgroupNamespace": v.UnshareCgroupNamespace = c.Bool(); break;
                case "hostMountNamespace": v.HostMountNamespace = c.Bool(); break;
                case "state": v.State = OciReader.ReadContainerState(ref c); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static CgroupMountSource ReadCgroupMount(ref JsonCursor c)
    {
        if (!c.StartObject("an object (CgroupMountSource)")) return null!;
        var v = new CgroupMountSource();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "name": v.Name = c.String()!; break;
                case "hostPath": v.HostPath = c.String()!; break;
                case "v2": v.V2 = c.Bool(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    public static byte[] Write(InitMessage m)
    {
        return OciWriter.ToBytes(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", m.Type);
            OciWriter.StringOrSkip(w, "error", m.Error);
            w.WriteNumber("pid", m.Pid);
            w.WriteEndObject();
        });
    }

    public static InitMessage ReadMessage(ReadOnlySpan<byte> json) => JsonCursor.ReadDocument(json, MessageObject);

    private static InitMessage MessageObject(ref JsonCursor c)
    {
        if (!c.StartObject("an object (InitMessage)")) throw new RuntimeException("the sync message is null");
        var v = new InitMessage();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "type": v.Type = c.String()!; break;
                case "error": v.Error = c.String(); break;
                case "pid": v.Pid = c.Int32(); break;
                default: c.Skip(); break;
            }
        return v;
    }
}
