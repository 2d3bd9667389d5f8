using Berth.Engine.Events;
using Berth.Images;
using Berth.Images.Service;

namespace Berth.Engine.Images;

/// <summary>
/// Image events as docker logs them: Actor.ID is the image id (the reference for pull and push),
/// the attributes are the image's labels plus "name" (the reference concerned, or the id).
/// </summary>
public sealed class ImageEvents(EventBus bus, ImageService images)
{
    public void Publish(string action, string id, string? name = null, IReadOnlyDictionary<string, string>? labels = null)
    {
        var attrs = new Dictionary<string, string>(labels ?? LabelsOf(id));
        attrs["name"] = name ?? id;
        bus.Publish("image", action, id, attrs);
    }

    /// <summary>The labels of an image (none when it is gone or unreadable).</summary>
    public IReadOnlyDictionary<string, string> LabelsOf(string nameOrId)
    {
        try { return images.GetConfig(nameOrId).Config?.Labels ?? new Dictionary<string, string>(); }
        catch (ImageException) { return new Dictionary<string, string>(); }
    }

    /// <summary>untag per reference removed, delete per image removed (layers make no event).</summary>
    public void PublishDeletes(IEnumerable<ImageDeleteItem> items, Func<string, IReadOnlyDictionary<string, string>> labelsBefore)
    {
        foreach (var i in items)
        {
            if (i.Untagged is not null) Publish("untag", i.ImageId, i.ImageId, labelsBefore(i.ImageId));
            else if (!i.IsLayer) Publish("delete", i.ImageId, i.ImageId, labelsBefore(i.ImageId));
        }
    }
}
