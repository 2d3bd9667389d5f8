namespace Berth.Cli.Client;

/// <summary>The daemon answered with an error status; <see cref="Exception.Message"/> is its <c>message</c>.</summary>
public sealed class DaemonException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>No daemon answers on the socket (and none could be started).</summary>
public sealed class DaemonUnreachableException(string message) : Exception(message);

/// <summary>A command failed in a way docker reports as "Error: ..." (not the daemon's words).</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Ends a command with an exit code and no message (the output already said it).</summary>
public sealed class ExitException(int code) : Exception($"exit {code}")
{
    public int Code { get; } = code;
}
