using System.Collections.Concurrent;
using Berth.Images.Registry;

namespace Berth.Images.Service;

public sealed partial class ImageService
{
    private readonly AsyncLocal<Credentials?> _callCredentials = new();
    private readonly ConcurrentDictionary<Credentials, RegistryClient> _credentialClients = new();

    /// <summary>
    /// Makes the pulls and pushes of the current call (and what it awaits) use these credentials
    /// instead of the configured store: a daemon gets them per request (docker's X-Registry-Auth).
    /// </summary>
    public IDisposable UseCredentials(Credentials? credentials)
    {
        var before = _callCredentials.Value;
        _callCredentials.Value = credentials;
        return new Restore(() => _callCredentials.Value = before);
    }

    private RegistryClient ClientFor(Credentials c) => _credentialClients.GetOrAdd(c, k => new RegistryClient(new RegistryOptions
    {
        ExplicitCredentials = k,
        InsecureRegistries = _options.Registry.InsecureRegistries,
        MaxAttempts = _options.Registry.MaxAttempts,
        ChunkSize = _options.Registry.ChunkSize,
        RetryDelay = _options.Registry.RetryDelay,
    }));

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
