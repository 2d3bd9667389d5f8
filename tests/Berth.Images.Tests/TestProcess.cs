using System.Diagnostics;

namespace Berth.Images.Tests;

/// <summary>Runs the outside tools the interop tests compare with (skopeo, umoci, htpasswd, ...).</summary>
public static class TestProcess
{
    public static string Run(string file, params string[] args) => RunIn(null, file, args);

    public static string RunIn(string? dir, string file, params string[] args)
    {
        var (code, stdout, stderr) = TryRun(dir, file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {stderr.Trim()}");
        return stdout;
    }

    public static (int Code, string Stdout, string Stderr) TryRun(string? dir, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (dir is not null) psi.WorkingDirectory = dir;
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, so.Result, se.Result);
    }

    public static bool Exists(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => System.IO.File.Exists(System.IO.Path.Combine(d, tool)));
}
