using Berth.Images;
using Berth.Images.Registry;
using Berth.Images.Service;

namespace Berth.Cli;

/// <summary>
/// The <c>berth</c> command line. Image commands run in-process on the store for now, through
/// <see cref="IImageService"/> (a later issue routes them through berthd). Every failure is one
/// line on stderr and a non-zero exit: 1 for an operation that failed, 125 for a usage mistake.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] argv)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        var args = argv.ToList();
        string? root = Environment.GetEnvironmentVariable("BERTH_ROOT");
        // Global options before the command.
        while (args.Count > 0 && args[0].StartsWith('-'))
        {
            if (args[0] == "--root" && args.Count > 1) { root = args[1]; args.RemoveRange(0, 2); }
            else if (args[0].StartsWith("--root=", StringComparison.Ordinal)) { root = args[0][7..]; args.RemoveAt(0); }
            else if (args[0] is "-h" or "--help") { Console.Out.Write(Usage); return 0; }
            else if (args[0] is "-v" or "--version") { Console.Out.WriteLine("Berth version 0.1.0"); return 0; }
            else { Console.Error.WriteLine($"unknown flag: {args[0]}"); return 125; }
        }
        if (args.Count == 0) { Console.Out.Write(Usage); return 0; }

        try
        {
            var commands = new ImageCommands(() => OpenService(root), Console.Out, Console.Error);
            return await commands.RunAsync(args[0], args.Skip(1).ToList(), cts.Token);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"berth: {e.Message}");
            return 125;
        }
        catch (ImageException e)
        {
            Console.Error.WriteLine($"Error: {OneLine(e.Message)}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("Error: cancelled");
            return 130;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"Error: {OneLine(e.Message)}");
            return 1;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    private static IImageService OpenService(string? root)
    {
        var insecure = (Environment.GetEnvironmentVariable("BERTH_INSECURE_REGISTRIES") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new ImageService(new ImageServiceOptions
        {
            Root = string.IsNullOrEmpty(root) ? ImageServiceOptions.DefaultRoot : root,
            Registry = new RegistryOptions { Credentials = new CredentialStore(), InsecureRegistries = insecure },
        });
    }

    public const string Usage = """
        Usage:  berth [--root DIR] COMMAND

        Image commands (store at --root, $BERTH_ROOT, or /var/lib/berth):
          pull [--platform OS/ARCH] [-q] NAME[:TAG|@DIGEST]
          push NAME[:TAG]
          images [-q] [-a] [--digests] [--no-trunc] [--filter F]... [--format T] [REPOSITORY[:TAG]]
          tag SOURCE TARGET
          rmi [-f] IMAGE...
          image inspect [-f FORMAT] IMAGE...   (also: inspect)
          history [-q] [--no-trunc] IMAGE
          save -o FILE [--format docker|oci] IMAGE...
          load -i FILE [-q]
          import [-c CHANGE]... [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]
          image prune [-a] [-f] [--filter F]...
          login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]
          logout [SERVER]

        """;
}
