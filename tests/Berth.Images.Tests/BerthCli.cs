using System.Diagnostics;

namespace Berth.Images.Tests;

/// <summary>Runs the real berth CLI (the built berth.dll) as a separate process.</summary>
public static class BerthCli
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "berth.dll");

    public sealed record Result(int Code, string Stdout, string Stderr)
    {
        public string[] ErrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static ProcessStartInfo Start(string root, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll);
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(root);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "dumb";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    public static Result Run(string root, params string[] args) => RunWith(root, null, null, args);

    public static Result RunWith(string root, IDictionary<string, string>? env, string? stdin, params string[] args)
    {
        using var p = Process.Start(Start(root, env, args))!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"berth {string.Join(' ', args)} did not finish"); }
        return new Result(p.ExitCode, so.Result, se.Result);
    }
}
