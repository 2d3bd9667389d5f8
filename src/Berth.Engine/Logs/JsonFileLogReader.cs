using System.Text;
using System.Text.Json;
using Berth.Engine.Api;

namespace Berth.Engine.Logs;

public sealed record LogOptions(bool Stdout, bool Stderr, bool Timestamps, bool Follow, DateTime? Since, DateTime? Until, int Tail);

/// <summary>Reads docker's json-file logs (rotated files oldest first), filters them, and follows the live file.</summary>
public static class JsonFileLogReader
{
    /// <summary>Writes log entries to <paramref name="output"/> (multiplexed unless <paramref name="tty"/>) until the end, or while <paramref name="running"/> when following.</summary>
    public static async Task CopyAsync(string path, LogOptions o, bool tty, Func<bool> running, Stream output, CancellationToken ct)
    {
        var files = new List<string>();
        for (int i = 20; i >= 1; i--) if (File.Exists($"{path}.{i}")) files.Add($"{path}.{i}");
        var lines = new List<JsonLogLine>();
        foreach (var f in files) lines.AddRange(ReadAll(f, out _));
        long offset = 0;
        if (File.Exists(path)) lines.AddRange(ReadAll(path, out offset));
        IEnumerable<JsonLogLine> selected = lines.Where(l => Keep(l, o));
        if (o.Tail >= 0) selected = selected.TakeLast(o.Tail);
        foreach (var l in selected) await WriteAsync(output, l, o, tty, ct);
        await output.FlushAsync(ct);
        if (!o.Follow) return;
        var partial = new StringBuilder();
        while (!ct.IsCancellationRequested)
        {
            bool wasRunning = running();
            if (File.Exists(path))
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                if (fs.Length < offset) offset = 0; // rotated
                fs.Seek(offset, SeekOrigin.Begin);
                var buf = new byte[fs.Length - offset];
                int n = await fs.ReadAsync(buf, ct);
                offset += n;
                partial.Append(Encoding.UTF8.GetString(buf, 0, n));
                string text = partial.ToString();
                int last = text.LastIndexOf('\n');
                if (last >= 0)
                {
                    foreach (var raw in text[..last].Split('\n'))
                        if (Parse(raw) is { } l && Keep(l, o)) await WriteAsync(output, l, o, tty, ct);
                    partial.Clear().Append(text[(last + 1)..]);
                    await output.FlushAsync(ct);
                }
            }
            if (!wasRunning) return;
            if (o.Until is { } u && DateTime.UtcNow > u) return;
            await Task.Delay(50, ct);
        }
    }

    private static bool Keep(JsonLogLine l, LogOptions o) =>
        (l.Stream == "stderr" ? o.Stderr : o.Stdout)
        && (o.Since is not { } s || l.Time >= s)
        && (o.Until is not { } u || l.Time <= u);

    private static List<JsonLogLine> ReadAll(string path, out long length)
    {
        var result = new List<JsonLogLine>();
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var data = new byte[fs.Length];
        fs.ReadExactly(data);
        string text = Encoding.UTF8.GetString(data);
        int last = text.LastIndexOf('\n');
        length = Encoding.UTF8.GetByteCount(text.AsSpan(0, last + 1));
        foreach (var raw in text[..(last + 1)].Split('\n'))
            if (Parse(raw) is { } l) result.Add(l);
        return result;
    }

    private static JsonLogLine? Parse(string raw)
    {
        if (raw.Length == 0) return null;
        try { return JsonSerializer.Deserialize(raw, EngineJsonContext.Default.JsonLogLine); }
        catch (JsonException) { return null; }
    }

    private static async Task WriteAsync(Stream output, JsonLogLine l, LogOptions o, bool tty, CancellationToken ct)
    {
        string text = o.Timestamps ? $"{Containers.ContainerService.Rfc3339(l.Time.ToUniversalTime())} {l.Log}" : l.Log;
        var payload = Encoding.UTF8.GetBytes(text);
        if (tty) await output.WriteAsync(payload, ct);
        else await output.WriteAsync(Shim.ShimClient.Frame(l.Stream == "stderr" ? (byte)2 : (byte)1, payload), ct);
    }
}
