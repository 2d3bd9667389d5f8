using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// container prune, image prune, volume prune and system prune: docker's questions, output and flags.
public sealed partial class EngineCommands
{
    private Task<int> ContainerPrune(List<string> argv, CancellationToken ct) =>
        SinglePrune("container prune", argv, hasAll: false, _ => "WARNING! This will remove all stopped containers.",
            (filters, _) => PruneContainers(filters, ct));

    private Task<int> ImagePrune(List<string> argv, CancellationToken ct) =>
        SinglePrune("image prune", argv, hasAll: true, all => all
                ? "WARNING! This will remove all images without at least one container associated to them."
                : "WARNING! This will remove all dangling images.",
            (filters, all) => PruneImages(filters, all, ct));

    private Task<int> VolumePrune(List<string> argv, CancellationToken ct) =>
        SinglePrune("volume prune", argv, hasAll: true, all => all
                ? "WARNING! This will remove all local volumes not used by at least one container."
                : "WARNING! This will remove anonymous local volumes not used by at least one container.",
            (filters, all) => PruneVolumes(filters, all, ct));

    private async Task<int> SinglePrune(string command, List<string> argv, bool hasAll, Func<bool, string> warning, Func<List<string>, bool, Task<long>> prune)
    {
        var a = new Args(command, argv, hasAll ? ["all|a", "force|f"] : ["force|f"], ["filter"]);
        a.Require(0, 0, "[OPTIONS]");
        bool all = hasAll && a.Flag("all");
        if (!Confirm(a.Flag("force"), command, warning(all))) return 0;
        long reclaimed = await prune(a.Values("filter").ToList(), all);
        if (reclaimed >= 0) Out.WriteLine($"Total reclaimed space: {Formatting.Size(reclaimed)}"); // -1: nothing to tell (networks)
        return 0;
    }

    /// <summary>docker system prune: stopped containers, then (with --volumes) unused volumes, then images; one total.</summary>
    private async Task<int> SystemPrune(List<string> argv, CancellationToken ct)
    {
        var a = new Args("system prune", argv, ["all|a", "force|f", "volumes"], ["filter"]);
        a.Require(0, 0, "[OPTIONS]");
        var warning = new List<string> { "WARNING! This will remove:", "  - all stopped containers" };
        if (a.Flag("volumes")) warning.Add("  - all anonymous volumes not used by at least one container");
        warning.Add(a.Flag("all") ? "  - all images without at least one container associated to them" : "  - all dangling images");
        if (!Confirm(a.Flag("force"), "system prune", string.Join('\n', warning))) return 0;
        var filters = a.Values("filter").ToList();
        long total = await PruneContainers(filters, ct);
        if (a.Flag("volumes")) total += await PruneVolumes(filters, all: false, ct);
        total += await PruneImages(filters, a.Flag("all"), ct);
        Out.WriteLine($"Total reclaimed space: {Formatting.Size(total)}");
        return 0;
    }

    private async Task<long> PruneContainers(List<string> filters, CancellationToken ct)
    {
        using var doc = await PostPrune("/containers/prune", filters, ct);
        PrintDeleted(doc.RootElement, "ContainersDeleted", "Deleted Containers:", e => [e.GetString() ?? ""]);
        return Num(doc.RootElement, "SpaceReclaimed");
    }

    private async Task<long> PruneVolumes(List<string> filters, bool all, CancellationToken ct)
    {
        using var doc = await PostPrune("/volumes/prune", all ? [.. filters, "all=true"] : filters, ct);
        PrintDeleted(doc.RootElement, "VolumesDeleted", "Deleted Volumes:", e => [e.GetString() ?? ""]);
        return Num(doc.RootElement, "SpaceReclaimed");
    }

    private async Task<long> PruneImages(List<string> filters, bool all, CancellationToken ct)
    {
        using var doc = await PostPrune("/images/prune", [.. filters, "dangling=" + (all ? "false" : "true")], ct);
        PrintDeleted(doc.RootElement, "ImagesDeleted", "Deleted Images:", e =>
        {
            var lines = new List<string>();
            if (Str(e, "Untagged") is { Length: > 0 } u) lines.Add($"untagged: {u}");
            if (Str(e, "Deleted") is { Length: > 0 } d) lines.Add($"deleted: {d}");
            return lines;
        });
        return Num(doc.RootElement, "SpaceReclaimed");
    }

    private async Task<JsonDocument> PostPrune(string path, List<string> filters, CancellationToken ct)
    {
        var c = await ClientAsync(ct);
        using var r = await c.SendAsync(HttpMethod.Post, path + (filters.Count > 0 ? "?filters=" + Esc(FiltersJson(filters)) : ""), ct: ct);
        return JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
    }

    private void PrintDeleted(JsonElement report, string listName, string title, Func<JsonElement, IEnumerable<string>> lines)
    {
        if (Obj(report, listName) is not { ValueKind: JsonValueKind.Array } deleted || deleted.GetArrayLength() == 0) return;
        Out.WriteLine(title);
        foreach (var e in deleted.EnumerateArray())
            foreach (var l in lines(e)) Out.WriteLine(l);
        Out.WriteLine();
    }

    private bool Confirm(bool force, string command, string warning)
    {
        if (force) return true;
        if (Console.IsInputRedirected) throw new CliException($"{command} needs --force (-f) when stdin is not a terminal");
        Out.Write(warning + "\nAre you sure you want to continue? [y/N] ");
        Out.Flush();
        using var reader = new StreamReader(Program.StdStream(0));
        return reader.ReadLine()?.Trim().ToLowerInvariant() is "y" or "yes";
    }
}
