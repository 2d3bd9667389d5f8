using System.Diagnostics;
using System.Text.Json;
using Berth.Oci;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Hooks;

/// <summary>Runs OCI hooks: the container state on stdin, the hook's own env, its timeout.</summary>
public static class HookRunner
{
    public static void RunAll(IEnumerable<Hook>? hooks, string phase, ContainerState state)
    {
        if (hooks is null) return;
        byte[] stdin = JsonSerializer.SerializeToUtf8Bytes(state, OciJsonContext.Default.ContainerState);
        int i = 0;
        foreach (var hook in hooks) Run(hook, $"{phase}[{i++}]", stdin);
    }

    /// <summary>
    /// For poststart and poststop: the spec says a failing hook only earns a warning, and the
    /// remaining hooks and the lifecycle continue as if it had succeeded.
    /// </summary>
    public static void RunAllWarning(IEnumerable<Hook>? hooks, string phase, ContainerState state)
    {
        if (hooks is null) return;
        byte[] stdin = JsonSerializer.SerializeToUtf8Bytes(state, OciJsonContext.Default.ContainerState);
        int i = 0;
        foreach (var hook in hooks)
        {
            try { Run(hook, $"{phase}[{i++}]", stdin); }
            catch (RuntimeException e) { Logging.RuntimeLog.Warn(e.Message); }
        }
    }

    private static void Run(Hook hook, string name, byte[] stdin)
    {
        var psi = new ProcessStartInfo(hook.Path!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // args[0] is the hook's argv[0]; .NET always passes the path there, so the rest follows.
        if (hook.Args is { Count: > 1 })
            foreach (var a in hook.Args.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var e in hook.Env ?? new List<string>())
        {
            int eq = e.IndexOf('=');
            if (eq > 0) psi.Environment[e[..eq]] = e[(eq + 1)..];
        }

        System.Diagnostics.Process p;
        try { p = System.Diagnostics.Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            // The errno of the failed exec, in words (the exception's own text is a resource key in this build).
            throw new RuntimeException(new Berth.Linux.LinuxException(e.NativeErrorCode, $"hook {name} {hook.Path}").Message);
        }
        catch (Exception e) { throw new RuntimeException($"hook {name} {hook.Path}: {e.Message}"); }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            try
            {
                p.StandardInput.BaseStream.Write(stdin);
                p.StandardInput.Close();
            }
            catch (IOException) { /* a hook need not read its stdin */ }

            int timeoutMs = hook.Timeout is int t ? t * 1000 : -1;
            if (!p.WaitForExit(timeoutMs))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                throw new RuntimeException($"hook {name} {hook.Path}: timed out after {hook.Timeout}s");
            }
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                string output = (stderr.Result + stdout.Result).Trim().ReplaceLineEndings(" ");
                throw new RuntimeException($"hook {name} {hook.Path}: exit status {p.ExitCode}{(output.Length > 0 ? ": " + output : "")}");
            }
        }
    }
}
