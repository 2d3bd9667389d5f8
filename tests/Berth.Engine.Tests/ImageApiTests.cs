using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Berth.Engine.Tests;

/// <summary>
/// The image routes, events and system df through the real docker CLI (28.x) against a berthd of
/// this class's own (prunes and event replays must not see other tests' images).
/// </summary>
public sealed class ImageApiTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private static string Name() => "i" + Guid.NewGuid().ToString("N")[..10];
    private static void Ok((int Code, string Stdout, string Stderr) r) => Assert.True(r.Code == 0, $"exit {r.Code}: {r.Stderr}");
    private static string Now() => ((DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100 / 1_000_000_000m).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A new image (its own id: the config carries the import time and the message) from the fixture's busybox tree.</summary>
    private string NewImage(string? reference, params string[] changes)
    {
        var args = new List<string> { "import", "-m", Name() };
        foreach (var c in changes) { args.Add("-c"); args.Add(c); }
        args.Add(Path.Combine(d.Root, "rootfs-busybox.tar"));
        if (reference is not null) args.Add(reference);
        var r = d.Docker([.. args]);
        Ok(r);
        return r.Stdout.Trim();
    }

    private string IdOf(string image) => d.Docker("image", "inspect", "--format", "{{.Id}}", image).Stdout.Trim();

    private int ImageCount() => d.Docker("images", "-aq", "--no-trunc").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Count();

    // ---- push and pull ----

    [Fact]
    public void PushStreamsDockersProgressAndAPullGivesTheSameImage()
    {
        if (!File.Exists("/usr/bin/docker-registry") || !File.Exists("/usr/bin/skopeo")) return;
        using var reg = new LocalRegistry(d.Root);
        string repo = $"{reg.Host}/{Name()}";
        string id = NewImage(repo + ":1");

        var push = d.Docker("push", repo + ":1");
        Ok(push);
        var lines = push.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"The push refers to repository [{repo}]", lines[0]);
        Assert.Matches("^[0-9a-f]{12}: Preparing$", lines[1]);
        Assert.Matches("^[0-9a-f]{12}: Pushed$", lines[2]);
        var last = System.Text.RegularExpressions.Regex.Match(lines[^1], "^1: digest: (sha256:[0-9a-f]{64}) size: ([0-9]+)$");
        Assert.True(last.Success, push.Stdout);
        string digest = last.Groups[1].Value;

        // The registry holds what was pushed, under the digest the daemon reported.
        var inspect = d.Run("skopeo", "inspect", "--tls-verify=false", $"docker://{repo}:1");
        Ok(inspect);
        Assert.Equal(digest, JsonDocument.Parse(inspect.Stdout).RootElement.GetProperty("Digest").GetString());

        // Again, through the API: the blobs are there, the aux object closes the stream.
        var raw = d.Http("POST", $"/v1.50/images/{repo}/push?tag=1", extraHeaders: "X-Registry-Auth: e30=\r\n");
        Assert.Equal(200, raw.Status);
        Assert.Contains("\"status\":\"Layer already exists\"", raw.Body);
        Assert.Contains($"{{\"progressDetail\":{{}},\"aux\":{{\"Tag\":\"1\",\"Digest\":\"{digest}\",\"Size\":{last.Groups[2].Value}}}}}", raw.Body);
        Assert.Contains($"{repo}@{digest}", d.Docker("images", "--digests", "--format", "{{.Repository}}@{{.Digest}}", repo).Stdout);

        // Gone locally, pulled back: the same image id and the registry's digest.
        Ok(d.Docker("rmi", repo + ":1"));
        Assert.Equal("", IdOf(repo + ":1"));
        Ok(d.Docker("pull", repo + ":1"));
        Assert.Equal(id, IdOf(repo + ":1"));
        Assert.Equal($"[{repo}@{digest}]", d.Docker("image", "inspect", "--format", "{{.RepoDigests}}", repo + ":1").Stdout.Trim());
        Ok(d.Docker("rmi", repo + ":1"));
    }

    [Fact]
    public void PushWithoutATagPushesEveryTagOfTheRepository()
    {
        if (!File.Exists("/usr/bin/docker-registry") || !File.Exists("/usr/bin/skopeo")) return;
        using var reg = new LocalRegistry(d.Root);
        string repo = $"{reg.Host}/{Name()}";
        NewImage(repo + ":a");
        Ok(d.Docker("tag", repo + ":a", repo + ":b"));
        var push = d.Docker("push", "--all-tags", repo);
        Ok(push);
        Assert.Contains("a: digest: sha256:", push.Stdout);
        Assert.Contains("b: digest: sha256:", push.Stdout);
        var tags = d.Run("skopeo", "list-tags", "--tls-verify=false", $"docker://{repo}");
        Ok(tags);
        Assert.Contains("\"a\"", tags.Stdout);
        Assert.Contains("\"b\"", tags.Stdout);
        Ok(d.Docker("rmi", repo + ":a", repo + ":b"));
    }

    [Fact]
    public void PushToARegistryThatNeedsCredentialsUsesTheClientsAuthHeader()
    {
        if (!File.Exists("/usr/bin/docker-registry") || !File.Exists("/usr/bin/htpasswd")) return;
        var htpasswd = d.Run("htpasswd", "-Bbn", "alice", "wonderland");
        Ok(htpasswd);
        using var reg = new LocalRegistry(d.Root, htpasswd.Stdout);
        string repo = $"{reg.Host}/{Name()}";
        NewImage(repo + ":1");
        string config = Path.Combine(d.Root, "docker-config", "config.json");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        try
        {
            var anonymous = d.Docker("push", repo + ":1");
            Assert.NotEqual(0, anonymous.Code);
            Assert.Contains("unauthorized", anonymous.Stderr + anonymous.Stdout, StringComparison.OrdinalIgnoreCase);
            // The CLI reads its config.json and sends the credentials as X-Registry-Auth.
            File.WriteAllText(config, $"{{\"auths\":{{\"{reg.Host}\":{{\"auth\":\"{Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:wonderland"))}\"}}}}}}");
            var push = d.Docker("push", repo + ":1");
            Ok(push);
            Assert.Contains("1: digest: sha256:", push.Stdout);
        }
        finally { File.Delete(config); }
        Ok(d.Docker("rmi", repo + ":1"));
    }

    [Fact]
    public void PushOfAnImageThatDoesNotExistIs404()
    {
        var r = d.Docker("push", "127.0.0.1:1/nothere:1");
        Assert.NotEqual(0, r.Code);
        Assert.Contains("An image does not exist locally with the tag: 127.0.0.1:1/nothere", r.Stderr);
        var raw = d.Http("POST", "/v1.50/images/127.0.0.1:1/nothere/push?tag=1", extraHeaders: "X-Registry-Auth: e30=\r\n");
        Assert.Equal(404, raw.Status);
        Assert.Equal(400, d.Http("POST", "/v1.50/images/busybox/push?tag=latest", extraHeaders: "X-Registry-Auth: %%%\r\n").Status);
    }

    [Fact]
    public void PushToARegistryThatIsDownFailsInsideThe200Stream()
    {
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; } // closed again: nothing listens
        string repo = $"127.0.0.1:{port}/{Name()}";
        NewImage(repo + ":1");
        var raw = d.Http("POST", $"/v1.50/images/{repo}/push?tag=1", extraHeaders: "X-Registry-Auth: e30=\r\n");
        Assert.Equal(200, raw.Status);
        var lines = raw.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("The push refers to repository", lines[0]);
        var error = JsonDocument.Parse(lines[^1]).RootElement;
        Assert.Contains($"127.0.0.1:{port}", error.GetProperty("errorDetail").GetProperty("message").GetString());
        Assert.Equal(error.GetProperty("error").GetString(), error.GetProperty("errorDetail").GetProperty("message").GetString());
        var cli = d.Docker("push", repo + ":1");
        Assert.Equal(1, cli.Code);
        Assert.Contains($"127.0.0.1:{port}", cli.Stderr);
        Ok(d.Docker("rmi", repo + ":1"));
    }

    // ---- tag, rmi ----

    [Fact]
    public void TagAndRmiFollowDockersRules()
    {
        string a = Name(), b = Name();
        string id = NewImage(a + ":1");
        Ok(d.Docker("tag", a + ":1", b + ":2"));
        Assert.Equal(id, IdOf(b + ":2"));
        Assert.Equal(new[] { $"{a}:1", $"{b}:2" }.Order(), d.Docker("image", "inspect", "--format", "{{join .RepoTags \" \"}}", id).Stdout.Trim().Split(' ').Order());
        // The API: 201 and no body; the CLI sends the fully qualified repository.
        var tag = d.Http("POST", $"/v1.50/images/{a}:1/tag?repo=docker.io%2Flibrary%2F{b}&tag=3");
        Assert.Equal(201, tag.Status);
        Assert.Equal(id, IdOf(b + ":3"));

        // Several tags: a name untags only; the id alone is refused without force.
        var untag = d.Docker("rmi", b + ":3");
        Ok(untag);
        Assert.Equal($"Untagged: {b}:3\n", untag.Stdout);
        var byId = d.Docker("rmi", id[7..19]);
        Assert.NotEqual(0, byId.Code);
        Assert.Contains($"conflict: unable to delete {id[7..19]} (must be forced) - image is referenced in multiple repositories", byId.Stderr);

        // A container uses it: its last name cannot go without force; by id even force is refused while it runs.
        Ok(d.Docker("rmi", b + ":2"));
        string c = Name();
        Ok(d.Docker("run", "-d", "--name", c, a + ":1", "sleep", "60"));
        try
        {
            var used = d.Docker("rmi", a + ":1");
            Assert.NotEqual(0, used.Code);
            Assert.Matches($"conflict: unable to remove repository reference \"{a}:1\" \\(must force\\) - container [0-9a-f]{{12}} is using its referenced image {id[7..19]}", used.Stderr);
            Assert.Equal(409, d.Http("DELETE", $"/v1.50/images/{a}:1").Status);
            var running = d.Docker("rmi", "-f", id);
            Assert.NotEqual(0, running.Code);
            Assert.Contains($"conflict: unable to delete {id[7..19]} (cannot be forced) - image is being used by running container", running.Stderr);
            Assert.Equal(id, IdOf(a + ":1"));
        }
        finally { Ok(d.Docker("rm", "-f", c)); }

        var delete = d.Http("DELETE", $"/v1.50/images/{a}:1");
        Assert.Equal(200, delete.Status);
        var items = JsonDocument.Parse(delete.Body).RootElement;
        Assert.Equal($"{a}:1", items[0].GetProperty("Untagged").GetString());
        Assert.Equal(id, items[1].GetProperty("Deleted").GetString());
        Assert.Equal("", IdOf(id));
    }

    [Fact]
    public void BadTagAndRmiInputs()
    {
        var unknown = d.Docker("rmi", "nosuchimage:x");
        Assert.NotEqual(0, unknown.Code);
        Assert.Contains("No such image: nosuchimage:x", unknown.Stderr);
        var raw = d.Http("DELETE", "/v1.50/images/nosuchimage:x");
        Assert.Equal(404, raw.Status);
        Assert.Contains("No such image: nosuchimage:x", raw.Body);

        var bad = d.Http("POST", "/v1.50/images/busybox/tag?repo=Not%20A%20Repo&tag=1");
        Assert.Equal(400, bad.Status);
        Assert.Contains("invalid reference format", bad.Body);
        Assert.Equal(400, d.Http("POST", "/v1.50/images/busybox/tag?repo=ok&tag=b%40d").Status);
        Assert.Equal(400, d.Http("POST", "/v1.50/images/busybox/tag?repo=ok%40sha256%3A" + new string('a', 64)).Status);
        Assert.Equal(404, d.Http("POST", "/v1.50/images/nosuchimage/tag?repo=ok&tag=1").Status);
        var cli = d.Docker("tag", "nosuchimage", "ok:1");
        Assert.NotEqual(0, cli.Code);
        Assert.Contains("No such image: nosuchimage", cli.Stderr);
        Assert.Equal("", IdOf("ok:1"));
    }

    // ---- list, inspect, history ----

    [Fact]
    public void ImagesListsInDockersShapeWithFilters()
    {
        string a = Name(), label = Name();
        string id = NewImage(a + ":1", $"LABEL {label}=yes");
        string dangling = NewImage(null);

        var list = JsonDocument.Parse(d.Http("GET", "/v1.50/images/json").Body).RootElement;
        var mine = list.EnumerateArray().Single(i => i.GetProperty("Id").GetString() == id);
        Assert.Equal(-1, mine.GetProperty("Containers").GetInt32());
        Assert.Equal(-1, mine.GetProperty("SharedSize").GetInt64());
        Assert.Equal("", mine.GetProperty("ParentId").GetString());
        Assert.Equal("yes", mine.GetProperty("Labels").GetProperty(label).GetString());
        Assert.Equal(JsonValueKind.Array, mine.GetProperty("RepoDigests").ValueKind);
        Assert.Equal($"{a}:1", mine.GetProperty("RepoTags")[0].GetString());
        Assert.True(mine.GetProperty("Size").GetInt64() > 100_000);
        Assert.True(mine.GetProperty("Created").GetInt64() > 1_700_000_000);
        var untagged = list.EnumerateArray().Single(i => i.GetProperty("Id").GetString() == dangling);
        Assert.Equal(0, untagged.GetProperty("RepoTags").GetArrayLength());

        Assert.Equal(id[7..19] + "\n", d.Docker("images", "-q", a).Stdout);
        Assert.Equal($"{a} 1\n", d.Docker("images", "--filter", $"label={label}=yes", "--format", "{{.Repository}} {{.Tag}}").Stdout);
        Assert.Equal($"{a} 1\n", d.Docker("images", "--filter", $"reference={a}:*", "--format", "{{.Repository}} {{.Tag}}").Stdout);
        var dq = d.Docker("images", "-q", "--no-trunc", "--filter", "dangling=true").Stdout;
        Assert.Contains(dangling, dq);
        Assert.DoesNotContain(id, dq);
        Assert.Contains("<none>", d.Docker("images", "--digests", a).Stdout);
        Assert.Contains(dangling[7..19], d.Docker("images", "-a").Stdout);

        Assert.Equal($"{id} [{a}:1] yes linux", d.Docker("image", "inspect", "--format", $"{{{{.Id}}}} {{{{.RepoTags}}}} {{{{index .Config.Labels \"{label}\"}}}} {{{{.Os}}}}", a + ":1").Stdout.Trim());
        var history = d.Docker("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}", a + ":1");
        Ok(history);
        Assert.Equal($"{id}|Imported from tarball", history.Stdout.Split('\n')[0]);
        var h = JsonDocument.Parse(d.Http("GET", $"/v1.50/images/{a}:1/history").Body).RootElement;
        Assert.Equal($"{a}:1", h[0].GetProperty("Tags")[0].GetString());
        Assert.True(h[0].GetProperty("Size").GetInt64() > 100_000);

        Assert.Equal(404, d.Http("GET", "/v1.50/images/nosuchimage/history").Status);
        Assert.Equal(404, d.Http("GET", "/v1.50/images/nosuchimage/json").Status);
        Ok(d.Docker("rmi", a + ":1", dangling));
    }

    [Fact]
    public void AnUnknownFilterKeyIs400()
    {
        foreach (var (method, path) in new[] { ("GET", "/v1.50/images/json"), ("POST", "/v1.50/images/prune"), ("GET", "/v1.50/events") })
        {
            var r = d.Http(method, path + "?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D" + (path.EndsWith("events") ? "&until=1" : ""));
            Assert.Equal(400, r.Status);
            Assert.Contains("invalid filter 'bogus'", r.Body.Replace("\\u0027", "'"));
        }
        var cli = d.Docker("images", "--filter", "bogus=1");
        Assert.NotEqual(0, cli.Code);
        Assert.Contains("invalid filter 'bogus'", cli.Stderr);
    }

    // ---- save, load, prune ----

    [Fact]
    public void SaveRmiLoadKeepsTheIdAndTags()
    {
        string a = Name(), b = Name();
        string id = NewImage(a + ":1");
        Ok(d.Docker("tag", a + ":1", b + ":2"));
        string file = Path.Combine(d.Root, Name() + ".tar");
        Ok(d.Docker("save", "-o", file, a + ":1", b + ":2"));
        var names = d.Run("tar", "-tf", file);
        Assert.Contains("manifest.json", names.Stdout);
        Ok(d.Docker("rmi", a + ":1", b + ":2"));
        Assert.Equal("", IdOf(id));

        var load = d.Docker("load", "-i", file);
        Ok(load);
        Assert.Contains($"Loaded image: {a}:1", load.Stdout);
        Assert.Contains($"Loaded image: {b}:2", load.Stdout);
        Assert.Equal(id, IdOf(a + ":1"));
        Assert.Equal(id, IdOf(b + ":2"));
        var run = d.Docker("run", "--rm", a + ":1", "echo", "loaded");
        Assert.Equal("loaded\n", run.Stdout);

        // GET /images/{name}/get is the same archive format; an unknown name is a 404 before any byte.
        var one = d.Http("GET", $"/v1.50/images/{a}:1/get");
        Assert.Equal(200, one.Status);
        Assert.Contains("manifest.json", one.Body);
        Assert.Equal(404, d.Http("GET", "/v1.50/images/get?names=nosuchimage").Status);
        var missing = d.Docker("save", "-o", file + ".2", "nosuchimage");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("No such image: nosuchimage", missing.Stderr);
        File.Delete(file);
        Ok(d.Docker("rmi", a + ":1", b + ":2"));
    }

    [Fact]
    public void LoadOfSomethingThatIsNoArchiveIs400AndChangesNothing()
    {
        int before = ImageCount();
        var raw = d.Http("POST", "/v1.50/images/load?quiet=1", body: "this is not a tar archive, not even close\n");
        Assert.Equal(400, raw.Status);
        Assert.Contains("failed to load the archive", raw.Body);
        var cli = d.DockerWithInput("garbage\n", "load");
        Assert.NotEqual(0, cli.Code);
        Assert.Equal(before, ImageCount());
    }

    [Fact]
    public void PruneRemovesDanglingOrUnusedImagesOnly()
    {
        string dangling = NewImage(null);
        string usedDangling = NewImage(null);
        string c = Name();
        Ok(d.Docker("create", "--name", c, usedDangling, "true"));
        try
        {
            var prune = d.Docker("image", "prune", "-f");
            Ok(prune);
            Assert.Contains($"deleted: {dangling}", prune.Stdout);
            Assert.Equal("", IdOf(dangling));
            Assert.Equal(usedDangling, IdOf(usedDangling));

            // -a with a label: unused images with that label, tagged or not.
            string label = Name(), a = Name(), b = Name();
            string labelled = NewImage(a + ":1", $"LABEL {label}=1");
            string other = NewImage(b + ":1");
            var all = d.Http("POST", $"/v1.50/images/prune?filters=%7B%22dangling%22%3A%7B%22false%22%3Atrue%7D%2C%22label%22%3A%7B%22{label}%22%3Atrue%7D%7D");
            Assert.Equal(200, all.Status);
            var report = JsonDocument.Parse(all.Body).RootElement;
            var deleted = report.GetProperty("ImagesDeleted").EnumerateArray().Select(e => e.GetRawText()).ToList();
            Assert.Contains($"{{\"Untagged\":\"{a}:1\"}}", deleted);
            Assert.Contains($"{{\"Deleted\":\"{labelled}\"}}", deleted);
            Assert.True(report.GetProperty("SpaceReclaimed").GetInt64() >= 0);
            Assert.Equal("", IdOf(labelled));
            Assert.Equal(other, IdOf(b + ":1"));
            Ok(d.Docker("rmi", b + ":1"));
        }
        finally { Ok(d.Docker("rm", c)); }
        Ok(d.Docker("rmi", usedDangling));
    }

    // ---- system df ----

    [Fact]
    public void SystemDfCountsImagesContainersAndTheWritableLayer()
    {
        string a = Name(), c = Name();
        string id = NewImage(a + ":1");
        Ok(d.Docker("run", "--name", c, a + ":1", "sh", "-c", "dd if=/dev/zero of=/big bs=1024 count=300 2>/dev/null"));
        try
        {
            var raw = d.Http("GET", "/v1.50/system/df");
            Assert.Equal(200, raw.Status);
            var df = JsonDocument.Parse(raw.Body).RootElement;
            Assert.True(df.GetProperty("LayersSize").GetInt64() > 100_000);
            var img = df.GetProperty("Images").EnumerateArray().Single(i => i.GetProperty("Id").GetString() == id);
            Assert.Equal(1, img.GetProperty("Containers").GetInt32());
            // Every import of the busybox tree shares its one layer with the fixture's busybox image.
            Assert.Equal(img.GetProperty("Size").GetInt64(), img.GetProperty("SharedSize").GetInt64());
            var ctr = df.GetProperty("Containers").EnumerateArray().Single(x => x.GetProperty("Names")[0].GetString() == "/" + c);
            Assert.True(ctr.GetProperty("SizeRw").GetInt64() >= 300 * 1024);
            Assert.Equal(ctr.GetProperty("SizeRw").GetInt64() + img.GetProperty("Size").GetInt64(), ctr.GetProperty("SizeRootFs").GetInt64());
            Assert.Equal(JsonValueKind.Array, df.GetProperty("Volumes").ValueKind);
            Assert.Equal(JsonValueKind.Array, df.GetProperty("BuildCache").ValueKind);

            var table = d.Docker("system", "df", "--format", "{{.Type}}|{{.TotalCount}}");
            Ok(table);
            Assert.Contains("Images|", table.Stdout);
            Assert.Contains("Containers|", table.Stdout);
            var verbose = d.Docker("system", "df", "-v");
            Ok(verbose);
            Assert.Contains("Images space usage:", verbose.Stdout);
            Assert.Contains(c, verbose.Stdout);
        }
        finally { Ok(d.Docker("rm", c)); }
        Ok(d.Docker("rmi", a + ":1"));
    }

    // ---- events ----

    [Fact]
    public void EventsReplayExactlyTheImageActionsBetweenSinceAndUntil()
    {
        string a = Name(), b = Name();
        string since = Now();
        string id = NewImage(a + ":1");
        Ok(d.Docker("tag", a + ":1", b + ":1"));
        Ok(d.Docker("rmi", a + ":1"));
        Ok(d.Docker("rmi", b + ":1"));
        string until = Now();
        Ok(d.Docker("run", "--rm", "busybox", "true")); // after until: not replayed

        var ev = d.Docker("events", "--since", since, "--until", until, "--filter", "type=image", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}");
        Ok(ev);
        Assert.Equal(string.Join("\n", [
            $"image import {id} {id}",
            $"image tag {id} {b}:1",
            $"image untag {id} {id}",
            $"image untag {id} {id}",
            $"image delete {id} {id}",
        ]) + "\n", ev.Stdout);

        // docker's JSON: legacy status/id for image events, no from; scope, time and timeNano.
        var raw = d.Http("GET", $"/v1.50/events?since={since}&until={until}&filters=%7B%22event%22%3A%7B%22tag%22%3Atrue%7D%7D");
        var line = raw.Body.Split('\n').Single(l => l.StartsWith('{'));
        var e = JsonDocument.Parse(line).RootElement;
        Assert.Equal("tag", e.GetProperty("status").GetString());
        Assert.Equal(id, e.GetProperty("id").GetString());
        Assert.False(e.TryGetProperty("from", out _));
        Assert.Equal("local", e.GetProperty("scope").GetString());
        Assert.Equal(e.GetProperty("time").GetInt64(), e.GetProperty("timeNano").GetInt64() / 1_000_000_000);
        // image= matches an image event by its name, and container events by their image.
        var byImage = d.Docker("events", "--since", since, "--until", until, "--filter", $"image={b}:1", "--format", "{{.Action}}");
        Assert.Equal("tag\n", byImage.Stdout);
    }

    [Fact]
    public void EventsFilteredByEventAndContainerSeeItsStart()
    {
        string n = Name(), other = Name();
        string since = Now();
        using var p = Process.Start(new ProcessStartInfo("docker", ["events", "--since", since, "--filter", "event=start", "--filter", $"container={n}", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.From}}"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            Environment = { ["DOCKER_HOST"] = d.DockerHost, ["DOCKER_CONFIG"] = Path.Combine(d.Root, "docker-config") },
        })!;
        try
        {
            Ok(d.Docker("run", "-d", "--name", other, "busybox", "sleep", "30"));
            Ok(d.Docker("run", "-d", "--name", n, "busybox", "sleep", "30"));
            var first = p.StandardOutput.ReadLineAsync();
            Assert.True(first.Wait(TimeSpan.FromSeconds(60)), "no event arrived");
            Assert.Equal($"container start {n} busybox", first.Result);
            Ok(d.Docker("stop", "-t", "0", n));
            var all = d.Docker("events", "--since", since, "--until", Now(), "--filter", $"container={n}", "--format", "{{.Action}}").Stdout;
            Assert.StartsWith("create\nstart\n", all);
            Assert.Contains("\ndie\n", all);
        }
        finally
        {
            p.Kill();
            p.WaitForExit();
            d.Docker("rm", "-f", n, other);
        }
    }
}

/// <summary>The event ring on its own: bounded, ordered, replayed from since.</summary>
public sealed class EventBusTests
{
    [Fact]
    public void KeepsTheLastEventsInOrderWithIncreasingTimes()
    {
        var bus = new Berth.Engine.Events.EventBus();
        for (int i = 0; i < Berth.Engine.Events.EventBus.HistoryLimit + 100; i++) bus.Publish("image", "tag", "sha256:" + i, new() { ["name"] = "n" + i });
        var (past, _, sub) = bus.Subscribe(0);
        using (sub)
        {
            Assert.Equal(Berth.Engine.Events.EventBus.HistoryLimit, past.Count);
            Assert.Equal("sha256:100", past[0].Actor.ID);
            Assert.True(past.Zip(past.Skip(1)).All(p => p.First.TimeNano < p.Second.TimeNano));
            Assert.Equal("tag", past[0].Status);
            Assert.Null(past[0].From);
            var (fromMiddle, _, sub2) = bus.Subscribe(past[500].TimeNano);
            using (sub2) Assert.Equal(past.Count - 500, fromMiddle.Count);
        }
        bus.Publish("network", "connect", "n1", new() { ["container"] = "c" });
        var (all, _, sub3) = bus.Subscribe(0);
        using (sub3)
        {
            Assert.Null(all[^1].Status); // the legacy fields are for container and image events only
            Assert.Null(all[^1].Id);
        }
    }

    [Fact]
    public void FiltersMatchAsDockersDo()
    {
        var bus = new Berth.Engine.Events.EventBus();
        bus.Publish("container", "start", "abc123", new() { ["name"] = "web", ["image"] = "busybox:latest", ["k"] = "v" });
        bus.Publish("image", "tag", "sha256:ff", new() { ["name"] = "busybox:2" });
        bus.Publish("container", "exec_start: sh -c x", "abc123", new() { ["name"] = "web", ["image"] = "busybox:latest" });
        var (past, _, sub) = bus.Subscribe(0);
        using var _s = sub;
        List<string> Pick(string json) { var f = Berth.Engine.Events.EventFilter.Parse(json); return past.Where(f.Includes).Select(e => e.Action).ToList(); }
        Assert.Equal(["start", "exec_start: sh -c x"], Pick("{\"container\":{\"web\":true}}"));
        Assert.Equal(["start", "exec_start: sh -c x"], Pick("{\"container\":[\"abc\"]}"));
        Assert.Equal(["tag"], Pick("{\"type\":{\"image\":true}}"));
        Assert.Equal(["start", "tag", "exec_start: sh -c x"], Pick("{\"image\":{\"busybox\":true}}"));
        Assert.Equal(["exec_start: sh -c x"], Pick("{\"event\":{\"exec_start\":true}}"));
        Assert.Equal(["start"], Pick("{\"label\":{\"k=v\":true}}"));
        Assert.Empty(Pick("{\"container\":{\"web\":true},\"type\":{\"image\":true}}"));
        var e = Assert.Throws<EngineException>(() => Berth.Engine.Events.EventFilter.Parse("{\"nope\":{\"x\":true}}"));
        Assert.Equal(400, e.Status);
        Assert.Equal("invalid filter 'nope'", e.Message);
    }
}

/// <summary>One HTTP/1.1 exchange on the fixture's API socket, read to the end (Connection: close) and de-chunked.</summary>
internal static class DaemonHttp
{
    public static (int Status, string Body) Http(this DaemonFixture d, string method, string path, string? body = null, string extraHeaders = "")
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(d.Socket));
        var payload = Encoding.UTF8.GetBytes(body ?? "");
        string head = $"{method} {path} HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n{extraHeaders}" +
            (body is null ? "" : $"Content-Type: application/x-tar\r\nContent-Length: {payload.Length}\r\n") + "\r\n";
        s.Send(Encoding.ASCII.GetBytes(head));
        if (payload.Length > 0) s.Send(payload);
        s.ReceiveTimeout = 120_000;
        var all = new MemoryStream();
        var buf = new byte[65536];
        int n;
        while ((n = s.Receive(buf)) > 0) all.Write(buf, 0, n);
        var bytes = all.ToArray();
        int split = IndexOf(bytes, "\r\n\r\n"u8);
        string headers = Encoding.ASCII.GetString(bytes, 0, split);
        int status = int.Parse(headers.Split(' ')[1]);
        var rest = bytes.AsSpan(split + 4);
        if (!headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)) return (status, Encoding.UTF8.GetString(rest));
        var plain = new MemoryStream();
        while (rest.Length > 0)
        {
            int eol = rest.IndexOf("\r\n"u8);
            int size = Convert.ToInt32(Encoding.ASCII.GetString(rest[..eol]).Split(';')[0].Trim(), 16);
            if (size == 0) break;
            plain.Write(rest.Slice(eol + 2, size));
            rest = rest[(eol + 2 + size + 2)..];
        }
        return (status, Encoding.UTF8.GetString(plain.ToArray()));
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> what) => data.AsSpan().IndexOf(what);
}

/// <summary>Debian's docker-registry on a free loopback port, in a directory under the fixture's root; optionally with htpasswd basic auth.</summary>
internal sealed class LocalRegistry : IDisposable
{
    private readonly Process _p;
    public string Host { get; }

    public LocalRegistry(string root, string? htpasswd = null)
    {
        string dir = Path.Combine(root, "registry-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
        string auth = "";
        if (htpasswd is not null)
        {
            File.WriteAllText(Path.Combine(dir, "htpasswd"), htpasswd);
            auth = $"auth:\n  htpasswd:\n    realm: berth\n    path: {dir}/htpasswd\n";
        }
        File.WriteAllText(Path.Combine(dir, "config.yml"), $"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {dir}/data\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}");
        _p = Process.Start(new ProcessStartInfo("docker-registry", ["serve", Path.Combine(dir, "config.yml")]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        _p.OutputDataReceived += (_, _) => { };
        _p.ErrorDataReceived += (_, _) => { };
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
        Host = $"127.0.0.1:{port}";
        for (int i = 0; i < 100 && !Listening(port); i++) Thread.Sleep(50);
    }

    private static bool Listening(int port)
    {
        try { using var c = new TcpClient(); c.Connect(IPAddress.Loopback, port); return true; }
        catch (SocketException) { return false; }
    }

    public void Dispose()
    {
        try { _p.Kill(); } catch (InvalidOperationException) { }
        _p.WaitForExit(5000);
        _p.Dispose();
    }
}
