using System.Diagnostics;

namespace Berth.Integration.Tests.Support;

public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>Runs a program to completion (with a timeout that kills it) and captures its output.</summary>
public static class Command
{
    public static CommandResult Run(string file, IEnumerable<string> args, string? stdin = null, int timeoutMs = 60_000, string? cwd = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutMs} ms");
        }
        p.WaitForExit();
        return new CommandResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Runs a command whose children outlive it (create, run -d): their stdio must not be our
    /// pipes, or reading to EOF would wait for the container. Output goes through files.
    /// </summary>
    public static CommandResult RunDetached(string file, IEnumerable<string> args, int timeoutMs = 60_000)
    {
        string outFile = Path.GetTempFileName(), errFile = Path.GetTempFileName();
        try
        {
            var argv = new List<string> { "-c", "exec \"$0\" \"$@\" </dev/null >\"$BERTH_OUT\" 2>\"$BERTH_ERR\"", file };
            argv.AddRange(args);
            var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            foreach (var a in argv) psi.ArgumentList.Add(a);
            psi.Environment["BERTH_OUT"] = outFile;
            psi.Environment["BERTH_ERR"] = errFile;
            using var p = Process.Start(psi)!;
            if (!p.WaitForExit(timeoutMs))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutMs} ms");
            }
            return new CommandResult(p.ExitCode, File.ReadAllText(outFile), File.ReadAllText(errFile));
        }
        finally
        {
            File.Delete(outFile);
            File.Delete(errFile);
        }
    }

    public static CommandResult Sh(string script, int timeoutMs = 60_000) => Run("/bin/sh", new[] { "-c", script }, timeoutMs: timeoutMs);
}
