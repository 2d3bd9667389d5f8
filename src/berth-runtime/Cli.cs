using Berth.Runtime;
using Berth.Runtime.Init;
using Berth.Runtime.Logging;
using Berth.Runtime.State;

namespace Berth.RuntimeCli;

/// <summary>berth-runtime: an OCI runtime with runc's command line.</summary>
public static class Cli
{
    public const string Version = "0.1.0";

    public static int Main(string[] args)
    {
        Berth.Runtime.Logging.Timing.Begin();
        // The init re-exec: before anything else, and with nothing of the CLI around it.
        if (args.Length == 1 && args[0] == "init") return ContainerInit.Run();

        var global = new ArgParser()
            .Flag("root").Flag("log").Flag("log-format").Bool("debug").Bool("systemd-cgroup")
            .Flag("criu").Flag("rootless").Bool("version|v").Bool("help|h");
        try
        {
            global.Parse(args, stopAtPositional: true);
            if (global.Has("version"))
            {
                Console.WriteLine($"berth-runtime version {Version}\nspec: {Berth.Oci.Runtime.SpecVersion.Current}");
                return 0;
            }
            RuntimeLog.Configure(global.Get("log"), global.Get("log-format") ?? "text", global.Has("debug"));
            if (global.Get("log-format") is string lf && lf is not ("text" or "json"))
                throw new UsageException($"--log-format: unknown format \"{lf}\" (text or json)");
            if (global.Has("systemd-cgroup") && !Directory.Exists("/run/systemd/system"))
                RuntimeLog.Warn("--systemd-cgroup: systemd is not running here; using cgroupfs paths");
            if (global.Positional.Count == 0 || global.Has("help"))
            {
                Console.Out.Write(Usage);
                return global.Has("help") ? 0 : 1;
            }
            var store = new StateStore(global.Get("root") ?? StateStore.DefaultRoot);
            string command = global.Positional[0];
            var rest = global.Positional.Skip(1).ToList();
            return Commands.Run(command, rest, store);
        }
        catch (UsageException e)
        {
            RuntimeLog.Error(e.Message);
            return 1;
        }
        catch (Exception e) when (e is RuntimeException or Berth.Linux.LinuxException or Berth.Linux.Cgroups.CgroupException or Berth.Linux.Security.SecurityConfigException or IOException or UnauthorizedAccessException)
        {
            RuntimeLog.Error(e.Message);
            return 1;
        }
    }

    private const string Usage = """
        usage: berth-runtime [global options] command [options] [arguments]

        An OCI runtime (runtime-spec 1.2, Linux), with runc's command line.

        commands:
          create    create a container from a bundle        start     run the created container's process
          run       create and start                        state     print a container's state (JSON)
          kill      send a signal to a container            delete    remove a container
          exec      run another process in a container      list      list containers
          ps        processes of a container                pause     freeze a container
          resume    thaw a container                        events    stats and OOM events
          update    change resource limits                  spec      write a default config.json
          features  what this runtime supports (JSON)

        global options:
          --root DIR  --log FILE  --log-format text|json  --debug  --systemd-cgroup  --version

        """;
}
