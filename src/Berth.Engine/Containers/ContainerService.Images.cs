using Berth.Images.Service;

namespace Berth.Engine.Containers;

public sealed partial class ContainerService
{
    /// <summary>The containers created from an image id (docker refuses to delete or prune what they use).</summary>
    public IReadOnlyList<ImageUser> UsersOfImage(string imageId) =>
        _containers.Values.Where(c => c.R.ImageId == imageId && !c.Removing)
            .OrderByDescending(c => c.Running).ThenBy(c => c.R.Created, StringComparer.Ordinal)
            .Select(c => new ImageUser(c.Id, c.Running)).ToList();
}
