using System.Text.Json;
using Berth.Oci.Runtime;

namespace Berth.Engine.Containers;

/// <summary>
/// A docker seccomp profile (what `--security-opt seccomp=FILE` sends: the file's JSON) turned
/// into the OCI filter: architectures from `architectures` or `archMap` (with sub-architectures),
/// rules kept or left out by their `includes`/`excludes` of capabilities and architectures,
/// `name` or `names`. Anything malformed is a 400 naming the cause, found at create.
/// </summary>
public static class DockerSeccompProfile
{
    private const string Arch = "SCMP_ARCH_X86_64";

    public static LinuxSeccomp Parse(string json, IReadOnlyCollection<string> caps)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad("the profile is not a JSON object");
            var s = new LinuxSeccomp
            {
                DefaultAction = Str(root, "defaultAction") ?? throw Bad("defaultAction is missing"),
                DefaultErrnoRet = root.TryGetProperty("defaultErrnoRet", out var der) && der.ValueKind == JsonValueKind.Number ? der.GetUInt32() : null,
                ListenerPath = Str(root, "listenerPath"),
                ListenerMetadata = Str(root, "listenerMetadata"),
                Flags = Strings(root, "flags"),
                Syscalls = [],
            };
            var arches = Strings(root, "architectures") ?? [];
            if (root.TryGetProperty("archMap", out var am) && am.ValueKind == JsonValueKind.Array)
            {
                if (arches.Count > 0) throw Bad("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
                foreach (var a in am.EnumerateArray())
                {
                    if (Str(a, "architecture") != Arch) continue;
                    arches.Add(Arch);
                    arches.AddRange(Strings(a, "subArchitectures") ?? []);
                }
            }
            s.Architectures = arches.Count > 0 ? arches : null;
            if (root.TryGetProperty("syscalls", out var sc) && sc.ValueKind == JsonValueKind.Array)
            {
                foreach (var r in sc.EnumerateArray())
                {
                    if (!Applies(r, caps)) continue;
                    var names = Strings(r, "names") ?? [];
                    if (Str(r, "name") is { } one) names.Add(one);
                    if (names.Count == 0) throw Bad("a syscall rule has neither name nor names");
                    var rule = new LinuxSyscall
                    {
                        Names = names,
                        Action = Str(r, "action") ?? throw Bad($"the rule for {names[0]} has no action"),
                        ErrnoRet = r.TryGetProperty("errnoRet", out var er) && er.ValueKind == JsonValueKind.Number ? er.GetUInt32() : null,
                    };
                    if (r.TryGetProperty("args", out var args) && args.ValueKind == JsonValueKind.Array)
                    {
                        rule.Args = [];
                        foreach (var a in args.EnumerateArray())
                            rule.Args.Add(new LinuxSeccompArg
                            {
                                Index = a.GetProperty("index").GetUInt32(),
                                Value = a.TryGetProperty("value", out var v) ? v.GetUInt64() : 0,
                                ValueTwo = a.TryGetProperty("valueTwo", out var v2) ? v2.GetUInt64() : 0,
                                Op = Str(a, "op"),
                            });
                    }
                    s.Syscalls.Add(rule);
                }
            }
            return s;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw Bad(e.Message);
        }
    }

    /// <summary>includes: every listed cap held and the arch listed; excludes: none of the listed caps held, arch not listed.</summary>
    private static bool Applies(JsonElement rule, IReadOnlyCollection<string> caps)
    {
        if (rule.TryGetProperty("includes", out var inc) && inc.ValueKind == JsonValueKind.Object)
        {
            if (Strings(inc, "caps") is { Count: > 0 } ic && !ic.All(caps.Contains)) return false;
            if (Strings(inc, "arches") is { Count: > 0 } ia && !ia.Contains("amd64") && !ia.Contains("x86_64")) return false;
        }
        if (rule.TryGetProperty("excludes", out var exc) && exc.ValueKind == JsonValueKind.Object)
        {
            if (Strings(exc, "caps") is { Count: > 0 } ec && ec.Any(caps.Contains)) return false;
            if (Strings(exc, "arches") is { Count: > 0 } ea && (ea.Contains("amd64") || ea.Contains("x86_64"))) return false;
        }
        return true;
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.GetString() : null;

    private static List<string>? Strings(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : null;

    private static EngineException Bad(string why) => EngineException.BadRequest($"Decoding seccomp profile failed: {why}");
}
