using System.Diagnostics;
using Berth.Linux.Cgroups;
using Berth.Linux.Interop;

namespace Berth.Linux.Tests.Cgroups;

/// <summary>
/// A unique parent cgroup (/berth-test-&lt;random&gt;) for one test, plus the child processes the test starts.
/// Dispose kills those processes, thaws, and removes the parent in every hierarchy, even when the test failed.
/// </summary>
public sealed class CgroupTestScope : IDisposable
{
    public string Parent { get; } = "/berth-test-" + Guid.NewGuid().ToString("N")[..12];
    public CgroupLayout Layout { get; }
    private readonly List<Process> _processes = new();
    private readonly List<string> _extraDirs = new();

    public CgroupTestScope(CgroupLayout? layout = null) => Layout = layout ?? CgroupLayout.Current;

    public string Path(string leaf) => Parent + "/" + leaf;

    /// <summary>Also remove this host directory at the end (for cgroups placed elsewhere, e.g. relative paths).</summary>
    public void AlsoRemove(string hostDir) => _extraDirs.Add(hostDir);

    /// <summary>Starts a process with stdin/stdout/stderr redirected, so a test can hold it until it is moved.</summary>
    public Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (Exception) { }
        }
        var dirs = Layout.Hierarchies.Select(h => h.HostPath(Parent)).Concat(_extraDirs).ToList();
        foreach (var dir in dirs) Thaw(dir);
        foreach (var dir in dirs) KillAll(dir);
        foreach (var p in _processes)
        {
            try { p.WaitForExit(5000); } catch (Exception) { }
            p.Dispose();
        }
        foreach (var dir in dirs)
        {
            try { CgroupFiles_RemoveTree(dir); } catch (Exception) { }
        }
    }

    private static void Thaw(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var sub in Directory.GetDirectories(dir)) Thaw(sub);
        if (File.Exists(System.IO.Path.Combine(dir, "freezer.state"))) TryWrite(dir, "freezer.state", "THAWED");
        if (File.Exists(System.IO.Path.Combine(dir, "cgroup.freeze"))) TryWrite(dir, "cgroup.freeze", "0");
    }

    private static void KillAll(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var sub in Directory.GetDirectories(dir)) KillAll(sub);
        try
        {
            foreach (var line in File.ReadAllLines(System.IO.Path.Combine(dir, "cgroup.procs")))
                if (int.TryParse(line, out var pid)) LibC.kill(pid, Sig.KILL);
        }
        catch (IOException) { }
    }

    private static void TryWrite(string dir, string file, string v)
    {
        try { File.WriteAllText(System.IO.Path.Combine(dir, file), v); } catch (IOException) { }
    }

    private static void CgroupFiles_RemoveTree(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var sub in Directory.GetDirectories(dir)) CgroupFiles_RemoveTree(sub);
        for (int i = 0; i < 100; i++)
        {
            if (LibC.rmdir(dir) == 0 || !Directory.Exists(dir)) return;
            Thread.Sleep(50);
        }
    }

    /// <summary>Waits until the condition holds (process state changes are asynchronous).</summary>
    public static bool Eventually(Func<bool> condition, int timeoutMs = 5000)
    {
        var sw = Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < timeoutMs)
        {
            if (condition()) return true;
            Thread.Sleep(10);
        }
        return condition();
    }

    /// <summary>The state letter of /proc/&lt;pid&gt;/stat (R, S, D, T, Z ...).</summary>
    public static char ProcState(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }
}
