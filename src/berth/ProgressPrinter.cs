using Berth.Images.Service;

namespace Berth.Cli;

/// <summary>
/// Shows pull and push progress as docker does: on a terminal, one line per layer redrawn in
/// place with a bar; otherwise one line per change of status (no download ticks).
/// </summary>
public sealed class ProgressPrinter : IProgress<ProgressEvent>
{
    private readonly TextWriter _out;
    private readonly bool _tty;
    private readonly bool _quiet;
    private readonly List<string> _order = [];
    private readonly Dictionary<string, string> _lines = new();
    private readonly Dictionary<string, string> _lastStatus = new();
    private readonly Lock _gate = new();
    private int _drawn;
    private DateTime _lastDraw;

    /// <param name="tty">whether <paramref name="output"/> is a terminal (default: whether stdout is)</param>
    public ProgressPrinter(TextWriter output, bool quiet, bool? tty = null)
    {
        _out = output;
        _quiet = quiet;
        _tty = (tty ?? !Console.IsOutputRedirected) && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");
    }

    public void Report(ProgressEvent e)
    {
        if (_quiet) return;
        lock (_gate)
        {
            if (e.Id.Length == 0 || !IsLayerId(e.Id))
            {
                Flush(force: true);
                _out.WriteLine(e.Id.Length == 0 ? e.Status : $"{e.Id}: {e.Status}");
                _drawn = 0;
                _order.Clear();
                _lines.Clear();
                return;
            }
            if (!_tty)
            {
                if (_lastStatus.TryGetValue(e.Id, out var prev) && prev == e.Status) return;
                _lastStatus[e.Id] = e.Status;
                if (e.Status is "Downloading" or "Pushing" or "Extracting") return;
                _out.WriteLine($"{e.Id}: {e.Status}");
                return;
            }
            if (!_lines.ContainsKey(e.Id)) _order.Add(e.Id);
            _lines[e.Id] = e.Status is "Downloading" or "Pushing" or "Extracting" && e.Total > 0
                ? $"{e.Id}: {e.Status,-12} {Bar(e.Current, e.Total)} {Formatting.Size(e.Current)}/{Formatting.Size(e.Total)}"
                : $"{e.Id}: {e.Status}";
            Flush(force: e.Status is not ("Downloading" or "Pushing"));
        }
    }

    private static bool IsLayerId(string id) => id.Length == 12 && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private void Flush(bool force)
    {
        if (!_tty || _order.Count == 0) return;
        if (!force && DateTime.UtcNow - _lastDraw < TimeSpan.FromMilliseconds(100)) return;
        _lastDraw = DateTime.UtcNow;
        if (_drawn > 0) _out.Write($"\x1b[{_drawn}A");
        foreach (var id in _order) _out.Write($"\x1b[2K{_lines[id]}\n");
        _drawn = _order.Count;
        _out.Flush();
    }

    private static string Bar(long cur, long total)
    {
        const int width = 40;
        int filled = total <= 0 ? 0 : (int)Math.Min(width, cur * width / total);
        return "[" + new string('=', Math.Max(0, filled - 1)) + (filled > 0 ? ">" : "") + new string(' ', width - filled) + "]";
    }
}
