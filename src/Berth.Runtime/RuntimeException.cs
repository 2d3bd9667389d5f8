namespace Berth.Runtime;

/// <summary>An error the runtime reports to its caller as one line (bad input, a failed step).</summary>
public sealed class RuntimeException : Exception
{
    public RuntimeException(string message) : base(message) { }
    public RuntimeException(string message, Exception inner) : base(message, inner) { }
}
