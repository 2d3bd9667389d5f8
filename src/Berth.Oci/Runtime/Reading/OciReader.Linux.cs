namespace Berth.Oci.Runtime.Reading;

// The readers of config.json's "linux" object (Runtime/Linux.cs); why by hand: see OciReader.Spec.cs.
public static partial class OciReader
{
    private static Linux ReadLinux(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Linux)")) return null!;
        var v = new Linux();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "uidMappings": v.UidMappings = c.List(ReadIdMapping); break;
                case "gidMappings": v.GidMappings = c.List(ReadIdMapping); break;
                case "sysctl": v.Sysctl = c.Map(JsonCursor.StringElement); break;
                case "resources": v.Resources = ReadLinuxResources(ref c); break;
                case "cgroupsPath": v.CgroupsPath = c.String(); break;
                case "namespaces": v.Namespaces = c.List(ReadLinuxNamespace); break;
                case "devices": v.Devices = c.List(ReadLinuxDevice); break;
                case "seccomp": v.Seccomp = ReadLinuxSeccomp(ref c); break;
                case "rootfsPropagation": v.RootfsPropagation = c.String(); break;
                case "maskedPaths": v.MaskedPaths = c.List(JsonCursor.StringElement); break;
                case "readonlyPaths": v.ReadonlyPaths = c.List(JsonCursor.StringElement); break;
                case "mountLabel": v.MountLabel = c.String(); break;
                case "intelRdt": v.IntelRdt = ReadIntelRdt(ref c); break;
                case "personality": v.Personality = ReadPersonality(ref c); break;
                case "timeOffsets": v.TimeOffsets = c.Map(ReadTimeOffset); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxNamespace ReadLinuxNamespace(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxNamespace)")) return null!;
        var v = new LinuxNamespace();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "type": v.Type = c.String(); break;
                case "path": v.Path = c.String(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxDevice ReadLinuxDevice(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxDevice)")) return null!;
        var v = new LinuxDevice();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "path": v.Path = c.String(); break;
                case "type": v.Type = c.String(); break;
                case "major": v.Major = c.Int64(); break;
                case "minor": v.Minor = c.Int64(); break;
                case "fileMode": v.FileMode = c.UInt32OrNull(); break;
                case "uid": v.Uid = c.UInt32OrNull(); break;
                case "gid": v.Gid = c.UInt32OrNull(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static IntelRdt ReadIntelRdt(ref JsonCursor c)
    {
        if (!c.StartObject("an object (IntelRdt)")) return null!;
        var v = new IntelRdt();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "closID": v.ClosId = c.String(); break;
                case "l3CacheSchema": v.L3CacheSchema = c.String(); break;
                case "memBwSchema": v.MemBwSchema = c.String(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static Personality ReadPersonality(ref JsonCursor c)
    {
        if (!c.StartObject("an object (Personality)")) return null!;
        var v = new Personality();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "domain": v.Domain = c.String(); break;
                case "flags": v.Flags = c.List(JsonCursor.StringElement); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static TimeOffset ReadTimeOffset(ref JsonCursor c)
    {
        if (!c.StartObject("an object (TimeOffset)")) return null!;
        var v = new TimeOffset();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "secs": v.Secs = c.Int64(); break;
                case "nanosecs": v.Nanosecs = c.UInt32(); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxSeccomp ReadLinuxSeccomp(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxSeccomp)")) return null!;
        var v = new LinuxSeccomp();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "defaultAction": v.DefaultAction = c.String(); break;
                case "defaultErrnoRet": v.DefaultErrnoRet = c.UInt32OrNull(); break;
                case "architectures": v.Architectures = c.List(JsonCursor.StringElement); break;
                case "flags": v.Flags = c.List(JsonCursor.StringElement); break;
                case "listenerPath": v.ListenerPath = c.String(); break;
                case "listenerMetadata": v.ListenerMetadata = c.String(); break;
                case "syscalls": v.Syscalls = c.List(ReadLinuxSyscall); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxSyscall ReadLinuxSyscall(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxSyscall)")) return null!;
        var v = new LinuxSyscall();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "names": v.Names = c.List(JsonCursor.StringElement); break;
                case "action": v.Action = c.String(); break;
                case "errnoRet": v.ErrnoRet = c.UInt32OrNull(); break;
                case "args": v.Args = c.List(ReadLinuxSeccompArg); break;
                default: c.Skip(); break;
            }
        return v;
    }

    private static LinuxSeccompArg ReadLinuxSeccompArg(ref JsonCursor c)
    {
        if (!c.StartObject("an object (LinuxSeccompArg)")) return null!;
        var v = new LinuxSeccompArg();
        while (c.NextProperty(out string name))
            switch (name)
            {
                case "index": v.Index = c.UInt32(); break;
                case "value": v.Value = c.UInt64(); break;
                case "valueTwo": v.ValueTwo = c.UInt64(); break;
                case "op": v.Op = c.String(); break;
                default: c.Skip(); break;
            }
        return v;
    }
}
