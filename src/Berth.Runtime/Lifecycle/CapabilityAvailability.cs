using System.Globalization;
using Berth.Oci.Runtime;
using Berth.Linux.Security;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// A capability the runtime itself does not hold can never be given to the container's
/// process (capset refuses to raise the permitted set). The init only finds out after
/// `start`, where no caller hears it, so `create` checks first and names the capability.
/// With a new user namespace the init holds every capability of that namespace: no check.
/// </summary>
public static class CapabilityAvailability
{
    public static void Check(Spec spec)
    {
        if (spec.Process?.Capabilities is not { } caps) return;
        if ((spec.Linux?.Namespaces ?? new List<LinuxNamespace>()).Any(n => n.Type == "user")) return;
        ulong held = OwnPermitted();
        foreach (var (set, names) in new[] { ("effective", caps.Effective), ("permitted", caps.Permitted), ("inheritable", caps.Inheritable), ("ambient", caps.Ambient) })
        {
            foreach (var name in names ?? new List<string>())
            {
                if (!Berth.Linux.Security.Capabilities.TryParse(name, out int n) || n > Berth.Linux.Security.Capabilities.LastCap) continue;
                if ((held & (1UL << n)) == 0)
                    throw new RuntimeException($"process.capabilities.{set}: {name} is not held by the runtime on this host (not in its permitted set), so the container cannot have it");
            }
        }
    }

    private static ulong OwnPermitted()
    {
        foreach (var line in Berth.Linux.Io.FdIo.ReadLines("/proc/self/status"))
            if (line.StartsWith("CapPrm:", StringComparison.Ordinal))
                return ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return ulong.MaxValue;
    }
}
