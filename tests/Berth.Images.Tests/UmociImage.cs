namespace Berth.Images.Tests;

/// <summary>
/// An image made outside Berth: umoci builds it from busybox-static in three layers (the third
/// removes a file and a directory, so it carries whiteouts), in an OCI layout on disk.
/// </summary>
public sealed class UmociImage : IDisposable
{
    private readonly TempDir _dir = new();
    public string Layout => Path.Combine(_dir.Path, "oci");
    public const string Tag = "v1";

    public UmociImage()
    {
        foreach (var tool in new[] { "umoci", "skopeo" })
            if (!TestProcess.Exists(tool)) throw new InvalidOperationException($"{tool} is not installed (listed in .ci/packages.txt)");
        if (!File.Exists("/bin/busybox")) throw new InvalidOperationException("/bin/busybox is missing (apt-get install busybox-static)");
        string bundle = Path.Combine(_dir.Path, "bundle");
        string rootfs = Path.Combine(bundle, "rootfs");
        TestProcess.Run("umoci", "init", "--layout", Layout);
        TestProcess.Run("umoci", "new", "--image", $"{Layout}:{Tag}");
        TestProcess.Run("umoci", "unpack", "--image", $"{Layout}:{Tag}", bundle);

        // Layer 1: busybox, a few links, files with owners and modes.
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin/busybox"));
        foreach (var applet in new[] { "sh", "ls", "cat", "echo" })
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        File.WriteAllText(Path.Combine(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n");
        File.WriteAllText(Path.Combine(rootfs, "etc/removeme"), "gone in layer 3\n");
        Directory.CreateDirectory(Path.Combine(rootfs, "var/cache/old"));
        File.WriteAllText(Path.Combine(rootfs, "var/cache/old/data"), "old cache\n");
        File.WriteAllText(Path.Combine(rootfs, "etc/secret"), "s\n");
        TestProcess.Run("chmod", "0600", Path.Combine(rootfs, "etc/secret"));
        TestProcess.Run("chown", "65534:65534", Path.Combine(rootfs, "etc/secret"));
        TestProcess.Run("umoci", "repack", "--refresh-bundle", "--image", $"{Layout}:{Tag}", bundle);

        // Layer 2: a setuid file, a hard link, a bigger file.
        File.WriteAllText(Path.Combine(rootfs, "bin/suid"), "#!/bin/sh\necho suid\n");
        TestProcess.Run("chmod", "4755", Path.Combine(rootfs, "bin/suid"));
        TestProcess.Run("ln", Path.Combine(rootfs, "etc/passwd"), Path.Combine(rootfs, "etc/passwd.hard"));
        var rnd = new Random(42);
        var blob = new byte[3 << 20];
        rnd.NextBytes(blob);
        File.WriteAllBytes(Path.Combine(rootfs, "var/random.bin"), blob);
        TestProcess.Run("umoci", "repack", "--refresh-bundle", "--image", $"{Layout}:{Tag}", bundle);

        // Layer 3: whiteouts (a file, a directory) and a changed file.
        File.Delete(Path.Combine(rootfs, "etc/removeme"));
        Directory.Delete(Path.Combine(rootfs, "var/cache/old"), true);
        File.AppendAllText(Path.Combine(rootfs, "etc/passwd"), "berth:x:1000:1000::/home/berth:/bin/sh\n");
        TestProcess.Run("umoci", "repack", "--refresh-bundle", "--image", $"{Layout}:{Tag}", bundle);
        TestProcess.Run("umoci", "config", "--image", $"{Layout}:{Tag}", "--config.cmd", "/bin/sh", "--config.env", "GREETING=hello",
            "--config.label", "org.example=berth");
    }

    /// <summary>umoci's own unpacking of the image, for comparison.</summary>
    public string Unpack(string into)
    {
        TestProcess.Run("umoci", "unpack", "--image", $"{Layout}:{Tag}", into);
        return Path.Combine(into, "rootfs");
    }

    public void PushTo(string registryHost, string repo) =>
        TestProcess.Run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", $"oci:{Layout}:{Tag}", $"docker://{registryHost}/{repo}");

    public void Dispose() => _dir.Dispose();
}
