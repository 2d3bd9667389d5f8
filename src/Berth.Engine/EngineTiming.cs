using System.Diagnostics;

namespace Berth.Engine;

/// <summary>
/// With BERTH_TIMING=1 (the variable berth-runtime also reads), berthd prints each API request's
/// duration and the steps of a container's start and removal to stderr, for profiling the run path.
/// </summary>
public static class EngineTiming
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("BERTH_TIMING") == "1";
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static void Mark(string id, string step)
    {
        if (Enabled) Console.Error.WriteLine($"berthd timing {Clock.Elapsed.TotalMilliseconds,10:F2} ms {(id.Length > 12 ? id[..12] : id),-12} {step}");
    }
}
