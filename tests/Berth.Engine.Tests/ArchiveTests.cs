using System.Formats.Tar;
using System.Text;
using System.Text.Json;

namespace Berth.Engine.Tests;

/// <summary>docker cp, export, diff and commit through the real docker CLI against an isolated berthd.</summary>
public sealed class ArchiveTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly string _host = Directory.CreateTempSubdirectory("berth-archive-").FullName;
    private readonly List<string> _containers = [];

    public void Dispose()
    {
        foreach (var c in _containers) d.Docker("rm", "-f", c);
        Directory.Delete(_host, true);
    }

    private static void Ok((int Code, string Stdout, string Stderr) r) => DockerCliTests.Ok(r);

    private string Name()
    {
        string n = "a" + Guid.NewGuid().ToString("N")[..10];
        _containers.Add(n);
        return n;
    }

    /// <summary>A running container of the glibc image (exec needs it).</summary>
    private string Running()
    {
        string n = Name();
        Ok(d.Docker("run", "-d", "--name", n, "bbg", "sleep", "1000"));
        return n;
    }

    private string Exec(string c, string script)
    {
        var r = d.Docker("exec", c, "sh", "-c", script);
        Assert.True(r.Code == 0, $"exec {script}: {r.Stderr}");
        return r.Stdout;
    }

    private string HostFile(string rel, string content)
    {
        string p = Path.Combine(_host, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
        return p;
    }

    private static (int Code, byte[] Stdout, string Stderr) DockerBytes(DaemonFixture d, byte[]? stdin, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("docker") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DOCKER_HOST"] = d.DockerHost;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(d.Root, "docker-config");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var ms = new MemoryStream();
        var so = p.StandardOutput.BaseStream.CopyToAsync(ms);
        var se = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.BaseStream.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromSeconds(90))) { p.Kill(true); throw new TimeoutException("docker " + string.Join(' ', args)); }
        so.Wait();
        return (p.ExitCode, ms.ToArray(), se.Result);
    }

    private static Dictionary<string, (TarEntryType Type, string Data, int Uid, string Link)> ReadTar(byte[] tar)
    {
        var result = new Dictionary<string, (TarEntryType, string, int, string)>();
        using var r = new TarReader(new MemoryStream(tar));
        while (r.GetNextEntry() is { } e)
        {
            string data = "";
            if (e.DataStream is { } s) data = new StreamReader(s).ReadToEnd();
            result[e.Name] = (e.EntryType, data, e.Uid, e.LinkName);
        }
        return result;
    }

    private static byte[] Tar(params (string Name, TarEntryType Type, string DataOrLink)[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, type, x) in entries)
            {
                var e = new PaxTarEntry(type, name) { Mode = (UnixFileMode)0x1a4, ModificationTime = DateTimeOffset.UtcNow };
                if (type == TarEntryType.RegularFile) e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(x));
                else if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink) e.LinkName = x;
                w.WriteEntry(e);
            }
        }
        return ms.ToArray();
    }

    /// <summary>One request on its own connection (Connection: close), the whole response read.</summary>
    private string Http(string request)
    {
        using var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        s.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(d.Socket));
        s.ReceiveTimeout = 20000;
        int end = request.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        s.Send(Encoding.UTF8.GetBytes(request[..end] + "\r\nConnection: close" + request[end..]));
        var all = new MemoryStream();
        var buf = new byte[65536];
        int n;
        while ((n = s.Receive(buf)) > 0) all.Write(buf, 0, n);
        return Encoding.UTF8.GetString(all.ToArray());
    }

    private string[] MountsUnderRoot() =>
        File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(m => m.StartsWith(d.Root, StringComparison.Ordinal)).ToArray();

    [Fact]
    public void CopyFilesAndDirectoriesIntoAndOutOfARunningContainer()
    {
        string c = Running();
        string file = HostFile("a.txt", "hello\n");
        HostFile("dir/sub/f", "deep\n");
        Berth.Linux.Interop.LibC.chown(file, 1234, 1234);

        Ok(d.Docker("cp", file, $"{c}:/tmp/"));
        Assert.Equal("hello\n", Exec(c, "cat /tmp/a.txt"));
        // Without -a the file belongs to the container's root; with -a it keeps its owner.
        Assert.Equal("0:0\n", Exec(c, "stat -c %u:%g /tmp/a.txt"));
        Ok(d.Docker("cp", "-a", file, $"{c}:/tmp/kept.txt"));
        Assert.Equal("1234:1234\n", Exec(c, "stat -c %u:%g /tmp/kept.txt"));
        Ok(d.Docker("cp", file, $"{c}:/tmp/renamed.txt"));
        Assert.Equal("hello\n", Exec(c, "cat /tmp/renamed.txt"));
        Ok(d.Docker("cp", Path.Combine(_host, "dir"), $"{c}:/tmp/"));
        Assert.Equal("deep\n", Exec(c, "cat /tmp/dir/sub/f"));

        Exec(c, "mkdir -p /srv/out/x && echo from-container > /srv/out/x/y && ln -s x/y /srv/out/link");
        string outDir = Path.Combine(_host, "copied");
        Ok(d.Docker("cp", $"{c}:/srv/out", outDir));
        Assert.Equal("from-container\n", File.ReadAllText(Path.Combine(outDir, "x", "y")));
        Assert.Equal("x/y", new FileInfo(Path.Combine(outDir, "link")).LinkTarget);
        Ok(d.Docker("cp", $"{c}:/srv/out/x/y", Path.Combine(_host, "single")));
        Assert.Equal("from-container\n", File.ReadAllText(Path.Combine(_host, "single")));
        // -L follows a symlink (the stat header's linkTarget, resolved inside the container).
        Ok(d.Docker("cp", "-L", $"{c}:/srv/out/link", Path.Combine(_host, "followed")));
        Assert.Equal("from-container\n", File.ReadAllText(Path.Combine(_host, "followed")));
        Assert.Null(new FileInfo(Path.Combine(_host, "followed")).LinkTarget);

        // To stdout: a tar whose entry is named after the path.
        var tar = DockerBytes(d, null, "cp", $"{c}:/srv/out/x/y", "-");
        Assert.True(tar.Code == 0, tar.Stderr);
        var entries = ReadTar(tar.Stdout);
        Assert.Equal(["y"], entries.Keys);
        Assert.Equal("from-container\n", entries["y"].Data);
        var dirTar = ReadTar(DockerBytes(d, null, "cp", $"{c}:/srv/out", "-").Stdout);
        Assert.Contains("out/x/y", dirTar.Keys);
        Assert.Equal((TarEntryType.SymbolicLink, "x/y"), (dirTar["out/link"].Type, dirTar["out/link"].Link));

        // From stdin: the tar as given, into a directory.
        var put = DockerBytes(d, Tar(("in/piped.txt", TarEntryType.RegularFile, "piped\n")), "cp", "-", $"{c}:/tmp");
        Assert.True(put.Code == 0, put.Stderr);
        Assert.Equal("piped\n", Exec(c, "cat /tmp/in/piped.txt"));
    }

    [Fact]
    public void AStartRightAfterAnExitGetsTheWholeRoot()
    {
        // The previous run's shim used to unmount the rootfs path after it had told of the exit,
        // racing the next start's mount of the same path (the next init then saw an empty root).
        string c = Name();
        Ok(d.Docker("create", "--name", c, "bbg", "sh", "-c", "test -x /bin/sleep"));
        for (int i = 0; i < 8; i++)
        {
            var r = d.Docker("start", c);
            Assert.True(r.Code == 0, $"start {i}: {r.Stderr}");
            Assert.Equal("0", d.Docker("wait", c).Stdout.Trim());
        }
    }

    [Fact]
    public void CopyIntoAndOutOfAStoppedContainerMountsItOnlyForTheCopy()
    {
        string c = Name();
        Ok(d.Docker("create", "--name", c, "busybox", "cat", "/tmp/into-stopped.txt"));
        var before = MountsUnderRoot();
        Ok(d.Docker("cp", HostFile("into-stopped.txt", "stopped\n"), $"{c}:/tmp/"));
        Ok(d.Docker("cp", $"{c}:/tmp/into-stopped.txt", Path.Combine(_host, "back.txt")));
        Assert.Equal("stopped\n", File.ReadAllText(Path.Combine(_host, "back.txt")));
        Assert.Equal(before, MountsUnderRoot());
        var start = d.Docker("start", "-a", c);
        Assert.True(start.Code == 0, start.Stderr);
        Assert.Equal("stopped\n", start.Stdout);
        // and once it exited again
        Ok(d.Docker("cp", $"{c}:/tmp/into-stopped.txt", Path.Combine(_host, "again.txt")));
        Assert.Equal("stopped\n", File.ReadAllText(Path.Combine(_host, "again.txt")));
        Assert.Equal(before, MountsUnderRoot());
    }

    [Fact]
    public void CopyOfAStoppedContainerGoesIntoItsVolumes()
    {
        string vol = Path.Combine(_host, "vol");
        Directory.CreateDirectory(vol);
        File.WriteAllText(Path.Combine(vol, "there.txt"), "in the volume\n");
        string ro = Path.Combine(_host, "ro");
        Directory.CreateDirectory(ro);
        string c = Name();
        Ok(d.Docker("create", "--name", c, "-v", $"{vol}:/data", "-v", $"{ro}:/data/ro:ro", "busybox", "true"));
        var before = MountsUnderRoot();
        Ok(d.Docker("cp", HostFile("to-volume.txt", "to the volume\n"), $"{c}:/data/"));
        Assert.Equal("to the volume\n", File.ReadAllText(Path.Combine(vol, "to-volume.txt")));
        var read = DockerBytes(d, null, "cp", $"{c}:/data/there.txt", "-");
        Assert.True(read.Code == 0, read.Stderr);
        Assert.Equal("in the volume\n", ReadTar(read.Stdout)["there.txt"].Data);
        var intoRo = d.Docker("cp", HostFile("ro.txt", "x"), $"{c}:/data/ro/");
        Assert.NotEqual(0, intoRo.Code);
        Assert.Contains("read-only", intoRo.Stderr);
        Assert.False(File.Exists(Path.Combine(ro, "ro.txt")));
        Assert.Equal(before, MountsUnderRoot());

        // A running container's volumes are seen through its own mounts.
        string r = Name();
        Ok(d.Docker("run", "-d", "--name", r, "-v", $"{vol}:/live", "bbg", "sleep", "1000"));
        Ok(d.Docker("cp", HostFile("live.txt", "live\n"), $"{r}:/live/"));
        Assert.Equal("live\n", File.ReadAllText(Path.Combine(vol, "live.txt")));
        Assert.Equal("to the volume\n", ReadTar(DockerBytes(d, null, "cp", $"{r}:/live/to-volume.txt", "-").Stdout)["to-volume.txt"].Data);
    }

    [Fact]
    public void ASymlinkInTheContainerNeverLeadsCopyToTheHost()
    {
        string marker = "berth-escape-" + Guid.NewGuid().ToString("N")[..8];
        string c = Running();
        Exec(c, "ln -s / /tmp/evil && ln -s ../../../../../../../ /tmp/up && echo container-passwd > /etc/passwd.test");
        string file = HostFile(marker, "payload\n");

        // Writes through the links land in the container's /etc, never the host's.
        Ok(d.Docker("cp", file, $"{c}:/tmp/evil/etc/"));
        Ok(d.Docker("cp", file, $"{c}:/tmp/up/etc/{marker}.2"));
        Assert.False(File.Exists("/etc/" + marker), "cp wrote the host's /etc");
        Assert.False(File.Exists($"/etc/{marker}.2"), "cp wrote the host's /etc");
        Assert.Equal("payload\npayload\n", Exec(c, $"cat /etc/{marker} /etc/{marker}.2"));

        // Reads through the links read the container's files; the host's /etc/shadow is not there.
        var read = DockerBytes(d, null, "cp", $"{c}:/tmp/evil/etc/passwd.test", "-");
        Assert.True(read.Code == 0, read.Stderr);
        Assert.Equal("container-passwd\n", ReadTar(read.Stdout)["passwd.test"].Data);
        Assert.True(File.Exists("/etc/shadow"));
        var shadow = DockerBytes(d, null, "cp", $"{c}:/tmp/evil/etc/shadow", "-");
        Assert.NotEqual(0, shadow.Code);
        Assert.Contains("Could not find the file /tmp/evil/etc/shadow in container", shadow.Stderr);
        var up = DockerBytes(d, null, "cp", $"{c}:/tmp/up/etc/shadow", "-");
        Assert.Contains("Could not find the file", up.Stderr);

        // The same in a stopped container (its snapshot mounted for the copy).
        Ok(d.Docker("stop", "-t", "0", c));
        Ok(d.Docker("cp", file, $"{c}:/tmp/evil/etc/{marker}.3"));
        Assert.False(File.Exists($"/etc/{marker}.3"), "cp wrote the host's /etc");
        Assert.Contains("Could not find the file", DockerBytes(d, null, "cp", $"{c}:/tmp/evil/etc/shadow", "-").Stderr);
        var viaUp = DockerBytes(d, null, "cp", $"{c}:/tmp/up/etc/{marker}.3", "-");
        Assert.True(viaUp.Code == 0, viaUp.Stderr);
        var viaUpTar = ReadTar(viaUp.Stdout);
        Assert.True(viaUpTar.ContainsKey(marker + ".3"), "entries: " + string.Join(", ", viaUpTar.Keys));
        Assert.Equal("payload\n", viaUpTar[marker + ".3"].Data);
    }

    [Fact]
    public void TarEntriesFromTheClientStayInsideTheDestination()
    {
        string marker = "berth-tar-" + Guid.NewGuid().ToString("N")[..8];
        string c = Running();
        Exec(c, "mkdir /dst");

        // ../ climbing out is refused.
        var climb = DockerBytes(d, Tar(($"../../../../../../../tmp/{marker}", TarEntryType.RegularFile, "x")), "cp", "-", $"{c}:/dst");
        Assert.NotEqual(0, climb.Code);
        Assert.Contains("outside", climb.Stderr);
        Assert.False(File.Exists($"/tmp/{marker}"));

        // An absolute name is taken relative to the destination.
        Ok(DockerText(DockerBytes(d, Tar(($"/tmp/{marker}.abs", TarEntryType.RegularFile, "abs\n")), "cp", "-", $"{c}:/dst")));
        Assert.False(File.Exists($"/tmp/{marker}.abs"));
        Assert.Equal("abs\n", Exec(c, $"cat /dst/tmp/{marker}.abs"));

        // A symlink to / and then a file through it: the link resolves inside the destination.
        Ok(DockerText(DockerBytes(d, Tar(("root", TarEntryType.SymbolicLink, "/"), ("up", TarEntryType.SymbolicLink, "../../../../.."),
            ($"root/tmp/{marker}.sym", TarEntryType.RegularFile, "sym\n"), ($"up/tmp/{marker}.up", TarEntryType.RegularFile, "up\n")), "cp", "-", $"{c}:/dst")));
        Assert.False(File.Exists($"/tmp/{marker}.sym"));
        Assert.False(File.Exists($"/tmp/{marker}.up"));
        Assert.Equal("sym\nup\n", Exec(c, $"cat /dst/tmp/{marker}.sym /dst/tmp/{marker}.up"));

        // A hard link to a host file is looked up inside the destination too.
        var hard = DockerBytes(d, Tar(("shadow-link", TarEntryType.HardLink, "/etc/shadow")), "cp", "-", $"{c}:/dst");
        Assert.NotEqual(0, hard.Code);
        Assert.Contains("not found", hard.Stderr);
        Assert.Equal("absent\n", Exec(c, "test -e /dst/shadow-link && echo present || echo absent"));
    }

    private static (int, string, string) DockerText((int Code, byte[] Stdout, string Stderr) r) => (r.Code, Encoding.UTF8.GetString(r.Stdout), r.Stderr);

    [Fact]
    public void CopyBadInputGetsDockersErrors()
    {
        string c = Running();
        var missing = d.Docker("cp", $"{c}:/nonexistent", Path.Combine(_host, "x"));
        Assert.NotEqual(0, missing.Code);
        Assert.Contains($"Could not find the file /nonexistent in container {c}", missing.Stderr);
        var noParent = d.Docker("cp", HostFile("p.txt", "p"), $"{c}:/no/such/dir/p.txt");
        Assert.NotEqual(0, noParent.Code);
        Assert.Contains($"Could not find the file /no/such/dir in container {c}", noParent.Stderr);
        Assert.Contains("No such container: nosuchcontainer", d.Docker("cp", HostFile("q.txt", "q"), "nosuchcontainer:/tmp/q.txt").Stderr);

        Exec(c, "mkdir /tmp/st && chmod 1777 /tmp/st");
        var head = d.Raw($"HEAD /v1.51/containers/{c}/archive?path=%2Ftmp%2Fst%2F HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Contains("200 OK", head);
        string stat = head.Split("\r\n").First(l => l.StartsWith("X-Docker-Container-Path-Stat:", StringComparison.OrdinalIgnoreCase)).Split(':', 2)[1].Trim();
        using var doc = JsonDocument.Parse(Convert.FromBase64String(stat));
        Assert.Equal("st", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal(0x801001ffu, doc.RootElement.GetProperty("mode").GetUInt32()); // dir + sticky + 0777, as Go's FileMode
        Assert.Contains("404 Not Found", d.Raw($"HEAD /containers/{c}/archive?path=/nope HTTP/1.1\r\nHost: x\r\n\r\n"));

        string garbage = new string('z', 2000);
        var notTar = Http($"PUT /containers/{c}/archive?path=/tmp HTTP/1.1\r\nHost: x\r\nContent-Length: {garbage.Length}\r\n\r\n{garbage}");
        Assert.Contains("400 Bad Request", notTar);
        Assert.True(notTar.Contains("not a tar archive"), notTar);
        var intoFile = Http($"PUT /containers/{c}/archive?path=/etc/passwd HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n{new string('\0', 1024)}");
        Assert.Contains("400 Bad Request", intoFile);
        Assert.Contains("not a directory", intoFile);
        Assert.Contains("Path cannot be empty", Http($"GET /containers/{c}/archive HTTP/1.1\r\nHost: x\r\n\r\n"));
        // The kernel's files in a running container (/proc, /sys) are not copied either way.
        Assert.Contains("Could not find the file /proc/1/environ", d.Docker("cp", $"{c}:/proc/1/environ", Path.Combine(_host, "env")).Stderr);
        Assert.Contains("Could not find the file /sys/kernel/", d.Docker("cp", $"{c}:/sys/kernel/", Path.Combine(_host, "sys")).Stderr);
        var intoProc = d.Docker("cp", HostFile("pr.txt", "p"), $"{c}:/proc/pr.txt");
        Assert.NotEqual(0, intoProc.Code);
        Assert.Contains("kernel filesystem", intoProc.Stderr);
        // A directory is not replaced by a file (the CLI always asks noOverwriteDirNonDir).
        Exec(c, "mkdir -p /tmp/isdir/x");
        var over = DockerBytes(d, Tar(("isdir", TarEntryType.RegularFile, "f")), "cp", "-", $"{c}:/tmp");
        Assert.NotEqual(0, over.Code);
        Assert.Contains("cannot overwrite directory", over.Stderr);
        Assert.Equal("dir\n", Exec(c, "test -d /tmp/isdir/x && echo dir"));
    }

    [Fact]
    public void ExportWritesTheContainersFilesystem()
    {
        string c = Name();
        Ok(d.Docker("run", "--name", c, "busybox", "sh", "-c", "echo exported > /root/e.txt"));
        var export = DockerBytes(d, null, "export", c);
        Assert.True(export.Code == 0, export.Stderr);
        var entries = ReadTar(export.Stdout);
        Assert.Equal("exported\n", entries["root/e.txt"].Data);
        Assert.Equal(TarEntryType.RegularFile, entries["bin/busybox"].Type);
        Assert.Equal((TarEntryType.SymbolicLink, "busybox"), (entries["bin/sh"].Type, entries["bin/sh"].Link));
        Assert.StartsWith("root:x:0:0", entries["etc/passwd"].Data);
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("proc/", StringComparison.Ordinal) && k != "proc/");
        Assert.Contains("No such container: nosuch", d.Docker("export", "nosuch").Stderr);

        // A running container: its overlay root as the shim mounted it, hard links kept as links.
        string r = Running();
        Exec(r, "echo hard > /root/h1 && ln /root/h1 /root/h2");
        var live = ReadTar(DockerBytes(d, null, "export", r).Stdout);
        Assert.Equal("hard\n", live["root/h1"].Data);
        Assert.Equal((TarEntryType.HardLink, "root/h1"), (live["root/h2"].Type, live["root/h2"].Link));
        Assert.Equal("", live["etc/hosts"].Data); // the mount point, not the daemon's hosts file (as docker's export)
        Assert.DoesNotContain(live.Keys, k => k.StartsWith("proc/", StringComparison.Ordinal) && k != "proc/");
    }

    [Fact]
    public void DiffShowsTheWritableLayerWithoutTheRuntimesMountPoints()
    {
        string n = Name();
        Ok(d.Docker("run", "--name", n, "busybox", "sh", "-c", "mkdir /tmp/newdir && echo x > /tmp/newdir/f && rm /bin/vi"));
        var diff = d.Docker("diff", n);
        Assert.True(diff.Code == 0, diff.Stderr);
        Assert.Contains("C /tmp\n", diff.Stdout);
        Assert.Contains("A /tmp/newdir\n", diff.Stdout);
        Assert.Contains("A /tmp/newdir/f\n", diff.Stdout);
        Assert.Contains("D /bin/vi\n", diff.Stdout);
        Assert.Contains("C /bin\n", diff.Stdout);
        foreach (var hidden in new[] { "/etc", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev", "/proc", "/sys" })
            Assert.DoesNotContain($" {hidden}\n", diff.Stdout);
        Assert.Equal(5, diff.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Ok(d.Docker("rm", n));
        // The container started right after a diff gets its whole image (once it did not).
        var after = d.Docker("run", "--rm", "bbg", "sh", "-c", "test -x /bin/sleep && test -e /bin/vi && echo whole");
        Assert.True(after.Code == 0, after.Stderr);
        Assert.Equal("whole\n", after.Stdout);
    }

    [Fact]
    public void CommitMakesAnImageOfTheContainersChanges()
    {
        string c = Name();
        string repo = "committed" + Guid.NewGuid().ToString("N")[..6];
        const string script = "echo committed > /new.txt && rm /etc/group && mkdir /opq && touch /opq/old1 /opq/old2";
        Ok(d.Docker("run", "--name", c, "bbg", "sh", "-c", script));
        var commit = d.Docker("commit", "-m", "a message", "-a", "someone", "-c", "CMD [\"cat\", \"/new.txt\"]", "-c", "ENV FOO=bar", c, repo + ":v1");
        Assert.True(commit.Code == 0, commit.Stderr);
        Assert.StartsWith("sha256:", commit.Stdout.Trim());

        var run = d.Docker("run", "--rm", repo + ":v1");
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Equal("committed\n", run.Stdout);
        var check = d.Docker("run", "--rm", repo + ":v1", "sh", "-c", "test -e /etc/group && echo present || echo gone; test -e /etc/passwd && echo kept; echo $FOO; ls /opq");
        Assert.Equal("gone\nkept\nbar\nold1\nold2\n", check.Stdout);

        var inspect = d.Docker("inspect", "-f", "{{json .Config.Cmd}} {{json .Config.Env}} {{.Comment}} {{.Author}} {{len .RootFS.Layers}}", repo + ":v1");
        Assert.True(inspect.Code == 0, inspect.Stderr);
        Assert.Contains("[\"cat\",\"/new.txt\"]", inspect.Stdout);
        Assert.Contains("FOO=bar", inspect.Stdout);
        Assert.EndsWith("a message someone 2", inspect.Stdout.Trim());

        // A directory removed and made again is opaque in the overlay layer: the next image holds only its new content.
        string c2 = Name();
        Ok(d.Docker("run", "--name", c2, repo + ":v1", "sh", "-c", "rm -rf /opq && mkdir /opq && touch /opq/new"));
        Ok(d.Docker("commit", c2, repo + ":v2"));
        Assert.Equal("new\n", d.Docker("run", "--rm", repo + ":v2", "ls", "/opq").Stdout);
        Assert.Equal("3", d.Docker("inspect", "-f", "{{len .RootFS.Layers}}", repo + ":v2").Stdout.Trim());

        var history = d.Docker("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", repo + ":v1");
        Assert.True(history.Code == 0, history.Stderr);
        var rows = history.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, rows.Length);
        Assert.Equal($"sh -c {script}|a message", rows[0]);
    }

    [Fact]
    public void CommitOfARunningContainerPausesItOnlyMeanwhile()
    {
        string c = Running();
        Exec(c, "echo live > /live.txt");
        string repo = "live" + Guid.NewGuid().ToString("N")[..6];
        Ok(d.Docker("commit", c, repo));
        Assert.Equal("running", d.Docker("inspect", "-f", "{{.State.Status}}", c).Stdout.Trim());
        var run = d.Docker("run", "--rm", repo, "cat", "/live.txt");
        Assert.Equal("live\n", run.Stdout);
        // The image keeps the container's command.
        Assert.Equal("[\"sleep\",\"1000\"]", d.Docker("inspect", "-f", "{{json .Config.Cmd}}", repo).Stdout.Trim());
    }

    [Fact]
    public void CommitBadInputGetsDockersErrors()
    {
        var unknown = d.Docker("commit", "nosuchcontainer", "x:y");
        Assert.NotEqual(0, unknown.Code);
        Assert.Contains("No such container: nosuchcontainer", unknown.Stderr);
        Assert.Contains("404 Not Found", d.Raw("POST /commit?container=nosuchcontainer HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));

        string c = Name();
        Ok(d.Docker("create", "--name", c, "busybox", "true"));
        var badChange = d.Docker("commit", "-c", "BOGUS x", c, "willnotexist:v1");
        Assert.NotEqual(0, badChange.Code);
        Assert.Contains("BOGUS is not a supported instruction", badChange.Stderr);
        Assert.Contains("400 Bad Request", Http($"POST /commit?container={c}&changes=EXPOSE+notaport HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        Assert.Contains("invalid reference format", Http($"POST /commit?container={c}&repo=Bad%20Repo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        Assert.DoesNotContain("willnotexist", d.Docker("images").Stdout);
    }
}
