using System.Runtime.InteropServices;

namespace Berth.Linux.Security;

/// <summary>
/// The few libseccomp (libseccomp.so.2, API 2.5) entry points the filter compiler uses.
/// Functions return a negative errno on failure (they do not set errno).
/// Only <see cref="Seccomp.Compile"/> calls these, in the runtime's parent process: the container's
/// init never loads libseccomp (see <see cref="SeccompFilter"/>).
/// </summary>
internal static unsafe partial class LibSeccomp
{
    private const string Lib = "libseccomp.so.2";

    [LibraryImport(Lib)]
    public static partial nint seccomp_init(uint defAction);

    [LibraryImport(Lib)]
    public static partial void seccomp_release(nint ctx);

    [LibraryImport(Lib)]
    public static partial int seccomp_arch_add(nint ctx, uint archToken);

    [LibraryImport(Lib)]
    public static partial uint seccomp_arch_native();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint seccomp_arch_resolve_name(string archName);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int seccomp_syscall_resolve_name(string name);

    [LibraryImport(Lib)]
    public static partial int seccomp_rule_add_array(nint ctx, uint action, int syscall, uint argCount, ScmpArgCmp* args);

    [LibraryImport(Lib)]
    public static partial int seccomp_attr_set(nint ctx, int attr, uint value);

    [LibraryImport(Lib)]
    public static partial int seccomp_export_bpf(nint ctx, int fd);

    [LibraryImport(Lib)]
    public static partial uint seccomp_api_get();

    /// <summary>__NR_SCMP_ERROR: what seccomp_syscall_resolve_name returns for an unknown name.</summary>
    public const int NrScmpError = -1;

    // enum scmp_filter_attr
    public const int FltAtrCtlNnp = 3, FltAtrCtlTsync = 4, FltAtrCtlLog = 6, FltAtrCtlSsb = 7;
}

/// <summary>struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; uint64 datum_a, datum_b; }</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ScmpArgCmp
{
    public uint Arg;
    public int Op;
    public ulong DatumA;
    public ulong DatumB;
}
