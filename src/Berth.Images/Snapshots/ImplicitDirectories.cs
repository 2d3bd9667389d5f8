using Berth.Images.Interop;

namespace Berth.Images.Snapshots;

/// <summary>
/// With overlay, each layer is extracted on its own, so a parent directory that a layer's tar does
/// not list is made fresh (0755 root, the current time) and would hide the lower layer's own
/// owner, mode and times in the merged view. Once all layers of an image are present, such a
/// directory takes its metadata from the nearest lower layer that has it. The list waits in the
/// layer's <c>implicit</c> file until this is done (so a crash in between is finished next time).
/// </summary>
internal static class ImplicitDirectories
{
    public const string FileName = "implicit";

    public static void Fix(ISnapshotter snapshots, IReadOnlyList<string> chain)
    {
        for (int i = 0; i < chain.Count; i++)
        {
            string fs = snapshots.LayerDirectory(chain[i]);
            string list = Path.Combine(Path.GetDirectoryName(fs)!, FileName);
            if (!File.Exists(list)) continue;
            foreach (var path in File.ReadAllLines(list))
            {
                for (int j = i - 1; j >= 0; j--)
                    if (CopyMetadata(snapshots.LayerDirectory(chain[j]), fs, path)) break;
            }
            File.Delete(list);
        }
    }

    /// <summary>Copies owner, mode and times of <paramref name="path"/> from a lower layer; false when it is not a directory there.</summary>
    private static unsafe bool CopyMetadata(string lowerFs, string upperFs, string path)
    {
        int lower = OpenIn(lowerFs, path);
        if (lower < 0) return false;
        try
        {
            FsCalls.StatBuf st;
            if (FsCalls.fstatat(lower, "", &st, At.EMPTY_PATH) != 0 || (st.Mode & FsCalls.S_IFMT) != FsCalls.S_IFDIR) return false;
            int upper = OpenIn(upperFs, path);
            if (upper < 0) return true;
            try
            {
                string p = $"/proc/self/fd/{upper}";
                FsCalls.fchownat(At.FDCWD, p, st.Uid, st.Gid, 0);
                FsCalls.fchmodat(At.FDCWD, p, st.Mode & 0xFFF, 0);
                FsCalls.Timespec* t = stackalloc FsCalls.Timespec[2];
                t[0] = st.Atime;
                t[1] = st.Mtime;
                FsCalls.utimensat(At.FDCWD, p, t, 0);
            }
            finally { FsCalls.close(upper); }
            return true;
        }
        finally { FsCalls.close(lower); }
    }

    private static int OpenIn(string rootDir, string path)
    {
        int root = FsCalls.open(rootDir, O.PATH | O.DIRECTORY | O.CLOEXEC, 0);
        if (root < 0) return -1;
        try { return FsCalls.Openat2(root, path, (ulong)(O.PATH | O.DIRECTORY | O.CLOEXEC), Resolve.IN_ROOT | Resolve.NO_MAGICLINKS); }
        finally { FsCalls.close(root); }
    }
}
