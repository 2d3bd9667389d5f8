using System.Text;

namespace Berth.Shim;

/// <summary>
/// With BERTH_TIMING=1 (as berth-runtime and berthd), notes how far into the shim's life each
/// create step happened; the notes go to shim.log once the shim has its own stdio.
/// </summary>
internal static class ShimTiming
{
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("BERTH_TIMING") == "1";
    private static readonly long StartNs = Native.NowUnixNs();
    private static readonly StringBuilder Notes = new();

    public static void Mark(string step)
    {
        if (Enabled) lock (Notes) Notes.Append($"[shim timing] {(Native.NowUnixNs() - StartNs) / 1e6,8:F2} ms  {step}\n");
    }

    public static void Flush()
    {
        if (!Enabled) return;
        lock (Notes) { Native.WriteAll(2, Encoding.ASCII.GetBytes(Notes.ToString()), socket: false); Notes.Clear(); }
    }
}
