using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// version, info, system df, login, logout.
public sealed partial class EngineCommands
{
    public const string ClientVersion = "0.1.0";

    private async Task<int> Version(List<string> argv, CancellationToken ct)
    {
        var a = new Args("version", argv, [], ["format|f"]);
        a.Require(0, 0, "[OPTIONS]");
        JsonDocument? server = null;
        string? serverError = null;
        DockerClient? c = null;
        try
        {
            c = await ClientAsync(ct);
            server = await c.GetJsonAsync("/version", ct);
        }
        catch (Exception e) when (e is DaemonException or DaemonUnreachableException) { serverError = e.Message; }
        string apiVersion = c?.ApiVersion ?? DockerClient.ClientMaxVersion;
        string clientJson = $"{{\"Platform\":{{\"Name\":\"Berth\"}},\"Version\":\"{ClientVersion}\",\"ApiVersion\":\"{apiVersion}\",\"DefaultAPIVersion\":\"{DockerClient.ClientMaxVersion}\",\"GitCommit\":\"\",\"GoVersion\":\".NET {Environment.Version}\",\"Os\":\"linux\",\"Arch\":\"amd64\",\"BuildTime\":\"\",\"Context\":\"default\"}}";
        using (server)
        {
            if (a.Value("format") is { } format)
            {
                using var doc = JsonDocument.Parse($"{{\"Client\":{clientJson},\"Server\":{(server is null ? "null" : server.RootElement.GetRawText())}}}");
                Out.WriteLine(GoTemplate.Render(format, doc.RootElement));
            }
            else
            {
                Out.WriteLine("Client:");
                Out.WriteLine($" Version:           {ClientVersion}");
                Out.WriteLine($" API version:       {apiVersion}{(apiVersion != DockerClient.ClientMaxVersion ? $" (downgraded from {DockerClient.ClientMaxVersion})" : "")}");
                Out.WriteLine($" Go version:        .NET {Environment.Version}");
                Out.WriteLine(" OS/Arch:           linux/amd64");
                Out.WriteLine(" Context:           default");
                if (server is not null)
                {
                    var s = server.RootElement;
                    Out.WriteLine();
                    Out.WriteLine($"Server: {Str(Obj(s, "Platform"), "Name")}");
                    if (Obj(s, "Components") is { ValueKind: JsonValueKind.Array } comps)
                        foreach (var comp in comps.EnumerateArray())
                        {
                            Out.WriteLine($" {Str(comp, "Name")}:");
                            Out.WriteLine($"  Version:          {Str(comp, "Version")}");
                            if (Str(comp, "Name") == "Engine")
                            {
                                var d = Obj(comp, "Details");
                                Out.WriteLine($"  API version:      {Str(d, "ApiVersion")} (minimum version {Str(d, "MinAPIVersion")})");
                                Out.WriteLine($"  Go version:       {Str(d, "GoVersion")}");
                                Out.WriteLine($"  Git commit:       {Str(d, "GitCommit")}");
                                Out.WriteLine($"  Built:            {Str(d, "BuildTime")}");
                                Out.WriteLine($"  OS/Arch:          {Str(d, "Os")}/{Str(d, "Arch")}");
                                Out.WriteLine($"  Experimental:     {Str(d, "Experimental")}");
                            }
                            else if (Str(Obj(comp, "Details"), "GitCommit") is var gc) Out.WriteLine($"  GitCommit:        {gc}");
                        }
                }
            }
        }
        Out.Flush();
        if (serverError is not null) { Err.WriteLine($"berth: {OneLine(serverError)}"); return 1; }
        return 0;
    }

    private async Task<int> Info(List<string> argv, CancellationToken ct)
    {
        var a = new Args("info", argv, [], ["format|f"]);
        a.Require(0, 0, "[OPTIONS]");
        var c = await ClientAsync(ct);
        using var doc = await c.GetJsonAsync("/info", ct);
        var i = doc.RootElement;
        if (a.Value("format") is { } format) { Out.WriteLine(GoTemplate.Render(format, i)); return 0; }
        string V(string k) => Obj(i, k) is { ValueKind: not JsonValueKind.Undefined } v ? GoTemplate.Plain(v) : "";
        var sb = new StringBuilder();
        sb.Append("Client:\n Version:    ").Append(ClientVersion).Append("\n Context:    default\n Debug Mode: false\n\n");
        sb.Append("Server:\n");
        sb.Append($" Containers: {V("Containers")}\n  Running: {V("ContainersRunning")}\n  Paused: {V("ContainersPaused")}\n  Stopped: {V("ContainersStopped")}\n");
        sb.Append($" Images: {V("Images")}\n Server Version: {V("ServerVersion")}\n Storage Driver: {V("Driver")}\n");
        sb.Append($" Logging Driver: {V("LoggingDriver")}\n Cgroup Driver: {V("CgroupDriver")}\n Cgroup Version: {V("CgroupVersion")}\n");
        sb.Append($" Swarm: {Str(Obj(i, "Swarm"), "LocalNodeState")}\n");
        if (Obj(i, "Runtimes") is { ValueKind: JsonValueKind.Object } rt) sb.Append($" Runtimes: {string.Join(' ', rt.EnumerateObject().Select(p => p.Name))}\n");
        sb.Append($" Default Runtime: {V("DefaultRuntime")}\n Init Binary: {V("InitBinary")}\n");
        if (Obj(i, "SecurityOptions") is { ValueKind: JsonValueKind.Array } so)
        {
            sb.Append(" Security Options:\n");
            foreach (var o in so.EnumerateArray())
                foreach (var part in (o.GetString() ?? "").Split(','))
                    sb.Append(part.StartsWith("name=", StringComparison.Ordinal) ? $"  {part[5..]}\n" : $"   {part.Replace("=", ": ")}\n");
        }
        sb.Append($" Kernel Version: {V("KernelVersion")}\n Operating System: {V("OperatingSystem")}\n OSType: {V("OSType")}\n Architecture: {V("Architecture")}\n");
        sb.Append($" CPUs: {V("NCPU")}\n Total Memory: {BinarySize(Num(i, "MemTotal"))}\n Name: {V("Name")}\n ID: {V("ID")}\n");
        sb.Append($" Docker Root Dir: {V("DockerRootDir")}\n Debug Mode: {V("Debug")}\n Experimental: {V("ExperimentalBuild")}\n Live Restore Enabled: {V("LiveRestoreEnabled")}\n");
        Out.Write(sb.ToString());
        return 0;
    }

    private async Task<int> SystemDf(List<string> argv, CancellationToken ct)
    {
        var a = new Args("system df", argv, ["verbose|v"], ["format"]);
        a.Require(0, 0, "[OPTIONS]");
        var c = await ClientAsync(ct);
        using var doc = await c.GetJsonAsync("/system/df", ct);
        var d = doc.RootElement;
        List<JsonElement> List(string k) => Obj(d, k) is { ValueKind: JsonValueKind.Array } arr ? arr.EnumerateArray().ToList() : [];
        var images = List("Images");
        var containers = List("Containers");
        var volumes = List("Volumes");
        var cache = List("BuildCache");
        long imgSize = Num(d, "LayersSize") is > 0 and var ls ? ls : images.Sum(i => Num(i, "Size"));
        long imgActiveSize = images.Where(i => Num(i, "Containers") > 0).Sum(i => Num(i, "Size") - Math.Max(0, Num(i, "SharedSize")));
        long ctSize = containers.Sum(x => Num(x, "SizeRw"));
        long ctReclaim = containers.Where(x => Str(x, "State") != "running").Sum(x => Num(x, "SizeRw"));
        long volSize = volumes.Sum(v => Num(Obj(v, "UsageData"), "Size"));
        long volReclaim = volumes.Where(v => Num(Obj(v, "UsageData"), "RefCount") == 0).Sum(v => Num(Obj(v, "UsageData"), "Size"));
        long cacheSize = cache.Sum(b => Num(b, "Size"));
        string Reclaim(long r, long total) => $"{Formatting.Size(r)}{(total > 0 ? $" ({r * 100 / total}%)" : "")}";
        var rows = new List<JsonElement>
        {
            Row([("Type", "Images"), ("TotalCount", images.Count.ToString(CultureInfo.InvariantCulture)), ("Active", images.Count(i => Num(i, "Containers") > 0).ToString(CultureInfo.InvariantCulture)), ("Size", Formatting.Size(imgSize)), ("Reclaimable", Reclaim(Math.Max(0, imgSize - imgActiveSize), imgSize))]),
            Row([("Type", "Containers"), ("TotalCount", containers.Count.ToString(CultureInfo.InvariantCulture)), ("Active", containers.Count(x => Str(x, "State") == "running").ToString(CultureInfo.InvariantCulture)), ("Size", Formatting.Size(ctSize)), ("Reclaimable", Reclaim(ctReclaim, ctSize))]),
            Row([("Type", "Local Volumes"), ("TotalCount", volumes.Count.ToString(CultureInfo.InvariantCulture)), ("Active", volumes.Count(v => Num(Obj(v, "UsageData"), "RefCount") > 0).ToString(CultureInfo.InvariantCulture)), ("Size", Formatting.Size(volSize)), ("Reclaimable", Reclaim(volReclaim, volSize))]),
            Row([("Type", "Build Cache"), ("TotalCount", cache.Count.ToString(CultureInfo.InvariantCulture)), ("Active", "0"), ("Size", Formatting.Size(cacheSize)), ("Reclaimable", Formatting.Size(cacheSize))]),
        };
        var headers = new Dictionary<string, string> { ["Type"] = "TYPE", ["TotalCount"] = "TOTAL", ["Active"] = "ACTIVE", ["Size"] = "SIZE", ["Reclaimable"] = "RECLAIMABLE" };
        Out.Write(GoTemplate.RenderLines(a.Value("format") ?? "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", rows, headers));
        return 0;
    }

    // login and logout write ~/.docker/config.json (docker's format) with the image library's
    // credential store; the login check talks to the registry from here, as the offline commands do.
    private Task<int> Login(List<string> argv, CancellationToken ct) =>
        new ImageCommands(() => throw new InvalidOperationException("login needs no image store"), Out, Err).RunAsync("login", argv, ct);

    private int Logout(List<string> argv) =>
        new ImageCommands(() => throw new InvalidOperationException("logout needs no image store"), Out, Err).RunAsync("logout", argv, CancellationToken.None).GetAwaiter().GetResult();
}
