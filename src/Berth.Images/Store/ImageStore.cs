using System.Text.Json;
using Berth.Images.Models;

namespace Berth.Images.Store;

/// <summary>
/// Image metadata: one JSON file (<c>ROOT/metadata.json</c>) replaced atomically on every change,
/// under an flock so that two processes never lose each other's update. An image appears only
/// when its record is written, which is the last step of a pull or load: a crash before it
/// leaves no half-made image.
/// </summary>
public sealed class ImageStore
{
    private readonly string _file;
    private readonly string _lock;

    public ImageStore(string root)
    {
        Directory.CreateDirectory(root);
        _file = Path.Combine(root, "metadata.json");
        _lock = Path.Combine(root, "metadata.lock");
    }

    public StoreMetadata Read()
    {
        if (!File.Exists(_file)) return new StoreMetadata();
        byte[] data = File.ReadAllBytes(_file);
        try
        {
            return JsonSerializer.Deserialize(data, ImagesJsonContext.Default.StoreMetadata) ?? new StoreMetadata();
        }
        catch (JsonException e)
        {
            throw new ImageException($"image metadata {_file} is corrupt: {e.Message}");
        }
    }

    /// <summary>Reads, changes and writes the metadata under the store's lock; returns what <paramref name="change"/> returns.</summary>
    public T Update<T>(Func<StoreMetadata, T> change)
    {
        using var l = FileLock.Acquire(_lock, exclusive: true);
        var m = Read();
        T result = change(m);
        AtomicFile.WriteAllBytes(_file, JsonSerializer.SerializeToUtf8Bytes(m, ImagesJsonContext.Default.StoreMetadata));
        return result;
    }

    public void Update(Action<StoreMetadata> change) => Update<int>(m => { change(m); return 0; });
}
