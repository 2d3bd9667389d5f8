using Berth.Cli.Client;
using Berth.Cli.Commands;
using Berth.Images;
using Berth.Images.Registry;
using Berth.Images.Service;

namespace Berth.Cli;

/// <summary>
/// The <c>berth</c> command line: docker's commands and flags as a Docker Engine API client of
/// berthd (the socket from <c>-H</c>, <c>DOCKER_HOST</c>, <c>BERTH_HOST</c>, else the default one,
/// where berthd is started when nothing answers). <c>--root DIR</c> instead runs the image
/// commands in this process on the store at DIR, with no daemon (an offline mode for image work).
/// Every failure is one line on stderr: <c>berth: Error response from daemon: ...</c> for the
/// daemon's errors; exit 125 for usage mistakes and for run/create failures, else docker's codes.
/// </summary>
public static class Program
{
    /// <summary>Set while signals are forwarded to a container (the signal's name without SIG).</summary>
    public static volatile Action<string>? SignalProxy;

    public static async Task<int> Main(string[] argv)
    {
        // Write to fds 1 and 2 directly (see FdStream: not .NET's console streams, not FileStream).
        Console.SetOut(new StreamWriter(StdStream(1), new System.Text.UTF8Encoding(false)) { AutoFlush = true });
        Console.SetError(new StreamWriter(StdStream(2), new System.Text.UTF8Encoding(false)) { AutoFlush = true });
        using var cts = new CancellationTokenSource();
        // SIGINT and SIGTERM go to the container while a foreground run has one (docker's --sig-proxy);
        // otherwise SIGINT cancels the command and SIGTERM ends the process.
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, ctx =>
        {
            ctx.Cancel = true;
            if (SignalProxy is { } proxy) proxy("INT");
            else cts.Cancel();
        });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
        {
            if (SignalProxy is { } proxy) { ctx.Cancel = true; proxy("TERM"); }
        });
        var args = argv.ToList();
        string? root = Environment.GetEnvironmentVariable("BERTH_ROOT");
        string? host = null;
        try
        {
            // Global options before the command.
            while (args.Count > 0 && args[0].StartsWith('-'))
            {
                string a = args[0];
                string? Value(string name)
                {
                    if (a == name) { if (args.Count < 2) throw new UsageException($"flag needs an argument: {name}"); string v = args[1]; args.RemoveAt(0); return v; }
                    return a.StartsWith(name + "=", StringComparison.Ordinal) ? a[(name.Length + 1)..] : null;
                }
                if (Value("--root") is { } r) root = r;
                else if ((Value("-H") ?? Value("--host")) is { } h) host = h;
                else if (Value("--config") is { } cfg) Environment.SetEnvironmentVariable("DOCKER_CONFIG", cfg);
                else if ((Value("--log-level") ?? Value("-l") ?? Value("--context") ?? Value("-c")) is not null) { }
                else if (a is "-D" or "--debug") { }
                else if (a is "-h" or "--help") { Console.Out.Write(Usage); return 0; }
                else if (a is "-v" or "--version") { Console.Out.WriteLine($"Berth version {EngineCommands.ClientVersion}"); return 0; }
                else if (a.StartsWith("--tls", StringComparison.Ordinal)) throw new UsageException($"{a}: berth speaks to unix sockets only");
                else throw new UsageException($"unknown flag: {a}");
                args.RemoveAt(0);
            }
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"berth: {e.Message}");
            return 125;
        }
        if (args.Count == 0) { Console.Out.Write(Usage); return 0; }
        if (!string.IsNullOrEmpty(root) && host is null) return await Offline(root, args, cts.Token);

        EngineCommands? cli = null;
        try
        {
            cli = new EngineCommands(DaemonAddress.Resolve(host), Console.Out, Console.Error);
            return await cli.RunAsync(args[0], args.Skip(1).ToList(), cts.Token);
        }
        catch (HelpRequested h)
        {
            Console.Out.WriteLine($"Usage:  berth {h.Command} [OPTIONS] (docker's flags; see 'docker {h.Command} --help')");
            return 0;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"berth: {e.Message}");
            Console.Error.Flush();
            return 125;
        }
        catch (ExitException e) { return e.Code; }
        catch (DaemonException e)
        {
            Console.Error.WriteLine($"berth: Error response from daemon: {EngineCommands.OneLine(e.Message)}");
            return cli?.DaemonErrorExitCode ?? 1;
        }
        catch (DaemonUnreachableException e)
        {
            Console.Error.WriteLine($"berth: {EngineCommands.OneLine(e.Message)}");
            return cli?.DaemonErrorExitCode ?? 1;
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"berth: {EngineCommands.OneLine(e.Message)}");
            return e.ExitCode == 1 ? cli?.DaemonErrorExitCode ?? 1 : e.ExitCode;
        }
        catch (ImageException e)
        {
            Console.Error.WriteLine($"berth: Error: {EngineCommands.OneLine(e.Message)}");
            return 1;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return 130; // ctrl-c: quiet, like docker
        }
        catch (Exception e)
        {
            // Anything else still ends as one line (an I/O error, the daemon going away mid-stream, a bug).
            Console.Error.WriteLine($"berth: Error: {EngineCommands.OneLine(e.Message)}");
            return cli?.DaemonErrorExitCode ?? 1;
        }
        finally
        {
            Console.Out.Flush();
            cli?.Dispose();
        }
    }

    /// <summary>An unbuffered stream on one of our standard file descriptors.</summary>
    public static Stream StdStream(int fd) => new Terminal.FdStream(fd);

    /// <summary>The image commands in this process on the store at <paramref name="root"/>: no daemon.</summary>
    private static async Task<int> Offline(string root, List<string> args, CancellationToken ct)
    {
        try
        {
            var commands = new ImageCommands(() => OpenService(root), Console.Out, Console.Error);
            return await commands.RunAsync(args[0], args.Skip(1).ToList(), ct);
        }
        catch (HelpRequested h)
        {
            Console.Out.WriteLine($"Usage:  berth --root DIR {h.Command} [OPTIONS]");
            return 0;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"berth: {e.Message}");
            return 125;
        }
        catch (ImageException e)
        {
            Console.Error.WriteLine($"Error: {EngineCommands.OneLine(e.Message)}");
            return 1;
        }
        catch (CliException e)
        {
            // A --format that does not fit the data, for one.
            Console.Error.WriteLine($"berth: {EngineCommands.OneLine(e.Message)}");
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("Error: cancelled");
            return 130;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"Error: {EngineCommands.OneLine(e.Message)}");
            return 1;
        }
    }

    private static IImageService OpenService(string root)
    {
        var insecure = (Environment.GetEnvironmentVariable("BERTH_INSECURE_REGISTRIES") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new ImageService(new ImageServiceOptions
        {
            Root = root,
            Registry = new RegistryOptions { Credentials = new CredentialStore(), InsecureRegistries = insecure },
        });
    }

    public const string Usage = """
        Usage:  berth [OPTIONS] COMMAND

        A Docker Engine API client of berthd: docker's commands and flags.

        Options:
          -H, --host unix:///PATH   daemon socket (else $DOCKER_HOST, $BERTH_HOST, $BERTH_SOCKET, /run/berth/berth.sock;
                                    berthd is started when nothing answers on the default socket)
              --config DIR          client config directory (~/.docker)
              --root DIR            no daemon: image commands in this process on the store at DIR
          -v, --version             print the version

        Containers:
          run, create, start, stop, restart, kill, rm, ps, logs, exec, attach, inspect, top, stats,
          pause, unpause, rename, wait, port, cp, diff, commit, export, update, container prune

        Images:
          images, pull, push, tag, rmi, save, load, history, import, build, image ls|rm|inspect|...

        Volumes:
          volume create, volume ls, volume inspect, volume rm, volume prune

        Networks:
          network create, network ls, network inspect, network rm, network connect, network disconnect, network prune

        System:
          version, info, events, system df, system prune, login, logout

        """;
}
