using Berth.Oci.Runtime;

namespace Berth.Runtime.Bundle;

/// <summary>
/// Checks a config before anything is created, so a bad config leaves nothing behind.
/// Each failure is one line naming the field.
/// </summary>
public static class SpecValidator
{
    public static readonly IReadOnlyDictionary<string, int> NamespaceFlags = new Dictionary<string, int>
    {
        ["pid"] = 0x20000000, ["network"] = 0x40000000, ["mount"] = 0x00020000, ["ipc"] = 0x08000000,
        ["uts"] = 0x04000000, ["user"] = 0x10000000, ["cgroup"] = 0x02000000, ["time"] = 0x00000080,
    };

    public static readonly string[] RlimitNames =
    {
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
        "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    };

    private static readonly HashSet<string> Propagations = new()
    {
        "", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
    };

    /// <param name="bundle">The bundle directory (root.path is relative to it).</param>
    /// <param name="isKnownCapability">Capability-name check (from Berth.Linux.Security).</param>
    /// <param name="isKnownFilesystem">Mount-type check (from /proc/filesystems).</param>
    public static void Validate(Spec spec, string bundle, Func<string, bool> isKnownCapability, Func<string, bool> isKnownFilesystem)
    {
        if (string.IsNullOrEmpty(spec.OciVersion)) Fail("ociVersion is required");
        if (spec.Root?.Path is not { Length: > 0 } rootPath) { Fail("root.path is required"); return; }
        string rootfs = Path.GetFullPath(rootPath, bundle);
        if (!Directory.Exists(rootfs)) Fail($"root.path {rootfs}: the bundle has no such rootfs directory");

        // process is optional at create; `start` refuses a container without one (the spec:
        // REQUIRED when start is called).
        if (spec.Process is { } p) ValidateProcess(p, "process", isKnownCapability);

        var seen = new HashSet<string>();
        var ns = spec.Linux?.Namespaces ?? new List<LinuxNamespace>();
        for (int i = 0; i < ns.Count; i++)
        {
            string type = ns[i].Type ?? "";
            if (!NamespaceFlags.ContainsKey(type)) Fail($"linux.namespaces[{i}].type: unknown namespace type \"{type}\"");
            if (!seen.Add(type)) Fail($"linux.namespaces[{i}].type: namespace \"{type}\" listed twice");
            if (ns[i].Path is { Length: > 0 } nsPath)
            {
                if (!File.Exists(nsPath) && !Directory.Exists(nsPath)) Fail($"linux.namespaces[{i}].path: {nsPath} does not exist");
            }
        }
        bool newUser = ns.Any(n => n.Type == "user" && string.IsNullOrEmpty(n.Path));
        if (newUser && (spec.Linux?.UidMappings is not { Count: > 0 } || spec.Linux?.GidMappings is not { Count: > 0 }))
            Fail("linux.uidMappings and linux.gidMappings are required with a new user namespace");
        if (!newUser && spec.Linux?.UidMappings is { Count: > 0 } && !ns.Any(n => n.Type == "user"))
            Fail("linux.uidMappings given without a user namespace");
        if (!string.IsNullOrEmpty(spec.Hostname) && !ns.Any(n => n.Type == "uts"))
            Fail("hostname requires a new uts namespace (linux.namespaces has no \"uts\")");

        var mounts = spec.Mounts ?? new List<Mount>();
        for (int i = 0; i < mounts.Count; i++)
        {
            var m = mounts[i];
            if (string.IsNullOrEmpty(m.Destination)) Fail($"mounts[{i}].destination is required");
            else if (!m.Destination.StartsWith('/')) Fail($"mounts[{i}].destination {m.Destination}: must be an absolute path");
            bool bind = m.Type == "bind" || (m.Options?.Any(o => o is "bind" or "rbind") ?? false);
            if (!bind && !string.IsNullOrEmpty(m.Type) && m.Type != "none" && !isKnownFilesystem(m.Type))
                Fail($"mounts[{i}].type: unknown mount type \"{m.Type}\"");
            if (bind && string.IsNullOrEmpty(m.Source)) Fail($"mounts[{i}].source is required for a bind mount");
        }

        if (spec.Linux?.RootfsPropagation is { } prop && !Propagations.Contains(prop))
            Fail($"linux.rootfsPropagation: unknown propagation \"{prop}\"");

        var devices = spec.Linux?.Devices ?? new List<LinuxDevice>();
        for (int i = 0; i < devices.Count; i++)
        {
            var d = devices[i];
            if (string.IsNullOrEmpty(d.Path)) Fail($"linux.devices[{i}].path is required");
            if (d.Type is not ("c" or "b" or "u" or "p")) Fail($"linux.devices[{i}].type: unknown device type \"{d.Type}\"");
        }

        ValidateHooks(spec.Hooks);
        if (spec.Linux?.Seccomp is { } sc) SeccompValidation.Validate(sc);
    }

    public static void ValidateProcess(Process p, string field, Func<string, bool> isKnownCapability)
    {
        if (p.Args is not { Count: > 0 } && string.IsNullOrEmpty(p.CommandLine)) Fail($"{field}.args must name at least the program to run");
        if (string.IsNullOrEmpty(p.Cwd)) Fail($"{field}.cwd is required");
        else if (!p.Cwd.StartsWith('/')) Fail($"{field}.cwd {p.Cwd}: must be an absolute path");
        if (p.Capabilities is { } caps)
        {
            Check(caps.Bounding, "bounding"); Check(caps.Effective, "effective"); Check(caps.Inheritable, "inheritable");
            Check(caps.Permitted, "permitted"); Check(caps.Ambient, "ambient");
            void Check(List<string>? set, string name)
            {
                if (set is null) return;
                foreach (var c in set)
                    if (!isKnownCapability(c)) Fail($"{field}.capabilities.{name}: unknown capability \"{c}\"");
            }
        }
        if (p.Rlimits is { } rl)
            for (int i = 0; i < rl.Count; i++)
            {
                if (Array.IndexOf(RlimitNames, rl[i].Type) < 0) Fail($"{field}.rlimits[{i}].type: unknown rlimit \"{rl[i].Type}\"");
                if (rl[i].Soft > rl[i].Hard) Fail($"{field}.rlimits[{i}]: soft limit {rl[i].Soft} exceeds hard limit {rl[i].Hard}");
            }
        if (p.Env is { } env)
            for (int i = 0; i < env.Count; i++)
                if (env[i].IndexOf('=') <= 0) Fail($"{field}.env[{i}] \"{env[i]}\": must be NAME=value");
    }

    private static void ValidateHooks(Berth.Oci.Runtime.Hooks? hooks)
    {
        if (hooks is null) return;
        void Check(List<Hook>? list, string name)
        {
            if (list is null) return;
            for (int i = 0; i < list.Count; i++)
            {
                if (string.IsNullOrEmpty(list[i].Path)) Fail($"hooks.{name}[{i}].path is required");
                else if (!list[i].Path!.StartsWith('/')) Fail($"hooks.{name}[{i}].path {list[i].Path}: must be an absolute path");
                if (list[i].Timeout is <= 0) Fail($"hooks.{name}[{i}].timeout must be greater than zero");
            }
        }
        Check(hooks.Prestart, "prestart"); Check(hooks.CreateRuntime, "createRuntime"); Check(hooks.CreateContainer, "createContainer");
        Check(hooks.StartContainer, "startContainer"); Check(hooks.Poststart, "poststart"); Check(hooks.Poststop, "poststop");
    }

    internal static void Fail(string message) => throw new RuntimeException(message);
}

/// <summary>The seccomp names the runtime-spec defines, checked before libseccomp ever sees them.</summary>
public static class SeccompValidation
{
    public static readonly string[] Actions =
    {
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    };

    public static readonly string[] Operators =
    {
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
    };

    public static void Validate(LinuxSeccomp sc)
    {
        if (Array.IndexOf(Actions, sc.DefaultAction) < 0) SpecValidator.Fail($"linux.seccomp.defaultAction: unknown seccomp action \"{sc.DefaultAction}\"");
        var calls = sc.Syscalls ?? new List<LinuxSyscall>();
        for (int i = 0; i < calls.Count; i++)
        {
            if (Array.IndexOf(Actions, calls[i].Action) < 0) SpecValidator.Fail($"linux.seccomp.syscalls[{i}].action: unknown seccomp action \"{calls[i].Action}\"");
            if (calls[i].Names is not { Count: > 0 }) SpecValidator.Fail($"linux.seccomp.syscalls[{i}].names must name at least one syscall");
            var args = calls[i].Args ?? new List<LinuxSeccompArg>();
            for (int j = 0; j < args.Count; j++)
            {
                if (Array.IndexOf(Operators, args[j].Op) < 0) SpecValidator.Fail($"linux.seccomp.syscalls[{i}].args[{j}].op: unknown seccomp operator \"{args[j].Op}\"");
                if (args[j].Index > 5) SpecValidator.Fail($"linux.seccomp.syscalls[{i}].args[{j}].index {args[j].Index}: a syscall has at most 6 arguments");
            }
        }
    }
}
