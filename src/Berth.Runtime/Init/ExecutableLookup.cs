namespace Berth.Runtime.Init;

/// <summary>Finds the program to run the way execvp would, inside the (pivoted) root.</summary>
internal static class ExecutableLookup
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static string Resolve(string name, IReadOnlyList<string> env)
    {
        if (name.Contains('/'))
        {
            // runc's wording, which docker's CLI maps to exit codes: 127 for a missing file, 126 for one it cannot run.
            if (Directory.Exists(name)) throw new RuntimeException($"exec: \"{name}\": is a directory");
            if (!File.Exists(name)) throw new RuntimeException($"exec: \"{name}\": no such file or directory");
            if (!IsExecutable(name)) throw new RuntimeException($"exec: \"{name}\": permission denied");
            return name;
        }
        string path = env.LastOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..] ?? DefaultPath;
        foreach (var dir in path.Split(':'))
        {
            string candidate = Path.Combine(dir.Length == 0 ? "." : dir, name);
            if (File.Exists(candidate) && IsExecutable(candidate)) return candidate;
        }
        throw new RuntimeException($"exec: \"{name}\": executable file not found in $PATH");
    }

    private static bool IsExecutable(string path) =>
        (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
