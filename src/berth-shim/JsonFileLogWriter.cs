using System.Text;
using System.Text.Json;
using Berth.Engine.Shim;

namespace Berth.Shim;

/// <summary>
/// Docker's json-file log: one JSON object per line, <c>{"log":"...","stream":"stdout","time":"RFC3339Nano"}</c>.
/// Output is cut at newlines (a partial line waits for its end, up to 16 KiB, as docker does);
/// the file rotates to .1, .2, ... when it grows beyond max-size, keeping max-file files.
/// </summary>
public sealed class JsonFileLogWriter : IDisposable
{
    private const int MaxLine = 16 * 1024;
    private readonly string _path;
    private readonly long _maxSize;
    private readonly int _maxFile;
    private FileStream _fs;
    private readonly MemoryStream[] _partial = [new(), new(), new()];
    private readonly object _lock = new();

    public JsonFileLogWriter(string path, long maxSize, int maxFile)
    {
        _path = path;
        _maxSize = maxSize;
        _maxFile = Math.Max(1, maxFile);
        _fs = Open();
    }

    private FileStream Open() => new(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);

    public void Write(byte kind, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            var partial = _partial[kind];
            while (data.Length > 0)
            {
                int nl = data.IndexOf((byte)'\n');
                if (nl < 0)
                {
                    partial.Write(data);
                    if (partial.Length >= MaxLine) { Emit(kind, partial); }
                    return;
                }
                partial.Write(data[..(nl + 1)]);
                Emit(kind, partial);
                data = data[(nl + 1)..];
            }
        }
    }

    private void Emit(byte kind, MemoryStream partial)
    {
        string text = Encoding.UTF8.GetString(partial.GetBuffer(), 0, (int)partial.Length);
        partial.SetLength(0);
        var buf = new MemoryStream();
        using (var w = new Utf8JsonWriter(buf))
        {
            w.WriteStartObject();
            w.WriteString("log", text);
            w.WriteString("stream", kind == ShimProtocol.Stderr ? "stderr" : "stdout");
            w.WriteString("time", Rfc3339Nano(DateTime.UtcNow));
            w.WriteEndObject();
        }
        buf.WriteByte((byte)'\n');
        if (_maxSize > 0 && _fs.Length + buf.Length > _maxSize && _fs.Length > 0) Rotate();
        _fs.Write(buf.GetBuffer(), 0, (int)buf.Length);
    }

    private void Rotate()
    {
        _fs.Dispose();
        if (_maxFile <= 1) { _fs = new FileStream(_path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1); return; }
        for (int i = _maxFile - 1; i >= 1; i--)
        {
            string from = i == 1 ? _path : $"{_path}.{i - 1}";
            if (File.Exists(from)) File.Move(from, $"{_path}.{i}", true);
        }
        _fs = Open();
    }

    /// <summary>RFC 3339 with nanoseconds, trailing zeros trimmed (Go's time.RFC3339Nano).</summary>
    public static string Rfc3339Nano(DateTime utc)
    {
        string frac = (utc.Ticks % TimeSpan.TicksPerSecond).ToString("0000000") + "00";
        frac = frac.TrimEnd('0');
        return utc.ToString("yyyy-MM-ddTHH:mm:ss") + (frac.Length > 0 ? "." + frac : "") + "Z";
    }

    public void Flush()
    {
        lock (_lock)
        {
            for (byte k = 1; k <= 2; k++) if (_partial[k].Length > 0) Emit(k, _partial[k]);
            _fs.Flush(true);
        }
    }

    public void Dispose()
    {
        Flush();
        _fs.Dispose();
    }
}
