using System.Diagnostics;

namespace Berth.Runtime.Logging;

/// <summary>With BERTH_TIMING=1, prints how far into the process each step happened (for profiling the start path).</summary>
public static class Timing
{
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("BERTH_TIMING") == "1";
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    /// <summary>Call first thing in Main, so later marks count from there.</summary>
    public static void Begin() { if (Enabled) _ = Clock.Elapsed; }

    public static void Mark(string what)
    {
        if (!Enabled) return;
        // The second column is CLOCK_MONOTONIC (ms, mod 100 s): it lines up the marks of the
        // runtime, its init and the container's processes, which each count from their own Main.
        double now = Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency % 100_000;
        Console.Error.WriteLine($"[timing {Environment.ProcessId}] {Clock.Elapsed.TotalMilliseconds,7:F2} ms {now,10:F2}  {what}");
    }
}
