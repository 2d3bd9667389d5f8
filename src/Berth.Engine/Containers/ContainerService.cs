using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Engine.Api;
using Berth.Engine.Events;
using Berth.Engine.Networks;
using Berth.Engine.Shim;
using Berth.Engine.Store;
using Berth.Images;
using Berth.Images.Service;
using Berth.Linux.Interop;
using Berth.Oci;

namespace Berth.Engine.Containers;

/// <summary>
/// Containers: create from an image's config, start through a berth-shim, stop, kill, wait,
/// remove, exec; the records live in DATA_ROOT/containers/ID/config.v2.json (written
/// atomically) and are found again, with their running shims, when the daemon restarts.
/// </summary>
public sealed partial class ContainerService
{
    private readonly EngineOptions _o;
    internal EngineOptions Options => _o;
    private readonly ConcurrentDictionary<string, Container> _containers = new();
    private readonly ConcurrentDictionary<string, ExecSession> _execs = new();
    private readonly object _nameLock = new();
    public ImageService Images { get; }
    public EventBus Events { get; }
    public RuntimeClient Runtime { get; }

    public ContainerService(EngineOptions o, ImageService images, EventBus events)
    {
        _o = o;
        Images = images;
        Events = events;
        Runtime = new RuntimeClient(o);
        Networks = new NetworkStore(o.DataRoot);
        Networks.RestoreBridges();
        Directory.CreateDirectory(o.ContainersDir);
        Directory.CreateDirectory(o.BundlesDir);
        Directory.CreateDirectory(o.ShimDir);
        Directory.CreateDirectory(o.RuntimeRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var d in new[] { o.ContainersDir, o.BundlesDir, o.RuntimeRoot }) TopDirectory.TrySet(d);
        Trash.Empty(o.ContainersDir);
        Trash.Empty(o.BundlesDir);
    }

    /// <summary>Where removed containers' files go to be deleted after the answer.</summary>
    private readonly Trash _trash = new();

    public IEnumerable<Container> All => _containers.Values;

    private string ContainerDir(string id) => Path.Combine(_o.ContainersDir, id);
    private string BundleDir(string id) => Path.Combine(_o.BundlesDir, id);
    private string ShimSocket(string id) => Path.Combine(_o.ShimDir, id[..32] + ".sock");
    private string ExitFilePath(string id) => Path.Combine(BundleDir(id), "exit.json");
    private bool HasRuntimeState(string id) => Directory.Exists(Path.Combine(_o.RuntimeRoot, id));

    /// <param name="durable">false for the running/exited transitions: after a machine crash no container
    /// runs anyway, and restore learns the truth from the shims and exit files, so those need no fsync.</param>
    private void Persist(Container c, bool durable = true) =>
        AtomicFile.Write(Path.Combine(ContainerDir(c.Id), "config.v2.json"), JsonSerializer.SerializeToUtf8Bytes(c.R, EngineJsonContext.Default.ContainerRecord), durable);

    // ---- lookup ----

    public Container Get(string nameOrId)
    {
        if (TryGet(nameOrId, out var c)) return c!;
        throw EngineException.NotFound($"No such container: {nameOrId}");
    }

    public bool TryGet(string nameOrId, out Container? c)
    {
        if (_containers.TryGetValue(nameOrId, out c)) return true;
        string name = nameOrId.TrimStart('/');
        c = _containers.Values.FirstOrDefault(x => x.R.Name == "/" + name);
        if (c is not null) return true;
        if (nameOrId.Length > 0 && Regex.IsMatch(nameOrId, "^[0-9a-f]+$"))
        {
            var m = _containers.Values.Where(x => x.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList();
            if (m.Count == 1) { c = m[0]; return true; }
        }
        return false;
    }

    // ---- create ----

    public Container Create(CreateRequest req, string? name)
    {

        if (string.IsNullOrEmpty(req.Image)) throw EngineException.BadRequest("Config cannot be empty in order to create a container");
        if (name is not null && name != "")
        {
            if (!Regex.IsMatch(name, "^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$"))
                throw EngineException.BadRequest($"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }
        Berth.Images.Store.ImageRecord image;
        Berth.Images.Models.ImageConfig imageConfig;
        try
        {
            image = Images.Resolve(req.Image);
            imageConfig = Images.GetConfig(image.Id);
        }
        catch (ImageException e) { throw EngineException.NotFound(e.Message); }
        var ic = imageConfig.Config ?? new Berth.Images.Models.ContainerConfig();
        var hc = req.HostConfig ?? new HostConfig();
        if (hc.NetworkMode is "" or "default") hc.NetworkMode = "bridge";
        var userNetwork = UserNetworkOf(hc);
        if (userNetwork is not null) hc.NetworkMode = userNetwork.Name;
        hc.RestartPolicy ??= new RestartPolicy();
        if (hc.RestartPolicy.Name == "") hc.RestartPolicy.Name = "no";
        if (hc.RestartPolicy.Name is not ("no" or "always" or "unless-stopped" or "on-failure"))
            throw EngineException.BadRequest($"invalid restart policy: unknown policy '{hc.RestartPolicy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
        if (hc.AutoRemove && hc.RestartPolicy.Name != "no")
            throw EngineException.BadRequest("can't create 'AutoRemove' container with restart policy");
        hc.LogConfig ??= new LogConfig();
        if (hc.LogConfig.Type == "") hc.LogConfig.Type = "json-file";
        if (hc.LogConfig.Type is not ("json-file" or "none" or "local"))
            throw EngineException.BadRequest($"failed to create task for container: logger: no log driver named '{hc.LogConfig.Type}' is registered");
        foreach (var b in hc.Binds ?? []) ValidateBind(b);
        var healthcheck = Health.HealthcheckSettings.Merge(req.Healthcheck, ic.Healthcheck);
        var warnings = RunFlagValidation.Validate(hc, healthcheck);

        List<string>? entrypoint = req.Entrypoint is { Count: > 0 } ? req.Entrypoint : req.Entrypoint is null ? ic.Entrypoint : null;
        List<string>? cmd = req.Cmd is { Count: > 0 } ? req.Cmd : (req.Entrypoint is null ? ic.Cmd : null);
        var argv = new List<string>();
        if (entrypoint is not null) argv.AddRange(entrypoint);
        if (cmd is not null) argv.AddRange(cmd);
        if (argv.Count == 0) throw EngineException.BadRequest("no command specified");

        var env = MergeEnv(ic.Env, req.Env);
        var labels = new Dictionary<string, string>(ic.Labels ?? new());
        foreach (var (k, v) in req.Labels ?? new()) labels[k] = v;

        string id = NewId();
        var record = new ContainerRecord
        {
            Id = id,
            Created = Rfc3339(DateTime.UtcNow),
            Path = argv[0],
            Args = argv.Skip(1).ToList(),
            ImageId = image.Id,
            HostConfig = hc,
            VolumesFromBinds = ResolveVolumesFrom(hc),
            Config = new ContainerConfig
            {
                Hostname = req.Hostname != "" ? req.Hostname : hc.NetworkMode == "host" ? Environment.MachineName : id[..12],
                Domainname = req.Domainname,
                User = req.User != "" ? req.User : ic.User ?? "",
                AttachStdin = req.AttachStdin, AttachStdout = req.AttachStdout, AttachStderr = req.AttachStderr,
                ExposedPorts = req.ExposedPorts ?? ic.ExposedPorts?.ToDictionary(k => k.Key, _ => JsonDocument.Parse("{}").RootElement),
                Tty = req.Tty, OpenStdin = req.OpenStdin, StdinOnce = req.StdinOnce,
                Env = env,
                Cmd = cmd,
                Image = req.Image,
                Volumes = MergeVolumes(ic.Volumes, req.Volumes),
                WorkingDir = !string.IsNullOrEmpty(req.WorkingDir) ? req.WorkingDir : ic.WorkingDir ?? "",
                Entrypoint = entrypoint,
                Labels = labels,
                StopSignal = req.StopSignal ?? ic.StopSignal,
                StopTimeout = req.StopTimeout,
                Healthcheck = healthcheck,
            },
        };
        PortRequests(record, warnings); // bad port specifications are refused here, not at start
        if (userNetwork is not null)
        {
            var (aliases, ip) = EndpointRequest(req.NetworkingConfig, userNetwork);
            Allocate(record, userNetwork, aliases, ip);
        }
        var c = new Container(record) { CreateWarnings = warnings };
        string dir = ContainerDir(id);
        try
        {
            lock (_nameLock)
            {
                if (string.IsNullOrEmpty(name)) name = NewName();
                name = "/" + name.TrimStart('/');
                var other = _containers.Values.FirstOrDefault(x => x.R.Name == name);
                if (other is not null)
                    throw EngineException.Conflict($"Conflict. The container name \"{name}\" is already in use by container \"{other.Id}\". You have to remove (or rename) that container to be able to reuse that name.");
                record.Name = name;
                try
                {
                    Directory.CreateDirectory(dir);
                    record.LogPath = hc.LogConfig.Type == "none" ? "" : Path.Combine(dir, id + "-json.log");
                    record.HostnamePath = Path.Combine(dir, "hostname");
                    record.HostsPath = Path.Combine(dir, "hosts");
                    record.ResolvConfPath = Path.Combine(dir, "resolv.conf");
                    EngineTiming.Mark(id, "create: record made");
                    WriteEtcFiles(record);
                    EngineTiming.Mark(id, "create: etc files written");
                    Images.PrepareRootfs(id, image.Id);
                    EngineTiming.Mark(id, "create: snapshot prepared");
                    Persist(c);
                    EngineTiming.Mark(id, "create: persisted");
                }
                catch (Exception)
                {
                    try { Images.Snapshots.RemoveActive(id); } catch (Exception) { }
                    try { Directory.Delete(dir, true); } catch (IOException) { }
                    throw;
                }
                _containers[id] = c;
            }
        }
        finally { ReleasePending(record); } // its address now counts through _containers (or was never taken)
        Publish(c, "create");
        return c;
    }

    private static void ValidateBind(string b)
    {
        var parts = b.Split(':');
        if (parts.Length < 2 || parts.Length > 3 || !parts[1].StartsWith('/'))
            throw EngineException.BadRequest($"invalid volume specification: '{b}'");
    }

    /// <summary>The image's VOLUMEs and the request's (-v /path), as docker merges them into the container's config.</summary>
    private static Dictionary<string, JsonElement>? MergeVolumes(Dictionary<string, Berth.Images.Models.EmptyObject>? image, Dictionary<string, JsonElement>? req)
    {
        if (image is not { Count: > 0 }) return req;
        var merged = new Dictionary<string, JsonElement>(req ?? new());
        foreach (var path in image.Keys) merged.TryAdd(path, JsonDocument.Parse("{}").RootElement);
        return merged;
    }

    private static List<string> MergeEnv(List<string>? image, List<string>? req)
    {
        var result = new List<string>();
        void Put(string kv)
        {
            string key = kv.Split('=', 2)[0];
            int i = result.FindIndex(e => e.Split('=', 2)[0] == key);
            if (!kv.Contains('=')) { return; }
            if (i >= 0) result[i] = kv; else result.Add(kv);
        }
        foreach (var e in image ?? []) Put(e);
        foreach (var e in req ?? []) Put(e);
        if (!result.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal))) result.Insert(0, SpecBuilder.DefaultPath);
        return result;
    }

    private void WriteEtcFiles(ContainerRecord r)
    {
        string host = SpecBuilder.HostnameOf(r);
        File.WriteAllText(r.HostnamePath, host + "\n");
        var hosts = SpecBuilder.HostsFile(r, host, _o.HostGatewayIp);
        File.WriteAllText(r.HostsPath, hosts);
        string resolv;
        if (r.HostConfig.Dns is { Count: > 0 } dns)
            resolv = string.Concat(dns.Select(d => $"nameserver {d}\n"));
        else if (r.Endpoints is { Count: > 0 })
            resolv = "nameserver 127.0.0.11\noptions ndots:0\n"; // the embedded DNS server (see ContainerService.Networks)
        else
        {
            var lines = File.Exists("/etc/resolv.conf") ? File.ReadAllLines("/etc/resolv.conf") : [];
            // Loopback resolvers of the host are unreachable from the container's network namespace.
            var kept = lines.Where(l => !(l.StartsWith("nameserver", StringComparison.Ordinal) && (l.Contains(" 127.") || l.Contains(" ::1")) && r.HostConfig.NetworkMode != "host")).ToList();
            if (!kept.Any(l => l.StartsWith("nameserver", StringComparison.Ordinal))) kept.AddRange(["nameserver 8.8.8.8", "nameserver 8.8.4.4"]);
            resolv = string.Join('\n', kept) + "\n";
        }
        if (r.HostConfig.DnsSearch is { Count: > 0 } ds) resolv += $"search {string.Join(' ', ds)}\n";
        if (r.HostConfig.DnsOptions is { Count: > 0 } dop) resolv += $"options {string.Join(' ', dop)}\n";
        File.WriteAllText(r.ResolvConfPath, resolv);
    }

    // ---- start ----

    public async Task StartAsync(Container c)
    {
        bool failed = false;
        await c.Lock.WaitAsync();
        try
        {
            if (c.Removing) throw EngineException.Conflict($"container is marked for removal and cannot be started");
            if (c.Running) throw EngineException.NotModified();
            // A user's start: restart policies apply again, with a fresh back-off.
            c.PendingRestart?.Cancel();
            c.PendingRestart = null;
            c.R.StoppedByUser = false;
            c.RestartDelay = TimeSpan.Zero;
            await StartLockedAsync(c);
        }
        catch (EngineException e) when (e.Status != 304) { failed = true; throw; }
        finally
        {
            c.Lock.Release();
            // docker removes an AutoRemove container whose start failed (`run --rm` waits for that).
            if (failed && c.R.HostConfig.AutoRemove) _ = Task.Run(() => RemoveAsync(c, force: true, volumes: true));
        }
    }

    private async Task StartLockedAsync(Container c)
    {
        EngineTiming.Mark(c.Id, "start");
        // Published ports first: a port taken by another program fails the start before anything is made.
        var proxies = BindPorts(c.R);
        try { await StartWithPortsLockedAsync(c, proxies); }
        catch
        {
            foreach (var p in proxies) p.Dispose();
            throw;
        }
    }

    private async Task StartWithPortsLockedAsync(Container c, List<Berth.Engine.Networks.PortProxy> proxies)
    {
        string id = c.Id, bundle = BundleDir(id), rootfs = Path.Combine(bundle, "rootfs");
        Directory.CreateDirectory(rootfs);
        LibC.umount2(rootfs, MNT.DETACH); // a mount left behind by a shim that was killed
        // state left by a shim that was killed (a shim deletes it before it reports the exit)
        if (HasRuntimeState(id)) await Runtime.ForceDeleteAsync(id, bundle);
        EngineTiming.Mark(id, "stale runtime state removed");
        Images.Snapshots.Mount(Images.Snapshots.MountsOf(id), rootfs);
        EngineTiming.Mark(id, "rootfs mounted");
        ShimClient shim;
        int pid;
        try
        {
            string? netns = WireNetworks(c);
            EngineTiming.Mark(id, "networks wired");
            var spec = SpecBuilder.Build(c.R, rootfs, _o.CgroupParent, _o.DataRoot, _o.InitPath, runtimeBringsUpLoopback: _o.RuntimeIsBerth, netnsPath: netns);
            File.WriteAllBytes(Path.Combine(bundle, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.Spec));
            File.Delete(ExitFilePath(id));
            EngineTiming.Mark(id, "spec written");
            (shim, pid) = await SpawnShimAsync(c, spec.Linux!.CgroupsPath!);
            EngineTiming.Mark(id, "shim: created");
        }
        catch (Exception e)
        {
            LibC.umount2(rootfs, MNT.DETACH);
            UnwireNetworks(c);
            string msg = e is EngineException ee ? ee.Message : $"failed to create task for container: failed to create shim task: OCI runtime create failed: {e.Message}: unknown";
            c.R.State.Error = msg;
            c.R.State.Restarting = false;
            c.R.State.ExitCode = msg.Contains("not found") || msg.Contains("no such file") ? 127 : msg.Contains("permission denied") ? 126 : 128;
            Persist(c);
            throw new EngineException(e is EngineException x ? x.Status : 400, msg);
        }
        c.Shim = shim;
        var pending = c.PendingAttaches.ToList();
        c.PendingAttaches.Clear();
        foreach (var p in pending)
        {
            try { await p(shim); } catch (Exception) { }
        }
        // taken before the start: a program that ends at once must not finish before it started
        var startedAt = DateTime.UtcNow;
        EngineTiming.Mark(id, "attaches wired");
        // The monitor's WAIT goes to the shim before the start, so even a program that ends at once
        // finds it there and hands berthd the cleanup (see WAIT cleanup).
        StartMonitor(c, shim);
        try { await Runtime.StartAsync(id, bundle); }
        catch (RuntimeCommandException e)
        {
            c.Monitor?.Cancel();
            try { await Runtime.RunAsync(id, bundle, "delete", "--force", id); } catch (RuntimeCommandException) { }
            UnwireNetworks(c);
            c.R.State.Error = e.Message;
            Persist(c);
            throw EngineException.BadRequest($"failed to start container: {e.Message}");
        }
        var s = c.R.State;
        s.Status = "running"; s.Running = true; s.Paused = false; s.Restarting = false; s.Pid = pid; s.ExitCode = 0; s.Error = ""; s.OOMKilled = false;
        s.StartedAt = Rfc3339(startedAt);
        c.R.HasShim = true;
        ServePorts(c, proxies);
        Persist(c, durable: false);
        StartHealthMonitor(c);
        if (c.R.Endpoints is { Count: > 0 } eps) RefreshHosts(eps.Keys);
        Publish(c, "start");
        EngineTiming.Mark(id, "started");
    }

    private async Task<(ShimClient, int)> SpawnShimAsync(Container c, string cgroupsPath)
    {
        string id = c.Id, bundle = BundleDir(id), sock = ShimSocket(id);
        var psi = new ProcessStartInfo(_o.ShimPath)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        var args = new List<string>
        {
            "--id", id, "--bundle", bundle, "--runtime", _o.RuntimePath, "--runtime-root", _o.RuntimeRoot,
            "--socket", sock, "--state-dir", bundle, "--exit-file", ExitFilePath(id),
            "--rootfs-umount", Path.Combine(bundle, "rootfs"),
            "--oom-file", OomFile(cgroupsPath),
        };
        if (c.R.LogPath != "") args.AddRange(["--log", c.R.LogPath]);
        if (c.R.Config.Tty) args.Add("--tty");
        if (c.R.Config.OpenStdin) args.Add("--stdin");
        if (c.R.Config.Tty && c.R.HostConfig.ConsoleSize is [var h, var w] && h > 0 && w > 0) args.AddRange(["--console-size", $"{h}x{w}"]);
        var lc = c.R.HostConfig.LogConfig?.Config;
        if (lc is not null && lc.TryGetValue("max-size", out var ms)) args.AddRange(["--log-max-size", ParseSize(ms).ToString()]);
        if (lc is not null && lc.TryGetValue("max-file", out var mf)) args.AddRange(["--log-max-file", mf]);
        foreach (var a in args) psi.ArgumentList.Add(a);
        EngineTiming.Mark(id, "shim: spawn");
        using var p = Process.Start(psi) ?? throw new EngineException(500, "cannot start berth-shim");
        EngineTiming.Mark(id, "shim: spawned");
        p.StandardInput.Close();
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null)
        {
            string err = await p.StandardError.ReadToEndAsync();
            throw new InvalidOperationException($"berth-shim failed: {err.Trim()}");
        }
        if (line.StartsWith(ShimProtocol.Err + " ", StringComparison.Ordinal)) throw new InvalidOperationException(line[4..]);
        int pid = int.Parse(line.Split(' ')[1]);
        return (new ShimClient(sock), pid);
    }

    private static string OomFile(string cgroupsPath)
    {
        string v1 = $"/sys/fs/cgroup/memory{cgroupsPath}/memory.oom_control";
        return Directory.Exists("/sys/fs/cgroup/memory") ? v1 : $"/sys/fs/cgroup{cgroupsPath}/memory.events";
    }

    public static long ParseSize(string s)
    {
        s = s.Trim().ToLowerInvariant();
        long mult = 1;
        if (s.EndsWith('b')) s = s[..^1];
        if (s.EndsWith('k')) { mult = 1024; s = s[..^1]; }
        else if (s.EndsWith('m')) { mult = 1024 * 1024; s = s[..^1]; }
        else if (s.EndsWith('g')) { mult = 1024L * 1024 * 1024; s = s[..^1]; }
        if (!double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) || v < 0)
            throw EngineException.BadRequest($"invalid size: '{s}'");
        return (long)(v * mult);
    }

    /// <summary>Waits (through the shim, or its exit file when the shim is gone) for the init to exit.</summary>
    private void StartMonitor(Container c, ShimClient shim)
    {
        var cts = new CancellationTokenSource();
        c.Monitor = cts;
        // With berth-runtime, berthd removes the runtime state itself once told of the exit
        // (in-process, before anything can start the container again). The request is sent here,
        // on the caller's thread, as far as the connect and send complete at once.
        var reply = shim.RequestAsync(_o.RuntimeIsBerth ? "WAIT cleanup" : "WAIT", cts.Token);
        _ = Task.Run(async () =>
        {
            int code = 255; bool oom = false; long at = 0;
            bool got = false;
            try
            {
                var line = await reply;
                var w = line.Split(' ');
                if (w[0] == "EXIT") { code = int.Parse(w[1]); oom = w[2] == "1"; at = long.Parse(w[3]); got = true; }
                if (w is [.., "cleanup"]) await Runtime.ForceDeleteAsync(c.Id, BundleDir(c.Id));
            }
            catch (OperationCanceledException) { return; }
            catch (Exception) { }
            if (!got)
            {
                // The shim went away without answering: its exit file is the truth, if it wrote one.
                for (int i = 0; i < 20 && !got; i++)
                {
                    if (ReadExitFile(c.Id) is { } ef) { code = ef.ExitCode; oom = ef.OomKilled; at = ef.ExitedAtUnixNano; got = true; }
                    else await Task.Delay(100);
                }
            }
            await OnExitAsync(c, code, oom, at);
        });
    }

    private ExitFile? ReadExitFile(string id)
    {
        try
        {
            string p = ExitFilePath(id);
            return File.Exists(p) ? JsonSerializer.Deserialize(File.ReadAllBytes(p), EngineJsonContext.Default.ExitFile) : null;
        }
        catch (Exception) { return null; }
    }

    private async Task OnExitAsync(Container c, int code, bool oom, long atNano)
    {
        bool restart = false, autoRemove = false;
        await c.Lock.WaitAsync();
        try
        {
            if (!c.R.State.Running && !c.R.HasShim) return;
            EngineTiming.Mark(c.Id, "exit learned");
            var s = c.R.State;
            s.Running = false; s.Paused = false; s.Pid = 0; s.ExitCode = code; s.OOMKilled = oom; s.Status = "exited";
            s.FinishedAt = Rfc3339(atNano > 0 ? DateTime.UnixEpoch.AddTicks(atNano / 100) : DateTime.UtcNow);
            c.R.HasShim = false;
            c.Shim = null;
            StopHealthMonitor(c);
            ClosePorts(c);
            LibC.umount2(Path.Combine(BundleDir(c.Id), "rootfs"), MNT.DETACH);
            if (c.R.Endpoints is { Count: > 0 } eps)
            {
                try { UnwireNetworks(c); } catch (Berth.Linux.LinuxException e) { Console.Error.WriteLine($"berthd: {c.ShortId}: network cleanup: {e.Message}"); }
                RefreshHosts(eps.Keys);
            }
            foreach (var e in c.Execs.Values.Where(e => e.Running)) { e.Running = false; e.Exited.TrySetResult(e.ExitCode ?? 137); }
            restart = DecideRestart(c, code);
            autoRemove = c.R.HostConfig.AutoRemove && !c.Removing;
            if (oom) Publish(c, "oom");
            // an AutoRemove container's record is deleted right after (a crash meanwhile: restore removes it)
            if (!autoRemove) Persist(c, durable: false);
            Publish(c, "die", new() { ["exitCode"] = code.ToString() });
            var sig = c.ExitSignal;
            c.ExitSignal = Container.NewSignal();
            sig.TrySetResult(code);
        }
        finally { c.Lock.Release(); }
        if (autoRemove)
        {
            try { await RemoveAsync(c, force: true, volumes: true); } catch (Exception) { }
        }
        else if (restart) ScheduleRestart(c, c.RestartDelay);
    }

    // ---- stop, kill, restart, remove, wait ----

    public async Task<bool> StopAsync(Container c, int? timeout, string? signal = null)
    {
        if (c.R.State.Restarting)
        {
            // docker stop of a restarting container ends the restarting
            c.R.StoppedByUser = true;
            if (await CancelRestartAsync(c) && !c.Running) { Persist(c); Publish(c, "stop"); return true; }
        }
        if (!c.Running) return false;
        c.R.StoppedByUser = true;
        Persist(c);
        var exited = c.ExitSignal.Task;
        int t = timeout ?? c.R.Config.StopTimeout ?? 10;
        if (c.R.State.Paused)
        {
            await SignalAsync(c, 9);
            try { await Runtime.RunAsync(c.Id, BundleDir(c.Id), "resume", c.Id); } catch (RuntimeCommandException) { }
        }
        else
        {
            int sig = ParseSignal(signal ?? c.R.Config.StopSignal ?? "SIGTERM");
            try { await SignalAsync(c, sig); } catch (EngineException) { }
            if (t < 0) { await exited; return true; }
            if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(t))) == exited) { Publish(c, "stop"); return true; }
            try { await SignalAsync(c, 9); } catch (EngineException) { }
        }
        if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(30))) != exited)
            throw new EngineException(500, $"cannot stop container: {c.R.Name.TrimStart('/')}: the process did not exit after SIGKILL");
        Publish(c, "stop");
        return true;
    }

    public async Task KillAsync(Container c, string? signal)
    {
        int sig = ParseSignal(string.IsNullOrEmpty(signal) ? "SIGKILL" : signal);
        if (c.R.State.Restarting && !c.Running) throw EngineException.Conflict($"Container {c.Id} is restarting, wait until the container is running");
        if (!c.Running) throw EngineException.Conflict($"cannot kill container: {c.R.Name.TrimStart('/')}: container {c.Id} is not running");
        if (sig == 9) { c.R.StoppedByUser = true; Persist(c); }
        await SignalAsync(c, sig);
        Publish(c, "kill", new() { ["signal"] = sig.ToString() });
    }

    private async Task SignalAsync(Container c, int sig)
    {
        if (sig != 9 && c.R.HostConfig.Init == true && !string.IsNullOrEmpty(_o.InitPath))
            await WaitUntilCaughtAsync(c.R.State.Pid, sig);
        try { await Runtime.RunAsync(c.Id, BundleDir(c.Id), "kill", c.Id, sig.ToString()); }
        catch (RuntimeCommandException e)
        {
            if (c.Running) throw new EngineException(500, $"cannot kill container {c.Id}: {e.Message}");
        }
    }

    /// <summary>
    /// berth-init (--init) catches signals once its .NET runtime has started (~2 ms after the
    /// exec, longer on a loaded machine). A signal before that reaches a namespace's init whose
    /// action is the default, and the kernel drops it: `docker stop` right after `docker run -d`
    /// then waited out its whole timeout. So wait (up to 2 s) until PID 1 catches the signal
    /// (SigCgt in /proc/PID/status); a process that is gone or unreadable ends the wait.
    /// </summary>
    private static async Task WaitUntilCaughtAsync(int pid, int sig)
    {
        for (int i = 0; i < 200 && pid > 0; i++)
        {
            string? status = Berth.Linux.Io.FdIo.TryReadText($"/proc/{pid}/status", out _);
            string? caught = status?.Split('\n').FirstOrDefault(l => l.StartsWith("SigCgt:", StringComparison.Ordinal));
            if (caught is null || !ulong.TryParse(caught.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, null, out ulong mask)) return;
            if ((mask & (1UL << (sig - 1))) != 0) return;
            await Task.Delay(10);
        }
    }

    public static int ParseSignal(string s)
    {
        if (int.TryParse(s, out var n) && n > 0 && n < 65) return n;
        string name = s.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        int v = name switch
        {
            "HUP" => 1, "INT" => 2, "QUIT" => 3, "ILL" => 4, "TRAP" => 5, "ABRT" => 6, "IOT" => 6, "BUS" => 7, "FPE" => 8, "KILL" => 9,
            "USR1" => 10, "SEGV" => 11, "USR2" => 12, "PIPE" => 13, "ALRM" => 14, "TERM" => 15, "STKFLT" => 16, "CHLD" => 17,
            "CONT" => 18, "STOP" => 19, "TSTP" => 20, "TTIN" => 21, "TTOU" => 22, "URG" => 23, "XCPU" => 24, "XFSZ" => 25,
            "VTALRM" => 26, "PROF" => 27, "WINCH" => 28, "IO" => 29, "POLL" => 29, "PWR" => 30, "SYS" => 31, _ => -1,
        };
        if (v < 0 && name.StartsWith("RTMIN", StringComparison.Ordinal))
        {
            string rest = name[5..];
            v = rest == "" ? 34 : rest.StartsWith('+') && int.TryParse(rest[1..], out var k) && k <= 30 ? 34 + k : -1;
        }
        if (v < 0) throw EngineException.BadRequest($"Invalid signal: {s}");
        return v;
    }

    public async Task RestartAsync(Container c, int? timeout)
    {
        if (c.Running) await StopAsync(c, timeout);
        await StartAsync(c);
        Publish(c, "restart");
    }

    public async Task RemoveAsync(Container c, bool force, bool volumes = false)
    {
        // rm -v (and --rm): the anonymous volumes go too; named ones always stay.
        var anonymous = volumes ? VolumesOf(c).Where(v => v.Anonymous).Select(v => v.Name).Distinct().ToList() : null;
        if (c.R.State.Restarting && !c.Running)
        {
            if (!force) throw EngineException.Conflict($"You cannot remove a restarting container {c.Id}. Stop the container before attempting removal or force remove");
            c.R.StoppedByUser = true;
            await CancelRestartAsync(c);
        }
        if (c.Running)
        {
            if (!force)
                throw EngineException.Conflict($"cannot remove container \"{c.R.Name}\": container is running: stop the container before removing or force remove");
            var exited = c.ExitSignal.Task;
            c.R.StoppedByUser = true;
            if (c.R.State.Paused) { try { await Runtime.RunAsync(c.Id, BundleDir(c.Id), "resume", c.Id); } catch (RuntimeCommandException) { } }
            try { await SignalAsync(c, 9); } catch (EngineException) { }
            if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(30))) != exited)
                throw new EngineException(500, $"cannot remove container \"{c.R.Name}\": could not kill: the process did not exit");
        }
        await c.Lock.WaitAsync();
        try
        {
            if (c.Removing) return;
            if (c.Running) throw EngineException.Conflict($"cannot remove container \"{c.R.Name}\": container is running: stop the container before removing or force remove");
            c.Removing = true;
            c.Monitor?.Cancel();
            string rootfs = Path.Combine(BundleDir(c.Id), "rootfs");
            EngineTiming.Mark(c.Id, "remove");
            LibC.umount2(rootfs, MNT.DETACH);
            if (HasRuntimeState(c.Id)) await Runtime.ForceDeleteAsync(c.Id, BundleDir(c.Id));
            EngineTiming.Mark(c.Id, "runtime state deleted");
            // A network namespace still pinned (its container died while berthd was down) goes with it.
            if (c.R.Endpoints is { Count: > 0 }) { try { UnwireNetworks(c); } catch (Berth.Linux.LinuxException) { } }
            // Each folder leaves its name now and is deleted after the answer (see Trash).
            try
            {
                if (Images.Snapshots.DetachActive(c.Id) is { } detached)
                    _trash.Later(() => Images.Snapshots.DeleteDetached(detached));
            }
            catch (Exception) { }
            EngineTiming.Mark(c.Id, "snapshot removed");
            try { _trash.Discard(BundleDir(c.Id)); } catch (IOException) { }
            EngineTiming.Mark(c.Id, "bundle deleted");
            try { _trash.Discard(ContainerDir(c.Id)); } catch (IOException) { }
            EngineTiming.Mark(c.Id, "record deleted");
            _containers.TryRemove(c.Id, out _);
            foreach (var e in c.Execs.Keys) _execs.TryRemove(e, out _);
        }
        finally { c.Lock.Release(); }
        Publish(c, "destroy");
        if (anonymous is { Count: > 0 }) RemoveAnonymousVolumes(anonymous);
        c.Removed.TrySetResult();
        EngineTiming.Mark(c.Id, "removed");
    }

    /// <summary>docker's wait: not-running (default), next-exit, removed.</summary>
    public async Task<int> WaitAsync(Container c, string? condition, CancellationToken ct)
    {
        switch (condition)
        {
            case "removed":
                await c.Removed.Task.WaitAsync(ct);
                return c.R.State.ExitCode;
            case "next-exit":
                return await c.ExitSignal.Task.WaitAsync(ct);
            case null or "" or "not-running":
                if (!c.Running) return c.R.State.ExitCode;
                return await c.ExitSignal.Task.WaitAsync(ct);
            default:
                throw EngineException.BadRequest($"invalid condition: \"{condition}\"");
        }
    }

    public async Task PauseAsync(Container c, bool pause)
    {
        if (!c.Running) throw EngineException.Conflict($"Container {c.Id} is not running");
        if (pause && c.R.State.Paused) throw EngineException.Conflict($"Container {c.Id} is already paused");
        if (!pause && !c.R.State.Paused) throw new EngineException(500, $"Container {c.Id} is not paused");
        try { await Runtime.RunAsync(c.Id, BundleDir(c.Id), pause ? "pause" : "resume", c.Id); }
        catch (RuntimeCommandException e) { throw new EngineException(500, $"cannot {(pause ? "pause" : "unpause")} container {c.Id}: {e.Message}"); }
        c.R.State.Paused = pause;
        c.R.State.Status = pause ? "paused" : "running";
        Persist(c);
        Publish(c, pause ? "pause" : "unpause");
    }

    public void Rename(Container c, string newName)
    {
        if (!Regex.IsMatch(newName, "^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$"))
            throw EngineException.BadRequest($"Invalid container name ({newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        lock (_nameLock)
        {
            string n = "/" + newName.TrimStart('/');
            var other = _containers.Values.FirstOrDefault(x => x.R.Name == n);
            if (other is not null && other != c)
                throw EngineException.Conflict($"Conflict. The container name \"{n}\" is already in use by container \"{other.Id}\". You have to remove (or rename) that container to be able to reuse that name.");
            c.R.Name = n;
            Persist(c);
        }
        Publish(c, "rename");
    }

    // ---- live restore ----

    /// <summary>Loads every container record; re-attaches to shims that still run; records exits that happened while the daemon was down.</summary>
    public void Restore()
    {
        foreach (var dir in Directory.GetDirectories(_o.ContainersDir))
        {
            string f = Path.Combine(dir, "config.v2.json");
            if (!File.Exists(f)) continue;
            ContainerRecord? r;
            try { r = JsonSerializer.Deserialize(File.ReadAllBytes(f), EngineJsonContext.Default.ContainerRecord); }
            catch (JsonException) { continue; }
            if (r is null) continue;
            var c = new Container(r);
            _containers[r.Id] = c;
            if (!r.HasShim)
            {
                if (RestartOnDaemonStart(c)) ScheduleRestart(c, TimeSpan.Zero);
                continue;
            }
            var shim = new ShimClient(ShimSocket(r.Id));
            if (File.Exists(shim.SocketPath) && shim.Alive())
            {
                c.Shim = shim;
                StartMonitor(c, shim);
                StartHealthMonitor(c);
                RestorePorts(c);
                RestoreDns(c);
            }
            else
            {
                var ef = ReadExitFile(r.Id);
                _ = OnExitAsync(c, ef?.ExitCode ?? 255, ef?.OomKilled ?? false, ef?.ExitedAtUnixNano ?? 0);
            }
        }
    }

    // ---- helpers ----

    internal void Publish(Container c, string action, Dictionary<string, string>? extra = null)
    {
        var attrs = new Dictionary<string, string>(c.R.Config.Labels ?? new())
        {
            ["image"] = c.R.Config.Image,
            ["name"] = c.R.Name.TrimStart('/'),
        };
        foreach (var (k, v) in extra ?? new()) attrs[k] = v;
        Events.Publish("container", action, c.Id, attrs);
    }

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static readonly string[] Left = ["admiring", "brave", "clever", "dazzling", "eager", "focused", "gallant", "happy", "jolly", "keen", "lucid", "modest", "nifty", "optimistic", "quirky", "serene", "tender", "vibrant", "wizardly", "zealous"];
    private static readonly string[] Right = ["albattani", "babbage", "curie", "darwin", "euler", "fermat", "galileo", "hopper", "johnson", "knuth", "lovelace", "meitner", "noether", "pascal", "ritchie", "shannon", "turing", "wozniak", "yalow", "zuse"];

    private string NewName()
    {
        for (int i = 0; ; i++)
        {
            string n = $"{Left[RandomNumberGenerator.GetInt32(Left.Length)]}_{Right[RandomNumberGenerator.GetInt32(Right.Length)]}";
            if (i > 10) n += RandomNumberGenerator.GetInt32(100);
            if (!_containers.Values.Any(c => c.R.Name == "/" + n)) return n;
        }
    }

    public static string Rfc3339(DateTime utc)
    {
        string frac = (utc.Ticks % TimeSpan.TicksPerSecond).ToString("0000000") + "00";
        frac = frac.TrimEnd('0');
        return utc.ToString("yyyy-MM-ddTHH:mm:ss") + (frac.Length > 0 ? "." + frac : "") + "Z";
    }

    internal string BundleOf(Container c) => BundleDir(c.Id);
}
