using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Engine.Containers;
using Berth.Engine.Images;
using Microsoft.AspNetCore.Builder;

namespace Berth.Engine.Api;

/// <summary>The /system routes (df) and other daemon-wide queries.</summary>
public static class SystemEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
        app.MapGet("/system/df", ctx => DockerApi.Raw(ctx, DiskUsage(cs)));
    }

    /// <summary>
    /// GET /system/df in docker's shape: LayersSize (every committed layer), Images (with the
    /// number of containers using each and the size shared with other images), Containers (with
    /// SizeRw, the writable layer, and SizeRootFs), Volumes and BuildCache (none kept yet).
    /// </summary>
    private static string DiskUsage(ContainerService cs)
    {
        var usage = cs.Images.DiskUsage();
        var containers = cs.List(all: true, null, -1);
        var imageSize = usage.Images.ToDictionary(i => i.Record.Id, i => i.Record.Size);
        return ImageJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("LayersSize", usage.LayersSize);
            w.WriteStartArray("Images");
            foreach (var i in usage.Images) ImageJson.WriteSummary(w, i, cs.UsersOfImage(i.Record.Id).Count, withSharedSize: true);
            w.WriteEndArray();
            w.WriteStartArray("Containers");
            foreach (var c in containers)
            {
                var node = JsonSerializer.SerializeToNode(c, EngineJsonContext.Default.ContainerSummary)!.AsObject();
                long rw = WritableSize(cs, c.Id);
                node["SizeRw"] = rw;
                node["SizeRootFs"] = rw + imageSize.GetValueOrDefault(c.ImageID);
                node.WriteTo(w);
            }
            w.WriteEndArray();
            w.WriteStartArray("Volumes");
            foreach (var v in cs.Volumes.List()) Volumes.VolumeStore.WriteJson(w, v, Volumes.VolumeStore.SizeOf(v), cs.VolumeUsers(v.Name).Count);
            w.WriteEndArray();
            w.WriteStartArray("BuildCache");
            w.WriteEndArray();
            w.WriteNumber("BuilderSize", 0);
            w.WriteEndObject();
        });
    }

    /// <summary>Bytes of regular files in a container's writable layer (each inode once, as docker counts).</summary>
    internal static long WritableSize(ContainerService cs, string id)
    {
        string? dir;
        try { dir = cs.Images.Snapshots.MountsOf(id).UpperDir; }
        catch (Exception) { return 0; }
        if (dir is null || !Directory.Exists(dir)) return 0;
        long total = 0;
        var seen = new HashSet<(long, long)>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (var f in new DirectoryInfo(dir).EnumerateFiles("*", options))
        {
            if (f.LinkTarget is not null) continue;
            if (HardLinkId(f.FullName) is { } inode && !seen.Add(inode)) continue;
            total += f.Length;
        }
        return total;
    }

    /// <summary>(device, inode) of a file with more than one link, null otherwise.</summary>
    private static unsafe (long, long)? HardLinkId(string path)
    {
        var st = new Berth.Linux.Interop.Stat();
        if (Berth.Linux.Interop.LibC.fstatat(Berth.Linux.Interop.At.FDCWD, path, &st, Berth.Linux.Interop.At.SYMLINK_NOFOLLOW) != 0) return null;
        return st.Nlink > 1 ? ((long)st.Dev, (long)st.Ino) : null;
    }
}
