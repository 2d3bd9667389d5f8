using System.Text.Json;

namespace Berth.Runtime.Logging;

/// <summary>
/// runc-style logging: errors and warnings to stderr and, with --log, to a file in text or
/// JSON lines (containerd reads the last error from the JSON log when a call fails).
/// </summary>
public static class RuntimeLog
{
    private static string? _path;
    private static bool _json;
    public static bool Debug { get; set; }

    public static void Configure(string? path, string format, bool debug)
    {
        _path = path;
        _json = format == "json";
        Debug = debug;
    }

    public static void Error(string message) => Write("error", message, toStderr: true);
    public static void Warn(string message) => Write("warning", message, toStderr: true);
    public static void Info(string message) { if (Debug) Write("debug", message, toStderr: false); }

    private static void Write(string level, string message, bool toStderr)
    {
        if (toStderr) Console.Error.WriteLine(message);
        if (_path is null) return;
        string time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        string line = _json
            ? JsonSerializer.Serialize(new LogEntry { Level = level, Msg = message, Time = time }, RuntimeJsonContext.Default.LogEntry)
            : $"time=\"{time}\" level={level} msg=\"{message.Replace("\"", "\\\"")}\"";
        try { File.AppendAllText(_path, line + "\n"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
