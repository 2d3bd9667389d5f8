using System.Text.Json;
using Berth.Linux.Cgroups.Stats;
using Berth.Oci;
using Berth.Oci.Runtime;
using Berth.Runtime;
using Berth.Runtime.Bundle;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.State;

namespace Berth.RuntimeCli;

/// <summary>One method per runc command; each parses its flags and calls into Berth.Runtime.</summary>
internal static class Commands
{
    public static int Run(string command, List<string> args, StateStore store) => command switch
    {
        "create" => Create(args, store),
        "start" => Start(args, store),
        "run" => RunCommand(args, store),
        "state" => State(args, store),
        "kill" => Kill(args, store),
        "delete" or "rm" => Delete(args, store),
        "exec" => Exec(args, store),
        "list" or "ls" => ListCommand(args, store),
        "ps" => Ps(args, store),
        "pause" => Pause(args, store, freeze: true),
        "resume" => Pause(args, store, freeze: false),
        "events" => Events(args, store),
        "update" => Update(args, store),
        "spec" => SpecCommand(args),
        "features" => FeaturesCommand(),
        _ => throw new UsageException($"unknown command \"{command}\" (see berth-runtime --help)"),
    };

    private static ArgParser CreateFlags() => new ArgParser()
        .Flag("bundle|b").Flag("console-socket").Flag("pid-file").Bool("no-pivot").Bool("no-new-keyring")
        .Flag("preserve-fds").Bool("detach|d").Bool("keep").Flag("notify-socket");

    private static CreateOptions CreateOptionsFrom(ArgParser p, string command) => new()
    {
        Id = p.RequireId(command),
        Bundle = p.Get("bundle") ?? Directory.GetCurrentDirectory(),
        ConsoleSocket = p.Get("console-socket"),
        PidFile = p.Get("pid-file"),
        NoPivot = p.Has("no-pivot"),
        NoNewKeyring = p.Has("no-new-keyring"),
        PreserveFds = p.GetInt("preserve-fds", 0),
    };

    private static int Create(List<string> args, StateStore store)
    {
        var p = CreateFlags().Parse(args);
        new ContainerCreator(store).Create(CreateOptionsFrom(p, "create"));
        return 0;
    }

    private static int Start(List<string> args, StateStore store)
    {
        var p = new ArgParser().Parse(args);
        ContainerStarter.Start(Container.Load(store, p.RequireId("start")));
        return 0;
    }

    private static int RunCommand(List<string> args, StateStore store)
    {
        var p = CreateFlags().Parse(args);
        var o = CreateOptionsFrom(p, "run");
        var c = new ContainerCreator(store).Create(o);
        try { ContainerStarter.Start(c); }
        catch
        {
            ContainerDeleter.Delete(c, force: true);
            throw;
        }
        Berth.Runtime.Logging.Timing.Mark("run: started");
        if (p.Has("detach")) return 0;
        int code = ContainerExecutor.WaitForwarding(c.Saved.Pid);
        Berth.Runtime.Logging.Timing.Mark("run: exited");
        if (!p.Has("keep")) ContainerDeleter.Delete(Container.Load(store, o.Id), force: true);
        Berth.Runtime.Logging.Timing.Mark("run: deleted");
        return code;
    }

    private static int State(List<string> args, StateStore store)
    {
        var p = new ArgParser().Parse(args);
        var report = Container.Load(store, p.RequireId("state")).Report();
        // Hand-written (SavedStateJson): a JsonSerializer first call would be most of `state`'s own work.
        // Straight to fd 1: the first use of Console sets up the terminal and a signal thread (~0.1 ms).
        byte[] json = SavedStateJson.WriteReport(report);
        Berth.Linux.Io.FdIo.WriteAll(1, [.. json, (byte)'\n']);
        return 0;
    }

    private static int Kill(List<string> args, StateStore store)
    {
        var p = new ArgParser().Bool("all|a").Parse(args);
        string id = p.RequireId("kill");
        int signal = Signals.Parse(p.Positional.Count > 1 ? p.Positional[1] : "SIGTERM");
        ContainerKiller.Kill(Container.Load(store, id), signal, p.Has("all"));
        return 0;
    }

    private static int Delete(List<string> args, StateStore store)
    {
        var p = new ArgParser().Bool("force|f").Parse(args);
        string id = p.RequireId("delete");
        StateStore.ValidateId(id);
        if (!store.Exists(id))
        {
            if (p.Has("force")) { store.Remove(id); return 0; }
            throw new RuntimeException($"container \"{id}\" does not exist");
        }
        ContainerDeleter.Delete(Container.Load(store, id), p.Has("force"));
        return 0;
    }

    private static int Exec(List<string> args, StateStore store)
    {
        var p = new ArgParser()
            .Flag("process|p").Bool("tty|t").Bool("detach|d").Flag("pid-file").Flag("console-socket")
            .Flag("env|e").Flag("cwd").Flag("user|u").Flag("additional-gids|g").Flag("cap|c").Bool("no-new-privs")
            .Flag("apparmor").Flag("process-label").Flag("preserve-fds").Bool("ignore-paused").Flag("cgroup")
            .Parse(args, stopAtPositional: true);
        string id = p.RequireId("exec");
        var c = Container.Load(store, id);
        Process process;
        if (p.Get("process") is string file)
        {
            byte[] json = file == "-" ? ReadStdin() : File.ReadAllBytes(file);
            process = SpecLoader.ParseProcess(json, file);
        }
        else
        {
            if (p.Positional.Count < 2) throw new UsageException("exec: a command to run is required (or --process FILE)");
            process = ProcessFromFlags(c.Config.Process, p, p.Positional.Skip(1).ToList());
        }
        return ContainerExecutor.Exec(c, process, new ExecOptions
        {
            Detach = p.Has("detach"),
            PidFile = p.Get("pid-file"),
            ConsoleSocket = p.Get("console-socket"),
            PreserveFds = p.GetInt("preserve-fds", 0),
        });
    }

    /// <summary>runc's exec without --process: the container's own process settings, with the flags on top.</summary>
    private static Process ProcessFromFlags(Process? basis, ArgParser p, List<string> command)
    {
        var proc = new Process
        {
            Args = command,
            Env = new List<string>(basis?.Env ?? new List<string>()),
            Cwd = p.Get("cwd") ?? basis?.Cwd ?? "/",
            Terminal = p.Has("tty"),
            User = basis?.User is { } u ? new User { Uid = u.Uid, Gid = u.Gid, AdditionalGids = u.AdditionalGids, Umask = u.Umask } : new User(),
            Capabilities = basis?.Capabilities,
            NoNewPrivileges = p.Has("no-new-privs") || (basis?.NoNewPrivileges ?? false),
            ApparmorProfile = p.Get("apparmor") ?? basis?.ApparmorProfile,
            Rlimits = basis?.Rlimits,
        };
        foreach (var e in p.All("env"))
        {
            string name = e.Split('=')[0];
            proc.Env.RemoveAll(x => x.Split('=')[0] == name);
            proc.Env.Add(e);
        }
        if (p.Get("user") is string user)
        {
            var parts = user.Split(':');
            if (!uint.TryParse(parts[0], out var uid) || (parts.Length > 1 && !uint.TryParse(parts[1], out _)))
                throw new UsageException($"--user: \"{user}\" must be UID[:GID]");
            proc.User!.Uid = uid;
            proc.User.Gid = parts.Length > 1 ? uint.Parse(parts[1]) : 0;
        }
        foreach (var g in p.All("additional-gids"))
        {
            if (!uint.TryParse(g, out var gid)) throw new UsageException($"--additional-gids: \"{g}\" is not a number");
            (proc.User!.AdditionalGids ??= new List<uint>()).Add(gid);
        }
        if (p.All("cap") is { Count: > 0 } caps)
        {
            var b = proc.Capabilities;
            List<string> With(List<string>? set) => (set ?? new List<string>()).Union(caps).ToList();
            proc.Capabilities = new Capabilities
            {
                Bounding = With(b?.Bounding), Effective = With(b?.Effective), Permitted = With(b?.Permitted),
                Inheritable = b?.Inheritable, Ambient = b?.Ambient,
            };
        }
        return proc;
    }

    private static int ListCommand(List<string> args, StateStore store)
    {
        var p = new ArgParser().Flag("format|f").Bool("quiet|q").Parse(args);
        var reports = new List<StateReport>();
        foreach (var id in store.Ids())
        {
            try { reports.Add(Container.Load(store, id).Report()); }
            catch (RuntimeException) { }
        }
        if (p.Has("quiet")) { foreach (var r in reports) Console.WriteLine(r.Id); return 0; }
        string format = p.Get("format") ?? "table";
        if (format == "json")
        {
            Console.WriteLine(JsonSerializer.Serialize(reports, RuntimeJsonContext.Default.ListStateReport));
            return 0;
        }
        if (format != "table") throw new UsageException($"list: unknown format \"{format}\" (table or json)");
        var rows = new List<string[]> { new[] { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
        rows.AddRange(reports.Select(r => new[] { r.Id, r.Pid.ToString(), r.Status, r.Bundle, r.Created.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ"), r.Owner.Length == 0 ? "root" : r.Owner }));
        Table.Print(rows);
        return 0;
    }

    private static int Ps(List<string> args, StateStore store)
    {
        var p = new ArgParser().Flag("format|f").Parse(args, stopAtPositional: true);
        var c = Container.Load(store, p.RequireId("ps"));
        var pids = ContainerKiller.SafePids(c).OrderBy(x => x).ToList();
        string format = p.Get("format") ?? "table";
        if (format == "json")
        {
            Console.WriteLine(JsonSerializer.Serialize(pids, RuntimeJsonContext.Default.ListInt32));
            return 0;
        }
        if (format != "table") throw new UsageException($"ps: unknown format \"{format}\" (table or json)");
        var rows = new List<string[]> { new[] { "PID", "STAT", "CMD" } };
        foreach (var pid in pids)
        {
            var st = Berth.Linux.Processes.ProcStat.Read(pid);
            string cmd;
            try { cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); }
            catch (IOException) { continue; }
            rows.Add(new[] { pid.ToString(), st?.State.ToString() ?? "?", cmd });
        }
        Table.Print(rows);
        return 0;
    }

    private static int Pause(List<string> args, StateStore store, bool freeze)
    {
        var p = new ArgParser().Parse(args);
        var c = Container.Load(store, p.RequireId(freeze ? "pause" : "resume"));
        string status = c.Status;
        if (freeze)
        {
            if (status != "running") throw new RuntimeException($"cannot pause container \"{c.Id}\": it is {status}");
            c.Cgroup.Freeze();
        }
        else
        {
            if (status != "paused") throw new RuntimeException($"cannot resume container \"{c.Id}\": it is not paused ({status})");
            c.Cgroup.Thaw();
        }
        return 0;
    }

    private static int Events(List<string> args, StateStore store)
    {
        var p = new ArgParser().Bool("stats").Flag("interval").Parse(args);
        var c = Container.Load(store, p.RequireId("events"));
        if (c.Status == "stopped") throw new RuntimeException($"container \"{c.Id}\" is not running");
        TimeSpan interval = ParseDuration(p.Get("interval") ?? "5s");
        if (p.Has("stats"))
        {
            PrintEvent("stats", c.Id, c.Cgroup.Stats());
            return 0;
        }
        ulong ooms = c.Cgroup.OomKillCount();
        while (c.Status != "stopped")
        {
            PrintEvent("stats", c.Id, c.Cgroup.Stats());
            ulong now = c.Cgroup.OomKillCount();
            if (now > ooms) { PrintEvent("oom", c.Id, null); ooms = now; }
            Thread.Sleep(interval);
        }
        return 0;
    }

    private static void PrintEvent(string type, string id, CgroupStats? stats)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            w.WriteString("id", id);
            if (stats is not null)
            {
                w.WritePropertyName("data");
                JsonSerializer.Serialize(w, stats, CgroupStatsJsonContext.Default.CgroupStats);
            }
            w.WriteEndObject();
        }
        Console.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    private static int Update(List<string> args, StateStore store)
    {
        var p = new ArgParser().Flag("resources|r").Flag("memory").Flag("memory-swap").Flag("memory-reservation")
            .Flag("kernel-memory").Flag("cpu-shares").Flag("cpu-quota").Flag("cpu-period").Flag("cpu-rt-runtime")
            .Flag("cpu-rt-period").Flag("cpuset-cpus").Flag("cpuset-mems").Flag("pids-limit").Flag("blkio-weight")
            .Parse(args);
        var c = Container.Load(store, p.RequireId("update"));
        if (c.Status == "stopped") throw new RuntimeException($"cannot update container \"{c.Id}\": it is stopped");
        LinuxResources res;
        if (p.Get("resources") is string file)
        {
            byte[] json = file == "-" ? ReadStdin() : File.ReadAllBytes(file);
            res = SpecLoader.ParseResources(json, file == "-" ? "resources" : file);
        }
        else
        {
            res = new LinuxResources();
            if (p.Get("memory") is string m) (res.Memory ??= new()).Limit = ParseBytes(m, "memory");
            if (p.Get("memory-swap") is string ms) (res.Memory ??= new()).Swap = ParseBytes(ms, "memory-swap");
            if (p.Get("memory-reservation") is string mr) (res.Memory ??= new()).Reservation = ParseBytes(mr, "memory-reservation");
            if (p.Get("cpu-shares") is string cs) (res.Cpu ??= new()).Shares = ParseU(cs, "cpu-shares");
            if (p.Get("cpu-quota") is string cq) (res.Cpu ??= new()).Quota = (long)ParseL(cq, "cpu-quota");
            if (p.Get("cpu-period") is string cpd) (res.Cpu ??= new()).Period = ParseU(cpd, "cpu-period");
            if (p.Get("cpu-rt-runtime") is string rr) (res.Cpu ??= new()).RealtimeRuntime = ParseL(rr, "cpu-rt-runtime");
            if (p.Get("cpu-rt-period") is string rp) (res.Cpu ??= new()).RealtimePeriod = ParseU(rp, "cpu-rt-period");
            if (p.Get("cpuset-cpus") is string cc) (res.Cpu ??= new()).Cpus = cc;
            if (p.Get("cpuset-mems") is string cm) (res.Cpu ??= new()).Mems = cm;
            if (p.Get("pids-limit") is string pl) res.Pids = new LinuxPids { Limit = ParseL(pl, "pids-limit") };
            if (p.Get("blkio-weight") is string bw) res.BlockIo = new LinuxBlockIo { Weight = (ushort)ParseU(bw, "blkio-weight") };
        }
        c.Cgroup.Apply(res);
        var config = c.Config;
        MergeResources(config, res);
        c.Store.SaveConfig(c.Id, JsonSerializer.SerializeToUtf8Bytes(config, OciJsonContext.Default.Spec));
        return 0;
    }

    private static void MergeResources(Spec spec, LinuxResources update)
    {
        var linux = spec.Linux ??= new Berth.Oci.Runtime.Linux();
        var r = linux.Resources ??= new LinuxResources();
        if (update.Memory is not null) r.Memory = update.Memory;
        if (update.Cpu is not null) r.Cpu = update.Cpu;
        if (update.Pids is not null) r.Pids = update.Pids;
        if (update.BlockIo is not null) r.BlockIo = update.BlockIo;
        if (update.HugepageLimits is not null) r.HugepageLimits = update.HugepageLimits;
        if (update.Unified is not null) r.Unified = update.Unified;
    }

    private static int SpecCommand(List<string> args)
    {
        var p = new ArgParser().Flag("bundle|b").Bool("rootless").Parse(args);
        string dir = p.Get("bundle") ?? Directory.GetCurrentDirectory();
        string path = Path.Combine(dir, "config.json");
        if (File.Exists(path)) throw new RuntimeException($"{path} exists already: remove it first");
        var spec = Berth.Oci.Defaults.RuncDefaults.Spec(p.Has("rootless"));
        File.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(spec, OciJsonContext.Default.Spec));
        return 0;
    }

    private static int FeaturesCommand()
    {
        Console.WriteLine(JsonSerializer.Serialize(Features.Current(), RuntimeIndentedJsonContext.Default.Features));
        return 0;
    }

    private static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        using var ms = new MemoryStream();
        stdin.CopyTo(ms);
        return ms.ToArray();
    }

    private static TimeSpan ParseDuration(string s)
    {
        double mult = 1;
        string num = s;
        if (s.EndsWith("ms")) { mult = 0.001; num = s[..^2]; }
        else if (s.EndsWith('s')) num = s[..^1];
        else if (s.EndsWith('m')) { mult = 60; num = s[..^1]; }
        else if (s.EndsWith('h')) { mult = 3600; num = s[..^1]; }
        if (!double.TryParse(num, System.Globalization.CultureInfo.InvariantCulture, out double v) || v <= 0)
            throw new UsageException($"--interval: \"{s}\" is not a duration (e.g. 5s)");
        return TimeSpan.FromSeconds(v * mult);
    }

    private static long ParseBytes(string s, string flag)
    {
        if (s == "-1") return -1;
        string t = s.Trim().ToLowerInvariant().TrimEnd('b');
        long mult = 1;
        if (t.EndsWith('k')) { mult = 1L << 10; t = t[..^1]; }
        else if (t.EndsWith('m')) { mult = 1L << 20; t = t[..^1]; }
        else if (t.EndsWith('g')) { mult = 1L << 30; t = t[..^1]; }
        if (!long.TryParse(t, out long v) || v < 0) throw new UsageException($"--{flag}: \"{s}\" is not a size");
        return v * mult;
    }

    private static ulong ParseU(string s, string flag) =>
        ulong.TryParse(s, out var v) ? v : throw new UsageException($"--{flag}: \"{s}\" is not a number");

    private static long ParseL(string s, string flag) =>
        long.TryParse(s, out var v) ? v : throw new UsageException($"--{flag}: \"{s}\" is not a number");
}

internal static class Table
{
    public static void Print(List<string[]> rows)
    {
        int cols = rows[0].Length;
        var widths = Enumerable.Range(0, cols).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var r in rows)
            Console.WriteLine(string.Join("   ", r.Select((cell, i) => i == cols - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
    }
}
