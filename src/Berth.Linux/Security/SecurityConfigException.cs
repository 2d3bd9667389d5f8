namespace Berth.Linux.Security;

/// <summary>
/// A capability or seccomp setting in a container config that Berth cannot honour: an unknown
/// name, action, operator, architecture or flag. The message is one line and names the config
/// field and the offending value, e.g.
/// <c>unknown capability "CAP_FOO" in process.capabilities.bounding</c>.
/// </summary>
public sealed class SecurityConfigException : Exception
{
    public SecurityConfigException(string message) : base(message) { }
}
