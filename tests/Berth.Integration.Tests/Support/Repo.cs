namespace Berth.Integration.Tests.Support;

/// <summary>Finds the repository and the published binaries the tests drive.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Berth.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Berth.slnx not found above the test binaries");
    }

    /// <summary>artifacts/bin/NAME (published by test.sh), or $BERTH_BIN/NAME.</summary>
    public static string Binary(string name)
    {
        string dir = Environment.GetEnvironmentVariable("BERTH_BIN") ?? Path.Combine(Root, "artifacts", "bin");
        string path = Path.Combine(dir, name);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: publish it first (./test.sh does: dotnet publish src/{name} -c Release -o artifacts/bin)");
        return path;
    }
}
