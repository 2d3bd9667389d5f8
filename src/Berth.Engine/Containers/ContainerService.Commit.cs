using Berth.Images;
using Berth.Images.Archive;
using Berth.Images.References;
using Berth.Images.Service;
using Berth.Linux.Interop;
using ImageContainerConfig = Berth.Images.Models.ContainerConfig;

namespace Berth.Engine.Containers;

public sealed partial class ContainerService
{
    /// <summary>POST /commit's parameters.</summary>
    public sealed record CommitOptions(string? Repo, string? Tag, string? Comment, string? Author, IReadOnlyList<string> Changes, bool Pause);

    /// <summary>
    /// docker commit: a new image whose top layer is the container's writable overlay layer (overlay
    /// whiteouts turned back into OCI <c>.wh.</c> entries, the runtime's mount points left out), with the
    /// container's config and the --change instructions applied. A running container is paused meanwhile
    /// (docker's default) so the layer is one moment's state.
    /// </summary>
    public async Task<string> CommitAsync(Container c, CommitOptions o)
    {
        string? reference = null;
        if (!string.IsNullOrEmpty(o.Repo))
        {
            reference = string.IsNullOrEmpty(o.Tag) ? o.Repo : o.Repo + ":" + o.Tag;
            if (!ImageReference.TryParse(reference, out var parsed, out var err)) throw EngineException.BadRequest($"invalid reference format: {err}");
            reference = parsed!.ToString();
        }
        else if (!string.IsNullOrEmpty(o.Tag)) throw EngineException.BadRequest("tag without a repository: give repo= as well");

        var config = CommitConfig(c);
        foreach (var change in o.Changes)
        {
            try { Berth.Images.Archive.ChangeInstructions.Apply(config, change); }
            catch (ImageException e) { throw EngineException.BadRequest(e.Message); }
        }

        var mounts = Images.Snapshots.MountsOf(c.Id);
        if (mounts.UpperDir is not { } upper || !Directory.Exists(upper))
            throw new EngineException(501, $"commit is not available with the {Images.Snapshots.Name} snapshotter");

        bool paused = false;
        if (o.Pause && c.Running && !c.R.State.Paused)
        {
            try { await PauseAsync(c, true); paused = true; }
            catch (EngineException) { } // it stopped meanwhile: its layer is still
        }
        try
        {
            var request = new CommitRequest(c.R.ImageId, config, o.Comment, o.Author,
                string.Join(' ', new[] { c.R.Path }.Concat(c.R.Args)), reference);
            string id = await Task.Run(() => Images.CommitImage(request, layer => WriteDiffLayer(upper, layer)));
            Publish(c, "commit", new() { ["comment"] = o.Comment ?? "", ["imageID"] = id });
            return id;
        }
        catch (NotFoundException e) { throw EngineException.NotFound(e.Message); }
        catch (ImageException e) { throw new EngineException(500, $"commit of {c.ShortId}: {e.Message}"); }
        finally
        {
            if (paused) { try { await PauseAsync(c, false); } catch (EngineException) { } }
        }
    }

    /// <summary>The writable layer as an OCI layer tar.</summary>
    internal static void WriteDiffLayer(string upper, Stream output)
    {
        int fd = LibC.open(upper, O.PATH | O.DIRECTORY | O.CLOEXEC, 0);
        if (fd < 0) throw new Berth.Linux.LinuxException(Errno.Last, $"open {upper}");
        try
        {
            var w = new TarStreamWriter(output);
            TreeTar.WriteDirectory(w, fd, "", new TreeTarOptions { OverlayWhiteouts = true, Skip = IsRuntimeMountPoint }, includeSelf: false);
            w.Finish();
        }
        finally { LibC.close(fd); }
    }

    /// <summary>The image config a commit starts from: the image's, with what the container was created with over it.</summary>
    private ImageContainerConfig CommitConfig(Container c)
    {
        ImageContainerConfig image;
        try { image = Images.GetConfig(c.R.ImageId).Config ?? new(); }
        catch (ImageException) { image = new(); }
        var k = c.R.Config;
        var volumes = new Dictionary<string, Berth.Images.Models.EmptyObject>(image.Volumes ?? new());
        foreach (var v in k.Volumes?.Keys ?? Enumerable.Empty<string>()) volumes[v] = new();
        return new ImageContainerConfig
        {
            User = k.User == "" ? null : k.User,
            ExposedPorts = k.ExposedPorts is { Count: > 0 } ports ? ports.Keys.ToDictionary(p => p, _ => new Berth.Images.Models.EmptyObject()) : image.ExposedPorts,
            Env = k.Env ?? image.Env,
            Entrypoint = k.Entrypoint,
            Cmd = k.Cmd,
            Volumes = volumes.Count > 0 ? volumes : null,
            WorkingDir = k.WorkingDir == "" ? null : k.WorkingDir,
            Labels = k.Labels is { Count: > 0 } ? new Dictionary<string, string>(k.Labels) : null,
            StopSignal = k.StopSignal,
            OnBuild = image.OnBuild,
            Shell = image.Shell,
        };
    }
}
