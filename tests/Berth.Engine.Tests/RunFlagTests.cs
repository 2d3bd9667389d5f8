using System.Text;

namespace Berth.Engine.Tests;

/// <summary>
/// docker's run flags through the real docker CLI against an isolated berthd, each checked from
/// inside the container (/proc/self/status, cgroup files, /etc files, mount, ulimit, ps).
/// </summary>
public sealed class RunFlagTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private static string Name() => "rf" + Guid.NewGuid().ToString("N")[..10];

    private string Run(params string[] args)
    {
        var r = d.Docker(["run", "--rm", .. args]);
        Assert.True(r.Code == 0, $"docker run {string.Join(' ', args)}: exit {r.Code}: {r.Stderr}");
        return r.Stdout;
    }

    private static string Field(string status, string key) =>
        status.Split('\n').First(l => l.StartsWith(key + ":", StringComparison.Ordinal))[(key.Length + 1)..].Trim();

    [Fact]
    public void SettingsBerthdDoesNotCarryOutAreWarnedAboutNotDropped()
    {
        var r = d.Docker("run", "--rm", "-p", "127.0.0.1::80", "-p", "127.0.0.1:18082:81/udp", "--memory-swappiness", "10", "--cgroupns", "private", "busybox", "true");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Contains("WARNING: published port 81/udp: only TCP ports are published by berthd, ignored.", r.Stderr);
        Assert.DoesNotContain("80/tcp", r.Stderr); // TCP ports are published (NetworkTests)
        Assert.Contains("WARNING: memory swappiness (--memory-swappiness): not supported by berthd yet, ignored.", r.Stderr);
        Assert.Contains("WARNING: cgroup namespace mode \"private\" (--cgroupns)", r.Stderr);
        // docker's zero values (every field the CLI sends) warn about nothing
        var plain = d.Docker("run", "--rm", "busybox", "true");
        Assert.True(plain.Code == 0, plain.Stderr);
        Assert.DoesNotContain("WARNING", plain.Stderr);
    }

    [Fact]
    public void DevicesAreMadeAndAllowedWithTheirPermissionsAndCgroupRules()
    {
        // a host device under another name, usable
        Assert.Equal("c 1 3\nok\n", Run("--device", "/dev/null:/dev/mynull", "busybox", "sh", "-c",
            "stat -c '%F' /dev/mynull | grep -q character && echo \"c $(stat -c '%t %T' /dev/mynull | awk '{printf \"%d %d\", \"0x\"$1, \"0x\"$2}')\"; echo x > /dev/mynull && echo ok"));
        // the permissions reach the device cgroup: a block device (not one of docker's defaults) mapped
        // "r" opens for reading only, "rw" for writing too
        const string open = "true < /dev/l && echo canread; (true > /dev/l) 2>/dev/null && echo canwrite || echo refused";
        Assert.Equal("canread\nrefused\n", Run("--device", "/dev/loop0:/dev/l:r", "busybox", "sh", "-c", open));
        Assert.Equal("canread\ncanwrite\n", Run("--device", "/dev/loop0:/dev/l:rw", "busybox", "sh", "-c", open));
        // a directory of devices keeps its layout below the container path
        string dir = Path.Combine(d.Root, "devdir-" + Name());
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        Assert.Equal(0, d.Run("mknod", Path.Combine(dir, "a"), "c", "1", "3").Code);
        Assert.Equal(0, d.Run("mknod", Path.Combine(dir, "sub", "b"), "c", "1", "5").Code);
        File.WriteAllText(Path.Combine(dir, "not-a-device"), "");
        Assert.Equal("/dev/mine/a\n/dev/mine/sub/b\n", Run("--device", dir + ":/dev/mine", "busybox", "sh", "-c", "find /dev/mine -type c | sort"));
        // --device-cgroup-rule: a node made in the container may be written only with a rule for it
        // (b 7:0, loop0: opened, never written to)
        const string script = "mknod /tmp/n b 7 0 && ((true > /tmp/n) 2>/dev/null && echo opened || echo refused)";
        Assert.Equal("refused\n", Run("busybox", "sh", "-c", script));
        Assert.Equal("opened\n", Run("--device-cgroup-rule", "b 7:0 rw", "busybox", "sh", "-c", script));
        // bad input: one line, a non-zero exit, nothing created
        var missing = d.Docker("run", "--rm", "--name", "nodev" + Name(), "--device", "/dev/does-not-exist", "busybox", "true");
        Assert.Equal(127, missing.Code); // the docker CLI's code for an error that says "no such file or directory"
        Assert.Contains("error gathering device information while adding custom device \"/dev/does-not-exist\"", missing.Stderr);
        var notDevice = d.Docker("run", "--rm", "--device", Path.Combine(dir, "not-a-device") + ":/dev/x", "busybox", "true");
        Assert.Equal(125, notDevice.Code);
        Assert.Contains("not a device node", notDevice.Stderr);
        var badRule = d.Docker("run", "--rm", "--device-cgroup-rule", "x 1:3 rw", "busybox", "true");
        Assert.Equal(125, badRule.Code);
        Assert.Contains("invalid device cgroup format", badRule.Stderr); // the docker CLI checks it first; the daemon too:
        string body = "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":{\"DeviceCgroupRules\":[\"x 1:3 rw\"]}}";
        var raw = d.Raw($"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        Assert.Contains("400 Bad Request", raw);
        Assert.Contains("invalid device cgroup rule", raw);
        Assert.Contains("x 1:3 rw", raw);
        Assert.DoesNotContain("nodev", d.Docker("ps", "-a", "--format", "{{.Names}}").Stdout);
    }

    [Fact]
    public void AddHostDnsAndHostnameReachTheEtcFiles()
    {
        var o = Run("--add-host", "foo:1.2.3.4", "--add-host", "gw:host-gateway", "--dns", "9.9.9.9", "--dns-search", "example.com",
            "--dns-option", "ndots:2", "--hostname", "box1", "busybox", "sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname");
        var parts = o.Split("---\n");
        Assert.Contains("1.2.3.4\tfoo\n", parts[0]);
        Assert.Matches(@"\n\d+\.\d+\.\d+\.\d+\tgw\n", parts[0]); // host-gateway became an address
        Assert.Contains("127.0.1.1\tbox1\n", parts[0]);
        Assert.Contains("nameserver 9.9.9.9\n", parts[1]);
        Assert.Contains("search example.com\n", parts[1]);
        Assert.Contains("options ndots:2\n", parts[1]);
        Assert.Equal("box1", parts[2].Trim());
    }

    [Fact]
    public void ReadOnlyRootAndTmpfsWithOptions()
    {
        var o = Run("--read-only", "--tmpfs", "/run:rw,size=64k,mode=1770", "--tmpfs", "/scratch:exec", "busybox", "sh", "-c",
            "touch /x 2>&1; touch /run/ok && echo run-writable; mount | grep -E ' /run | /scratch '; stat -c %a /run");
        Assert.Contains("Read-only file system", o);
        Assert.Contains("run-writable", o);
        var run = o.Split('\n').First(l => l.Contains(" /run "));
        Assert.Contains("size=64k", run);
        Assert.Contains("mode=1770", run);
        Assert.Contains("noexec", run);
        var scratch = o.Split('\n').First(l => l.Contains(" /scratch "));
        Assert.DoesNotContain("noexec", scratch); // exec overrides docker's default noexec
        Assert.Contains("nosuid", scratch);
        Assert.Equal("1770", o.Trim().Split('\n')[^1]);
    }

    [Fact]
    public void CapabilitiesAddDropAndAll()
    {
        Assert.Equal("0000000000000000", Field(Run("--cap-drop", "ALL", "busybox", "cat", "/proc/self/status"), "CapEff"));
        ulong onlyNetAdmin = Convert.ToUInt64(Field(Run("--cap-drop", "ALL", "--cap-add", "net_admin", "busybox", "cat", "/proc/self/status"), "CapEff"), 16);
        Assert.Equal(1UL << 12, onlyNetAdmin);
        ulong bounding = Convert.ToUInt64(Field(File.ReadAllText("/proc/self/status"), "CapBnd"), 16);
        ulong all = Convert.ToUInt64(Field(Run("--cap-add", "ALL", "--cap-drop", "chown", "busybox", "cat", "/proc/self/status"), "CapEff"), 16);
        Assert.Equal(bounding & ~1UL, all); // every capability the daemon holds, but CAP_CHOWN
        ulong tweaked = Convert.ToUInt64(Field(Run("--cap-add", "SYS_ADMIN", "--cap-drop", "CAP_CHOWN", "busybox", "cat", "/proc/self/status"), "CapEff"), 16);
        Assert.Equal(0xa80425fbUL & ~1UL | 1UL << 21, tweaked);
    }

    [Fact]
    public void PrivilegedHasEveryCapabilityEveryDeviceNoSeccompAndWritableSys()
    {
        ulong bounding = Convert.ToUInt64(Field(File.ReadAllText("/proc/self/status"), "CapBnd"), 16);
        var o = Run("--privileged", "busybox", "sh", "-c", "cat /proc/self/status; echo ---; mount; echo ---; ls /dev");
        var parts = o.Split("---\n");
        Assert.Equal(bounding, Convert.ToUInt64(Field(parts[0], "CapEff"), 16));
        Assert.Equal("0", Field(parts[0], "Seccomp"));
        Assert.Matches(@"sysfs on /sys type sysfs \(rw", parts[1]);
        var devs = parts[2].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var hostChar = Directory.GetFiles("/dev").Select(Path.GetFileName).Where(n => n is "tty0" or "loop0" or "kmsg" or "mem").ToList();
        Assert.NotEmpty(hostChar);
        foreach (var n in hostChar) Assert.Contains(n, devs);
        var plain = Run("busybox", "ls", "/dev").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("kmsg", plain);
        Assert.True(devs.Length > plain.Length + 5, $"{devs.Length} devices privileged, {plain.Length} without");
    }

    [Fact]
    public void SecurityOptsSeccompAndNoNewPrivileges()
    {
        var def = Run("busybox", "cat", "/proc/self/status");
        Assert.Equal("2", Field(def, "Seccomp"));
        Assert.Equal("0", Field(def, "NoNewPrivs"));
        var unconfined = Run("--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges", "busybox", "cat", "/proc/self/status");
        Assert.Equal("0", Field(unconfined, "Seccomp"));
        Assert.Equal("1", Field(unconfined, "NoNewPrivs"));
        string profile = Path.Combine(d.Root, "deny-mkdir.json");
        File.WriteAllText(profile, """{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}""");
        var r = d.Docker("run", "--rm", "--security-opt", "seccomp=" + profile, "busybox", "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /newdir && echo made");
        Assert.Contains("Operation not permitted", r.Stderr);
        Assert.DoesNotContain("made", r.Stdout);
        Assert.Contains("2", r.Stdout);
    }

    [Fact]
    public void UlimitsAreSetLowerThanTheDaemons()
    {
        var o = Run("--ulimit", "nofile=512:1024", "--ulimit", "nproc=300", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u");
        Assert.Equal(["512", "1024", "300"], o.Trim().Split('\n'));
    }

    [Fact]
    public void InitIsPid1ForwardsSignalsAndReapsOrphans()
    {
        var ps = Run("--init", "busybox", "ps", "-o", "pid,args");
        Assert.Matches(@"\n\s*1 /sbin/docker-init -- ps", ps);
        Assert.DoesNotContain("docker-init", Run("busybox", "ps", "-o", "pid,args"));
        // An orphan (a backgrounded subshell's child) is reparented to PID 1; the init must reap it.
        var reap = Run("--init", "busybox", "sh", "-c",
            "(sleep 0.2 &); i=0; while [ $i -lt 200 ]; do if ! ps -o stat,args | grep -v grep | grep -q -e '^Z' -e 'sleep 0.2'; then echo reaped; exit 0; fi; sleep 0.1; i=$((i+1)); done; ps -o pid,stat,args; exit 1");
        Assert.Equal("reaped\n", reap);
        // SIGTERM from docker stop reaches the command (sleep, not PID 1, dies of it: 128+15); a lost
        // signal would end in SIGKILL after the 60 s timeout instead (137).
        string n = Name();
        DockerCliTests.Ok(d.Docker("run", "-d", "--init", "--name", n, "busybox", "sleep", "1000"));
        DockerCliTests.Ok(d.Docker("stop", "-t", "60", n));
        Assert.Equal("143", d.Docker("inspect", "-f", "{{.State.ExitCode}}", n).Stdout.Trim());
        // the command's own exit code passes through
        Assert.Equal(7, d.Docker("run", "--rm", "--init", "busybox", "sh", "-c", "exit 7").Code);
        DockerCliTests.Ok(d.Docker("rm", n));
    }

    [Fact]
    public void PidHostSeesTheHostsProcesses()
    {
        string hostInit = File.ReadAllText("/proc/1/comm").Trim();
        Assert.Equal(hostInit, Run("--pid", "host", "busybox", "cat", "/proc/1/comm").Trim());
        Assert.Equal("cat", Run("busybox", "cat", "/proc/1/comm").Trim());
    }

    [Fact]
    public void NetworkNoneHasOnlyLoopbackUpAndHostSharesTheHostsFiles()
    {
        var none = Run("--network", "none", "busybox", "ip", "-o", "link");
        var links = none.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(links);
        Assert.Contains("lo:", links[0]);
        Assert.Contains("UP", links[0]);
        Assert.Contains("inet 127.0.0.1/8", Run("--network", "none", "busybox", "ip", "addr", "show", "lo"));
        var host = Run("--network", "host", "--add-host", "extra:10.1.2.3", "busybox", "sh", "-c", "hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; ip -o link | wc -l");
        var p = host.Split("---\n");
        Assert.Equal(Environment.MachineName, p[0].Trim());
        Assert.StartsWith(File.ReadAllText("/etc/hosts").TrimEnd(), p[1]);
        Assert.Contains("10.1.2.3\textra", p[1]);
        foreach (var ns in File.ReadAllLines("/etc/resolv.conf").Where(l => l.StartsWith("nameserver", StringComparison.Ordinal)))
            Assert.Contains(ns, p[2]);
        int hostLinks = Directory.GetDirectories("/sys/class/net").Length;
        Assert.Equal(hostLinks.ToString(), p[3].Trim());
    }

    [Fact]
    public void ResourceFlagsReachTheCgroupFiles()
    {
        var mem = Run("--memory", "100m", "--memory-swap", "300m", "--memory-reservation", "50m", "--oom-kill-disable", "busybox", "sh", "-c",
            "cd /sys/fs/cgroup/memory; cat memory.limit_in_bytes memory.memsw.limit_in_bytes memory.soft_limit_in_bytes; grep oom_kill_disable memory.oom_control");
        Assert.Equal(["104857600", "314572800", "52428800", "oom_kill_disable 1"], mem.Trim().Split('\n'));
        // --memory alone: docker's default swap is as much again (memsw = 2x)
        Assert.Equal("209715200", Run("--memory", "100m", "busybox", "cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").Trim());
        var cpu = Run("--cpus", "1.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "100", "--blkio-weight", "300", "busybox", "sh", "-c",
            "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/pids/pids.max; cat /sys/fs/cgroup/blkio/blkio.bfq.weight 2>/dev/null || cat /sys/fs/cgroup/blkio/blkio.weight");
        var l = cpu.Trim().Split('\n');
        Assert.Equal(["150000", "100000", "512", "0", "100"], l[..5]);
        Assert.Contains("300", l[5]);
    }

    [Fact]
    public void BindMountsReadOnlyReadWriteAndMissingSources()
    {
        string rw = Path.Combine(d.Root, "rw-" + Name()), ro = Path.Combine(d.Root, "ro-" + Name()), missing = Path.Combine(d.Root, "new-" + Name(), "sub");
        Directory.CreateDirectory(rw);
        Directory.CreateDirectory(ro);
        File.WriteAllText(Path.Combine(ro, "f"), "x");
        var r = d.Docker("run", "--rm", "-v", $"{rw}:/rw", "-v", $"{ro}:/ro:ro", "-v", $"{missing}:/new", "busybox", "sh", "-c",
            "echo hi > /rw/out && echo rw-ok; cat /ro/f; touch /ro/g; touch /new/n && echo new-ok");
        Assert.Contains("rw-ok", r.Stdout);
        Assert.Contains("Read-only file system", r.Stderr);
        Assert.Contains("new-ok", r.Stdout);
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(rw, "out")));
        Assert.False(File.Exists(Path.Combine(ro, "g")));
        Assert.True(File.Exists(Path.Combine(missing, "n"))); // -v creates a missing host path, as docker does
        var m = d.Docker("run", "--rm", "--mount", $"type=bind,src={ro},dst=/m,readonly", "busybox", "sh", "-c", "cat /m/f; touch /m/h");
        Assert.Equal("x", m.Stdout);
        Assert.Contains("Read-only file system", m.Stderr);
        string gone = Path.Combine(d.Root, "gone-" + Name());
        var before = d.Docker("ps", "-aq").Stdout;
        var bad = d.Docker("run", "--rm", "--mount", $"type=bind,src={gone},dst=/m", "busybox", "true");
        Assert.Equal(125, bad.Code);
        Assert.Contains($"bind source path does not exist: {gone}", bad.Stderr);
        Assert.False(Directory.Exists(gone)); // --mount never creates it
        Assert.Equal(before, d.Docker("ps", "-aq").Stdout);
    }

    [Fact]
    public void UpdateChangesARunningContainersLimitsAndTheRecord()
    {
        string n = Name();
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", n, "--memory", "100m", "busybox", "sleep", "1000"));
        var u = d.Docker("update", "--memory", "200m", "--memory-swap", "400m", "--cpus", "0.5", "--cpu-shares", "256", "--pids-limit", "50",
            "--blkio-weight", "200", "--cpuset-cpus", "0", "--restart", "on-failure:2", n);
        Assert.True(u.Code == 0, u.Stderr);
        Assert.Equal(n, u.Stdout.Trim());
        var r = d.Docker("exec", n, "sh", "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpuset/cpuset.cpus; cat /sys/fs/cgroup/blkio/blkio.bfq.weight 2>/dev/null || cat /sys/fs/cgroup/blkio/blkio.weight");
        Assert.True(r.Code == 0, r.Stderr);
        var l = r.Stdout.Trim().Split('\n');
        Assert.Equal(["209715200", "419430400", "50000", "256", "50", "0"], l[..6]);
        Assert.Contains("200", l[6]);
        Assert.Equal("209715200 419430400 500000000 256 50 200 0 on-failure 2",
            d.Docker("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}} {{.HostConfig.BlkioWeight}} {{.HostConfig.CpusetCpus}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", n).Stdout.Trim());
        // raising memory above the swap limit already set needs the swap too (docker's rule)
        var conflict = d.Docker("update", "--memory", "500m", n);
        Assert.NotEqual(0, conflict.Code);
        Assert.Contains("Memory limit should be smaller than already set memoryswap limit", conflict.Stderr);
        Assert.Contains("\"Warnings\":[]", d.Raw($"POST /containers/{n}/update HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{{\"CpuShares\":300}}"));
        // a stopped container: only the record changes, and the next start applies it
        DockerCliTests.Ok(d.Docker("stop", "-t", "0", n));
        DockerCliTests.Ok(d.Docker("update", "--pids-limit", "70", n));
        DockerCliTests.Ok(d.Docker("start", n));
        Assert.Equal("70", d.Docker("exec", n, "cat", "/sys/fs/cgroup/pids/pids.max").Stdout.Trim());
        DockerCliTests.Ok(d.Docker("rm", "-f", n));
    }

    [Fact]
    public void BadFlagsGetDockersErrorsAndLeaveNothingBehind()
    {
        var before = d.Docker("ps", "-aq").Stdout;
        void Fails(string expected, params string[] args)
        {
            var r = d.Docker(["run", "--rm", .. args, "busybox", "true"]);
            Assert.True(r.Code == 125, $"{string.Join(' ', args)}: exit {r.Code}, {r.Stderr}");
            Assert.Contains(expected, r.Stderr);
        }
        Fails("invalid size: 'lots'", "--memory", "lots");         // the CLI's own parse
        Fails("Minimum memory limit allowed is 6MB", "--memory", "1k");
        Fails("failed to parse abc as a rational number", "--cpus", "abc");
        Fails($"Range of CPUs is from 0.01 to {Environment.ProcessorCount}.00", "--cpus", "64");
        Fails("Minimum memoryswap limit should be larger than memory limit", "--memory", "100m", "--memory-swap", "50m");
        Fails("invalid CapAdd: unknown capability: \"CAP_BOGUS\"", "--cap-add", "bogus");
        Fails("invalid CapDrop: unknown capability: \"CAP_BOGUS\"", "--cap-drop", "bogus");
        Fails("Interval in Healthcheck cannot be less than 1ms", "--health-cmd", "true", "--health-interval", "1us");
        Fails("Range of blkio weight is from 10 to 1000", "--blkio-weight", "5");
        Fails("Requested CPUs are not available", "--cpuset-cpus", "63");
        string notJson = Path.Combine(d.Root, "notjson.json"), notProfile = Path.Combine(d.Root, "array.json"), badAction = Path.Combine(d.Root, "action.json");
        File.WriteAllText(notJson, "this is not json");
        File.WriteAllText(notProfile, "[1,2,3]");
        File.WriteAllText(badAction, """{"defaultAction":"SCMP_ACT_SOMETIMES"}""");
        Fails("compacting json for seccomp profile", "--security-opt", "seccomp=" + notJson);
        Fails("Decoding seccomp profile failed: the profile is not a JSON object", "--security-opt", "seccomp=" + notProfile);
        Fails("Decoding seccomp profile failed", "--security-opt", "seccomp=" + badAction);
        var restart = d.Docker("run", "-d", "--restart=bogus", "busybox", "true");
        Assert.Equal(125, restart.Code);
        Assert.Contains("invalid restart policy: unknown policy 'bogus'", restart.Stderr);
        // the API itself: a memory size that is not a number is a 400 that names the field
        string body = """{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":"lots"}}""";
        var raw = d.Raw($"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");
        Assert.Contains("400 Bad Request", raw);
        Assert.Contains("Memory", raw[raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)..]);
        body = """{"Image":"busybox","Cmd":["true"],"HostConfig":{"NanoCpus":-5}}""";
        raw = d.Raw($"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");
        Assert.Contains("400 Bad Request", raw);
        Assert.Contains("Range of CPUs", raw);
        Assert.Equal(before, d.Docker("ps", "-aq").Stdout);
    }
}
