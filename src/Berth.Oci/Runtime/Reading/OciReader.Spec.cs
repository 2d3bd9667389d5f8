namespace Berth.Oci.Runtime.Reading;

/// <summary>
/// Hand-written readers for the OCI documents berth-runtime parses on every create (config.json,
/// twice: the runtime and the container's init), so a short-lived process does not pay
/// JsonSerializer's first-call metadata cost (see JsonCursor). They accept and reject what
/// OciJsonContext does; OciReaderEquivalenceTests holds them to that. OciJsonContext stays the
/// way everyone else reads and writes these types.
/// </summary>
public static partial class OciReader
{
    /// <summary>config.json; null for a document that is JSON null.</summary>
    public static Spec? ParseSpec(ReadOnlySpan<byte> json) => JsonCursor.ReadDocument(json, ReadSpec);

    /// <summary>A process.json (exec --process).</summary>
    public static Process? ParseProcess(ReadOnlySpan<byte> json) => JsonCursor.ReadDocument(json, ReadProcess);

    public static Spec ReadSpec(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Spec)")) return null!;
        var v = new Spec();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "ociVersion": v.OciVersion = c.String(); break;
                case "process": v.Process = ReadProcess(ref c); break;
                case "root": v.Root = ReadRoot(ref c); break;
                case "hostname": v.Hostname = c.String(); break;
                case "domainname": v.Domainname = c.String(); break;
                case "mounts": v.Mounts = c.List(ReadMount); break;
                case "hooks": v.Hooks = ReadHooks(ref c); break;
                case "annotations": v.Annotations = c.Map(JsonCursor.StringElement); break;
                case "linux": v.Linux = ReadLinux(ref c); break;
                default: c.Skip(); break;
            }
        return v;
    }

    public static Root ReadRoot(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Root)")) return null!;
        var v = new Root();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "path": v.Path = c.String(); break;
                case "readonly": v.Readonly = c.Bool(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    public static Process ReadProcess(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Process)")) return null!;
        var v = new Process();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "terminal": v.Terminal = c.Bool(); break;
                case "consoleSize": v.ConsoleSize = ReadConsoleSize(ref c); break;
                case "user": v.User = ReadUser(ref c); break;
                case "args": v.Args = c.List(JsonCursor.StringElement); break;
                case "commandLine": v.CommandLine = c.String(); break;
                case "env": v.Env = c.List(JsonCursor.StringElement); break;
                case "cwd": v.Cwd = c.String(); break;
                case "capabilities": v.Capabilities = ReadCapabilities(ref c); break;
                case "rlimits": v.Rlimits = c.List(ReadRlimit); break;
                case "noNewPrivileges": v.NoNewPrivileges = c.Bool(); break;
                case "apparmorProfile": v.ApparmorProfile = c.String(); break;
                case "oomScoreAdj": v.OomScoreAdj = c.Int32OrNull(); break;
                case "selinuxLabel": v.SelinuxLabel = c.String(); break;
                case "ioPriority": v.IoPriority = ReadIoPriority(ref c); break;
                case "scheduler": v.Scheduler = ReadScheduler(ref c); break;
                case "execCPUAffinity": v.ExecCpuAffinity = ReadExecCpuAffinity(ref c); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static ConsoleSize ReadConsoleSize(ref JsonCursor c)
    {
        if (!c.StartObject("an object (ConsoleSize)")) return null!;
        var v = new ConsoleSize();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "height": v.Height = c.UInt32(); break;
                case "width": v.Width = c.UInt32(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static User ReadUser(ref JsonCursor c)
    {
        if (!c.StartObject("an object (User)")) return null!;
        var v = new User();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "uid": v.Uid = c.UInt32(); break;
                case "gid": v.Gid = c.UInt32(); break;
                case "umask": v.Umask = c.UInt32OrNull(); break;
                case "additionalGids": v.AdditionalGids = c.List(JsonCursor.UInt32Element); break;
                case "username": v.Username = c.String(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static Capabilities ReadCapabilities(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Capabilities)")) return null!;
        var v = new Capabilities();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "bounding": v.Bounding = c.List(JsonCursor.StringElement); break;
                case "effective": v.Effective = c.List(JsonCursor.StringElement); break;
                case "inheritable": v.Inheritable = c.List(JsonCursor.StringElement); break;
                case "permitted": v.Permitted = c.List(JsonCursor.StringElement); break;
                case "ambient": v.Ambient = c.List(JsonCursor.StringElement); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static Rlimit ReadRlimit(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Rlimit)")) return null!;
        var v = new Rlimit();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "type": v.Type = c.String(); break;
                case "hard": v.Hard = c.UInt64(); break;
                case "soft": v.Soft = c.UInt64(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static IoPriority ReadIoPriority(ref JsonCursor c)
    {
        if (!c.StartObject("an object (IoPriority)")) return null!;
        var v = new IoPriority();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "class": v.Class = c.String(); break;
                case "priority": v.Priority = c.Int32(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static Scheduler ReadScheduler(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Scheduler)")) return null!;
        var v = new Scheduler();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "policy": v.Policy = c.String(); break;
                case "nice": v.Nice = c.Int32(); break;
                case "priority": v.Priority = c.Int32(); break;
                case "flags": v.Flags = c.List(JsonCursor.StringElement); break;
                case "runtime": v.Runtime = c.UInt64(); break;
                case "deadline": v.Deadline = c.UInt64(); break;
                case "period": v.Period = c.UInt64(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static ExecCpuAffinity ReadExecCpuAffinity(ref JsonCursor c)
    {
        if (!c.StartObject("an object (ExecCpuAffinity)")) return null!;
        var v = new ExecCpuAffinity();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "initial": v.Initial = c.String(); break;
                case "final": v.Final = c.String(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static Mount ReadMount(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Mount)")) return null!;
        var v = new Mount();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "destination": v.Destination = c.String(); break;
                case "source": v.Source = c.String(); break;
                case "type": v.Type = c.String(); break;
                case "options": v.Options = c.List(JsonCursor.StringElement); break;
                case "uidMappings": v.UidMappings = c.List(ReadIdMapping); break;
                case "gidMappings": v.GidMappings = c.List(ReadIdMapping); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static Hooks ReadHooks(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Hooks)")) return null!;
        var v = new Hooks();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "prestart": v.Prestart = c.List(ReadHook); break;
                case "createRuntime": v.CreateRuntime = c.List(ReadHook); break;
                case "createContainer": v.CreateContainer = c.List(ReadHook); break;
                case "startContainer": v.StartContainer = c.List(ReadHook); break;
                case "poststart": v.Poststart = c.List(ReadHook); break;
                case "poststop": v.Poststop = c.List(ReadHook); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static Hook ReadHook(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Hook)")) return null!;
        var v = new Hook();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "path": v.Path = c.String(); break;
                case "args": v.Args = c.List(JsonCursor.StringElement); break;
                case "env": v.Env = c.List(JsonCursor.StringElement); break;
                case "timeout": v.Timeout = c.Int32OrNull(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static IdMapping ReadIdMapping(ref JsonCursor c)
    {
        if (!c.StartObject("an object (IdMapping)")) return null!;
        var v = new IdMapping();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "containerID": v.ContainerId = c.UInt32(); break;
                case "hostID": v.HostId = c.UInt32(); break;
                case "size": v.Size = c.UInt32(); break;
                default: c.Skip(); break;
            }
        return v;
    }
}
