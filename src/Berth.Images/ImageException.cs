namespace Berth.Images;

/// <summary>
/// A failure a user can act on, with a one-line message that names its cause. The CLI prints
/// <see cref="Exception.Message"/> as is and exits non-zero.
/// </summary>
public class ImageException : Exception
{
    public ImageException(string message) : base(message) { }
    public ImageException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The thing asked for does not exist (image, tag, blob, manifest).</summary>
public sealed class NotFoundException : ImageException
{
    public NotFoundException(string message) : base(message) { }
}

/// <summary>The operation conflicts with the store's state (an image in use, a tag on several images).</summary>
public sealed class ConflictException : ImageException
{
    public ConflictException(string message) : base(message) { }
}
