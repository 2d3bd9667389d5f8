namespace Berth.Cli.Client;

/// <summary>
/// Which daemon socket the CLI talks to: <c>-H</c>, then <c>DOCKER_HOST</c>, then <c>BERTH_HOST</c>,
/// then the default socket (<c>BERTH_SOCKET</c> or /run/berth/berth.sock). Only the default one is
/// ours to start when nothing answers: a socket named by the user may belong to another daemon.
/// </summary>
public sealed record DaemonAddress(string SocketPath, bool IsDefault)
{
    public const string DefaultSocket = "/run/berth/berth.sock";

    public string Url => "unix://" + SocketPath;

    public static DaemonAddress Resolve(string? hostFlag)
    {
        string? named = hostFlag;
        if (string.IsNullOrEmpty(named)) named = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(named)) named = Environment.GetEnvironmentVariable("BERTH_HOST");
        if (!string.IsNullOrEmpty(named)) return new DaemonAddress(ParseHost(named), IsDefault: false);
        string? socket = Environment.GetEnvironmentVariable("BERTH_SOCKET");
        return new DaemonAddress(string.IsNullOrEmpty(socket) ? DefaultSocket : socket, IsDefault: true);
    }

    public static string ParseHost(string host)
    {
        if (host.StartsWith("unix://", StringComparison.Ordinal)) return host[7..];
        if (host.StartsWith('/')) return host;
        if (host.StartsWith("tcp://", StringComparison.Ordinal) || host.StartsWith("ssh://", StringComparison.Ordinal) || host.StartsWith("npipe://", StringComparison.Ordinal))
            throw new UsageException($"unsupported host \"{host}\": berth speaks to unix sockets only (unix:///path)");
        throw new UsageException($"invalid host \"{host}\": expected unix:///path");
    }
}
