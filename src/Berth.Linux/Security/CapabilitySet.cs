using Berth.Linux.Interop;
using OciCapabilities = Berth.Oci.Runtime.Capabilities;

namespace Berth.Linux.Security;

/// <summary>
/// The five capability sets of an OCI <c>process.capabilities</c>, as bit masks, and the
/// kernel calls that put them on the calling thread.
/// </summary>
/// <remarks>
/// <para><b>Capabilities are per thread.</b> prctl(PR_CAPBSET_DROP), capset(2) and
/// prctl(PR_CAP_AMBIENT) change only the thread that makes the call. The runtime's init must
/// therefore make these calls as a plain synchronous sequence on the one thread that then calls
/// execve(2) - no await, no Task, no thread-pool hop in between - and start no thread after them
/// (a thread created later would inherit the reduced sets; one created earlier keeps the full ones,
/// which execve discards anyway).</para>
/// <para>Order, as runc does it:</para>
/// <list type="number">
/// <item><see cref="Bind"/> before pivot_root (resolves the libc entry points, so nothing is
/// loaded from inside the container's root later).</item>
/// <item><see cref="DropBounding"/> while still uid 0 with CAP_SETPCAP.</item>
/// <item>prctl(PR_SET_KEEPCAPS, 1) (see <see cref="SetKeepCaps"/>), setresgid/setgroups/setresuid
/// to the container user, then PR_SET_KEEPCAPS 0.</item>
/// <item><see cref="ApplyProcessSets"/>: capset(effective, permitted, inheritable), then ambient.</item>
/// <item>seccomp (when no_new_privs is set), execve.</item>
/// </list>
/// </remarks>
public sealed class CapabilitySet
{
    public ulong Bounding { get; init; }
    public ulong Effective { get; init; }
    public ulong Permitted { get; init; }
    public ulong Inheritable { get; init; }
    public ulong Ambient { get; init; }

    /// <summary>Names the config listed that the running kernel does not have (skipped, as runc does).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Builds the sets from an OCI capabilities object. A missing object or list means the empty
    /// set (no capability). Throws <see cref="SecurityConfigException"/> for a name that is not a
    /// Linux capability; a real capability newer than the running kernel
    /// (above <paramref name="lastCap"/>, default <see cref="Capabilities.LastCap"/>) is skipped
    /// and reported in <see cref="Warnings"/>.
    /// </summary>
    public static CapabilitySet FromSpec(OciCapabilities? caps, int? lastCap = null)
    {
        int last = lastCap ?? Capabilities.LastCap;
        var warnings = new List<string>();
        ulong Mask(List<string>? names, string field)
        {
            ulong m = 0;
            if (names is null) return 0;
            foreach (var name in names)
            {
                if (!Capabilities.TryParse(name, out var n))
                    throw new SecurityConfigException($"unknown capability \"{name}\" in process.capabilities.{field}");
                if (n > last)
                {
                    warnings.Add($"capability \"{name}\" in process.capabilities.{field} is not supported by this kernel (cap_last_cap {last}); skipped");
                    continue;
                }
                m |= 1UL << n;
            }
            return m;
        }
        return new CapabilitySet
        {
            Bounding = Mask(caps?.Bounding, "bounding"),
            Effective = Mask(caps?.Effective, "effective"),
            Permitted = Mask(caps?.Permitted, "permitted"),
            Inheritable = Mask(caps?.Inheritable, "inheritable"),
            Ambient = Mask(caps?.Ambient, "ambient"),
            Warnings = warnings,
        };
    }

    /// <summary>The capability names in a mask, lowest number first.</summary>
    public static List<string> NamesOf(ulong mask)
    {
        var list = new List<string>();
        for (int i = 0; i < 64; i++) if ((mask & (1UL << i)) != 0) list.Add(Capabilities.NameOf(i));
        return list;
    }

    /// <summary>
    /// Resolves every libc entry point the apply calls use (prctl, syscall) and reads
    /// cap_last_cap, so that after pivot_root nothing needs to be looked up or loaded.
    /// Call it in the init before it enters the container's root.
    /// </summary>
    public static unsafe void Bind()
    {
        _ = Capabilities.LastCap;
        _ = LibC.prctl(PR.CAPBSET_READ, 0, 0, 0, 0);
        var hdr = new CapUserHeader { Version = LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc CapUserData[2];
        _ = LibC.capget(&hdr, data);
    }

    /// <summary>_LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.</summary>
    public const uint LinuxCapabilityVersion3 = 0x20080522;

    /// <summary>
    /// Drops from the calling thread's bounding set every capability 0..cap_last_cap that is not in
    /// <see cref="Bounding"/> (prctl PR_CAPBSET_DROP). Needs CAP_SETPCAP in the effective set, so it
    /// comes before the uid switch and before <see cref="ApplyProcessSets"/>.
    /// </summary>
    public void DropBounding()
    {
        int last = Capabilities.LastCap;
        for (int cap = 0; cap <= last; cap++)
        {
            if ((Bounding & (1UL << cap)) != 0) continue;
            int rc = LibC.prctl(PR.CAPBSET_DROP, (ulong)cap, 0, 0, 0);
            if (rc < 0)
            {
                int e = Errno.Last;
                // EINVAL: the kernel does not know this number (cap_last_cap raced or was wrong).
                if (e == Errno.EINVAL) continue;
                throw new LinuxException(e, $"prctl(PR_CAPBSET_DROP, {Capabilities.NameOf(cap)})");
            }
        }
    }

    /// <summary>
    /// Sets the calling thread's effective, permitted and inheritable sets with capset(2)
    /// (version 3), then clears the ambient set and raises each ambient capability.
    /// A capability the kernel refuses to raise into the ambient set (it must be in both
    /// permitted and inheritable) is skipped and returned as a warning line, as runc does;
    /// every other failure throws <see cref="LinuxException"/>.
    /// </summary>
    public unsafe IReadOnlyList<string> ApplyProcessSets()
    {
        var hdr = new CapUserHeader { Version = LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc CapUserData[2];
        data[0] = new CapUserData { Effective = (uint)Effective, Permitted = (uint)Permitted, Inheritable = (uint)Inheritable };
        data[1] = new CapUserData { Effective = (uint)(Effective >> 32), Permitted = (uint)(Permitted >> 32), Inheritable = (uint)(Inheritable >> 32) };
        if (LibC.capset(&hdr, data) < 0)
            throw new LinuxException(Errno.Last, "capset(effective, permitted, inheritable)");

        var warnings = new List<string>();
        if (LibC.prctl(PR.CAP_AMBIENT, (ulong)PR.CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        {
            int e = Errno.Last;
            // EINVAL: kernel older than 4.3 without ambient capabilities; nothing to clear or raise.
            if (e == Errno.EINVAL)
            {
                if (Ambient != 0) warnings.Add("ambient capabilities are not supported by this kernel; skipped");
                return warnings;
            }
            throw new LinuxException(e, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
        }
        for (int cap = 0; cap < 64; cap++)
        {
            if ((Ambient & (1UL << cap)) == 0) continue;
            if (LibC.prctl(PR.CAP_AMBIENT, (ulong)PR.CAP_AMBIENT_RAISE, (ulong)cap, 0, 0) < 0)
            {
                int e = Errno.Last;
                if (e == Errno.EPERM || e == Errno.EINVAL)
                {
                    warnings.Add($"cannot raise ambient capability {Capabilities.NameOf(cap)} (it must be permitted and inheritable); skipped");
                    continue;
                }
                throw new LinuxException(e, $"prctl(PR_CAP_AMBIENT_RAISE, {Capabilities.NameOf(cap)})");
            }
        }
        return warnings;
    }

    /// <summary><see cref="DropBounding"/> then <see cref="ApplyProcessSets"/>, for a process that keeps its uid.</summary>
    public IReadOnlyList<string> Apply()
    {
        DropBounding();
        return ApplyProcessSets();
    }

    /// <summary>prctl(PR_SET_KEEPCAPS): keep the permitted set across the setresuid away from uid 0.</summary>
    public static void SetKeepCaps(bool keep) =>
        Errno.Check(LibC.prctl(PR.SET_KEEPCAPS, keep ? 1UL : 0UL, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)");
}
