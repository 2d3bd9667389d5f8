using Berth.Engine.Store;

namespace Berth.Engine.Tests;

/// <summary>Deferred removal: the name is free at once, the files go later, a crash's leftovers at the next start.</summary>
public class TrashTests
{
    [Fact]
    public void A_discarded_folder_leaves_its_name_at_once_and_its_files_later()
    {
        string parent = Directory.CreateTempSubdirectory("berth-trash-").FullName;
        try
        {
            string dir = Path.Combine(parent, "c1");
            Directory.CreateDirectory(Path.Combine(dir, "sub"));
            File.WriteAllText(Path.Combine(dir, "sub", "f"), "x");
            string outside = Directory.CreateTempSubdirectory("berth-trash-outside-").FullName;
            File.WriteAllText(Path.Combine(outside, "canary"), "keep");
            File.CreateSymbolicLink(Path.Combine(dir, "escape"), outside);
            var trash = new Trash();
            trash.Discard(dir);
            Assert.False(Directory.Exists(dir));
            Directory.CreateDirectory(dir); // the name can be used again right away
            string bin = Path.Combine(parent, Trash.FolderName);
            for (int i = 0; i < 500 && Directory.EnumerateFileSystemEntries(bin).Any(); i++) Thread.Sleep(10);
            Assert.Empty(Directory.EnumerateFileSystemEntries(bin));
            Assert.True(File.Exists(Path.Combine(outside, "canary")), "a symlink inside is deleted, not followed");
            Directory.Delete(outside, true);
            trash.Discard(Path.Combine(parent, "missing")); // nothing to do
        }
        finally { Directory.Delete(parent, true); }
    }

    [Fact]
    public void What_a_crash_left_in_the_trash_goes_at_the_next_start()
    {
        string parent = Directory.CreateTempSubdirectory("berth-trash-").FullName;
        try
        {
            string left = Path.Combine(parent, Trash.FolderName, "c2-0123");
            Directory.CreateDirectory(left);
            File.WriteAllText(Path.Combine(left, "config.v2.json"), "{}");
            Directory.CreateDirectory(Path.Combine(parent, "kept"));
            Trash.Empty(parent);
            Assert.False(Directory.Exists(Path.Combine(parent, Trash.FolderName)));
            Assert.True(Directory.Exists(Path.Combine(parent, "kept")));
        }
        finally { Directory.Delete(parent, true); }
    }
}
