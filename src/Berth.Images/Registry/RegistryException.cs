using System.Net;

namespace Berth.Images.Registry;

/// <summary>A registry refused or failed a request; the message names the registry, what was asked, and why.</summary>
public sealed class RegistryException : ImageException
{
    public HttpStatusCode? Status { get; }

    public RegistryException(string message, HttpStatusCode? status = null) : base(message) => Status = status;
    public RegistryException(string message, Exception inner) : base(message, inner) { }
}
