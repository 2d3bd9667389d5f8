namespace Berth.Images.Tests;

/// <summary>One umoci-built image and one anonymous registry holding it, shared by a test class.</summary>
public sealed class RegistryWithImage : IDisposable
{
    public UmociImage Image { get; } = new();
    public RegistryServer Registry { get; } = new();
    public string Reference => $"{Registry.Host}/test/busybox:{UmociImage.Tag}";

    public RegistryWithImage() => Image.PushTo(Registry.Host, $"test/busybox:{UmociImage.Tag}");

    public void Dispose()
    {
        Registry.Dispose();
        Image.Dispose();
    }
}
