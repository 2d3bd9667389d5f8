using System.Text.Json;
using Berth.Oci;
using Berth.Oci.Defaults;
using Berth.Oci.Runtime;

namespace Berth.Integration.Tests.Support;

/// <summary>
/// An OCI bundle in a temp directory: a rootfs made from Debian's busybox-static and the
/// config `runc spec` would write, ready to be changed by a test before <see cref="Write"/>.
/// </summary>
public sealed class BusyboxBundle : IDisposable
{
    public const string Busybox = "/bin/busybox";
    private static readonly string[] Applets =
    {
        "sh", "true", "false", "echo", "cat", "ls", "id", "hostname", "sleep", "grep", "mkdir", "dd", "readlink",
        "seq", "head", "wc", "stat", "touch", "env", "pwd", "ps", "mount", "test", "[", "kill", "tr",
    };

    public string Dir { get; }
    public string Rootfs => Path.Combine(Dir, "rootfs");
    public Spec Spec { get; }

    public BusyboxBundle(params string[] args)
    {
        if (!File.Exists(Busybox)) throw new InvalidOperationException("busybox-static is not installed (/bin/busybox); apt-get install busybox-static");
        Dir = Directory.CreateTempSubdirectory("berth-bundle-").FullName;
        File.SetUnixFileMode(Dir, (UnixFileMode)0x1ed); // 0755: a user namespace must be able to reach the rootfs
        foreach (var d in new[] { "bin", "proc", "sys", "dev", "tmp", "etc", "root" })
            Directory.CreateDirectory(Path.Combine(Rootfs, d));
        File.SetUnixFileMode(Rootfs, (UnixFileMode)0x1ed);
        File.Copy(Busybox, Path.Combine(Rootfs, "bin", "busybox"));
        foreach (var a in Applets) File.CreateSymbolicLink(Path.Combine(Rootfs, "bin", a), "busybox");
        File.WriteAllText(Path.Combine(Rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        File.WriteAllText(Path.Combine(Rootfs, "etc", "group"), "root:x:0:\nnobody:x:65534:\n");
        Spec = RuncDefaults.Spec(false);
        Spec.Process!.Terminal = false;
        Spec.Process.Args = args.Length > 0 ? args.ToList() : new List<string> { "/bin/true" };
    }

    /// <summary>Runs a shell script as the container's process.</summary>
    public BusyboxBundle Script(string script)
    {
        Spec.Process!.Args = new List<string> { "/bin/sh", "-c", script };
        return this;
    }

    public string Write()
    {
        File.WriteAllBytes(Path.Combine(Dir, "config.json"), JsonSerializer.SerializeToUtf8Bytes(Spec, OciJsonContext.Default.Spec));
        return Dir;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
