using System.Threading.Channels;

namespace Berth.Engine.Store;

/// <summary>
/// Removal that answers at once. A folder is renamed into its parent's <c>.trash</c> (one
/// atomic rename: its name is free again, and nothing reads inside .trash) and deleted there by
/// one background worker, after the API has answered: `docker rm` and `run --rm` do not wait for
/// the deletion of a container's files (~5 ms of unlinks of its bundle, record and writable
/// layer). What a crash leaves in .trash is deleted at the next start (<see cref="Empty"/>).
/// </summary>
public sealed class Trash
{
    public const string FolderName = ".trash";
    private readonly Channel<Action> _work = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });

    public Trash() => _ = Task.Run(WorkAsync);

    /// <summary>Moves <paramref name="dir"/> out of the way now and deletes it later; a missing folder is nothing to do.</summary>
    public void Discard(string dir)
    {
        string trash = Path.Combine(Path.GetDirectoryName(dir)!, FolderName);
        string target = Path.Combine(trash, $"{Path.GetFileName(dir)}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(trash);
            Directory.Move(dir, target);
        }
        catch (DirectoryNotFoundException) { return; }
        Later(() => Directory.Delete(target, recursive: true));
    }

    /// <summary>Runs a deletion on the worker.</summary>
    public void Later(Action delete) => _work.Writer.TryWrite(delete);

    /// <summary>Deletes what an earlier run left in <paramref name="parent"/>'s trash.</summary>
    public static void Empty(string parent)
    {
        string trash = Path.Combine(parent, FolderName);
        try { if (Directory.Exists(trash)) Directory.Delete(trash, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private async Task WorkAsync()
    {
        await foreach (var delete in _work.Reader.ReadAllAsync())
        {
            try { delete(); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
