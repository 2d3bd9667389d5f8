namespace Berth.Linux.Security;

/// <summary>
/// The Linux capability names and numbers (linux/capability.h), as OCI and Docker spell them.
/// Pure data plus <see cref="LastCap"/>, which asks the running kernel for its highest capability.
/// </summary>
public static class Capabilities
{
    /// <summary>Capability names indexed by number: <c>Names[0] == "CAP_CHOWN"</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = new[]
    {
        "CAP_CHOWN",              // 0
        "CAP_DAC_OVERRIDE",       // 1
        "CAP_DAC_READ_SEARCH",    // 2
        "CAP_FOWNER",             // 3
        "CAP_FSETID",             // 4
        "CAP_KILL",               // 5
        "CAP_SETGID",             // 6
        "CAP_SETUID",             // 7
        "CAP_SETPCAP",            // 8
        "CAP_LINUX_IMMUTABLE",    // 9
        "CAP_NET_BIND_SERVICE",   // 10
        "CAP_NET_BROADCAST",      // 11
        "CAP_NET_ADMIN",          // 12
        "CAP_NET_RAW",            // 13
        "CAP_IPC_LOCK",           // 14
        "CAP_IPC_OWNER",          // 15
        "CAP_SYS_MODULE",         // 16
        "CAP_SYS_RAWIO",          // 17
        "CAP_SYS_CHROOT",         // 18
        "CAP_SYS_PTRACE",         // 19
        "CAP_SYS_PACCT",          // 20
        "CAP_SYS_ADMIN",          // 21
        "CAP_SYS_BOOT",           // 22
        "CAP_SYS_NICE",           // 23
        "CAP_SYS_RESOURCE",       // 24
        "CAP_SYS_TIME",           // 25
        "CAP_SYS_TTY_CONFIG",     // 26
        "CAP_MKNOD",              // 27
        "CAP_LEASE",              // 28
        "CAP_AUDIT_WRITE",        // 29
        "CAP_AUDIT_CONTROL",      // 30
        "CAP_SETFCAP",            // 31
        "CAP_MAC_OVERRIDE",       // 32
        "CAP_MAC_ADMIN",          // 33
        "CAP_SYSLOG",             // 34
        "CAP_WAKE_ALARM",         // 35
        "CAP_BLOCK_SUSPEND",      // 36
        "CAP_AUDIT_READ",         // 37
        "CAP_PERFMON",            // 38
        "CAP_BPF",                // 39
        "CAP_CHECKPOINT_RESTORE", // 40
    };

    /// <summary>The highest capability this table knows (CAP_CHECKPOINT_RESTORE).</summary>
    public const int MaxKnown = 40;

    private static readonly Dictionary<string, int> ByName = BuildIndex();

    private static Dictionary<string, int> BuildIndex()
    {
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Names.Count; i++) d[Names[i]] = i;
        return d;
    }

    /// <summary>
    /// Parses an OCI capability name: exactly "CAP_X" in upper case, as the runtime-spec requires.
    /// </summary>
    public static bool TryParse(string? name, out int number)
    {
        number = -1;
        return name is not null && ByName.TryGetValue(name, out number);
    }

    /// <summary>
    /// Parses a name the way docker's <c>--cap-add</c>/<c>--cap-drop</c> accept it: case-insensitive,
    /// with or without the "CAP_" prefix ("net_admin", "NET_ADMIN", "cap_net_admin").
    /// "ALL" is not a capability and is left to the caller.
    /// </summary>
    public static bool TryParseDockerName(string? name, out int number)
    {
        number = -1;
        if (string.IsNullOrWhiteSpace(name)) return false;
        var upper = name.Trim().ToUpperInvariant();
        if (!upper.StartsWith("CAP_", StringComparison.Ordinal)) upper = "CAP_" + upper;
        return ByName.TryGetValue(upper, out number);
    }

    /// <summary>The canonical "CAP_X" spelling of a docker-style name, or null when unknown.</summary>
    public static string? NormalizeDockerName(string? name) =>
        TryParseDockerName(name, out var n) ? Names[n] : null;

    /// <summary>The name of capability <paramref name="number"/>, or "CAP_&lt;n&gt;" for one this table does not know.</summary>
    public static string NameOf(int number) =>
        number >= 0 && number < Names.Count ? Names[number] : $"CAP_{number}";

    private static int _lastCap = -1;

    /// <summary>
    /// The kernel's highest capability number, from /proc/sys/kernel/cap_last_cap (read once).
    /// Falls back to <see cref="MaxKnown"/> when the file cannot be read.
    /// </summary>
    public static int LastCap
    {
        get
        {
            if (_lastCap >= 0) return _lastCap;
            int value = MaxKnown;
            try
            {
                var text = Io.FdIo.ReadText("/proc/sys/kernel/cap_last_cap").Trim();
                if (int.TryParse(text, System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 0 && v < 64)
                    value = v;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            _lastCap = value;
            return value;
        }
    }
}
