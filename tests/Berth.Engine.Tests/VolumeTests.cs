namespace Berth.Engine.Tests;

/// <summary>Volumes and the prunes, through the real docker CLI against berthd.</summary>
[Collection("daemon")]
public sealed class VolumeTests(DaemonFixture d)
{
    private static string Name() => "v" + Guid.NewGuid().ToString("N")[..10];

    private static void Ok((int Code, string Stdout, string Stderr) r) => Assert.True(r.Code == 0, $"exit {r.Code}: {r.Stderr}");

    private string VolumeDir(string name) => Path.Combine(d.Root, "data", "volumes", name);

    [Fact]
    public void A_named_volume_is_created_listed_used_kept_while_in_use_and_removed()
    {
        string v = Name(), c = Name(), tag = Name();
        Ok(d.Docker("volume", "create", "--label", "team=" + tag, "--label", "solo", v));
        var inspect = d.Docker("volume", "inspect", v, "--format", "{{.Name}}|{{.Driver}}|{{index .Labels \"team\"}}|{{.Mountpoint}}|{{.Scope}}");
        Ok(inspect);
        Assert.Equal($"{v}|local|{tag}|{VolumeDir(v)}/_data|local", inspect.Stdout.Trim());
        Assert.True(Directory.Exists(Path.Combine(VolumeDir(v), "_data")));
        // create again: the same volume, labels as they were
        Ok(d.Docker("volume", "create", v));
        Assert.Equal(tag, d.Docker("volume", "inspect", v, "--format", "{{index .Labels \"team\"}}").Stdout.Trim());

        Assert.Equal([v], d.Docker("volume", "ls", "-q", "--filter", "label=team=" + tag).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(v, d.Docker("volume", "ls", "-q", "--filter", "name=" + v[1..6]).Stdout);
        Assert.DoesNotContain(v, d.Docker("volume", "ls", "-q", "--filter", "label=team=other").Stdout);

        Ok(d.Docker("run", "--rm", "-v", v + ":/data", "busybox", "sh", "-c", "echo kept > /data/f"));
        var read = d.Docker("run", "--rm", "-v", v + ":/data", "busybox", "cat", "/data/f");
        Ok(read);
        Assert.Equal("kept\n", read.Stdout);

        Ok(d.Docker("run", "-d", "--name", c, "-v", v + ":/data", "busybox", "sleep", "1000"));
        Assert.DoesNotContain(v, d.Docker("volume", "ls", "-q", "--filter", "dangling=true").Stdout);
        var busy = d.Docker("volume", "rm", v);
        Assert.Equal(1, busy.Code);
        Assert.Contains($"remove {v}: volume is in use - [", busy.Stderr);
        Assert.True(File.Exists(Path.Combine(VolumeDir(v), "_data", "f")));
        var pruned = d.Docker("volume", "prune", "-a", "-f", "--filter", "label=team=" + tag);
        Ok(pruned);
        Assert.DoesNotContain(v, pruned.Stdout);

        Ok(d.Docker("rm", "-f", c));
        Assert.Contains(v, d.Docker("volume", "ls", "-q", "--filter", "dangling=true").Stdout);
        var rm = d.Docker("volume", "rm", v);
        Ok(rm);
        Assert.Equal(v, rm.Stdout.Trim());
        Assert.False(Directory.Exists(VolumeDir(v)));
        Assert.Contains($"get {v}: no such volume", d.Docker("volume", "inspect", v).Stderr);
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(d.Root, "data", "volumes"), ".removing-*"));
    }

    [Fact]
    public void Anonymous_volumes_go_with_rm_v_and_with_a_plain_prune_named_ones_only_with_all()
    {
        string a = Name(), b = Name(), named = Name(), tag = Name();
        Ok(d.Docker("run", "-d", "--name", a, "--mount", "type=volume,target=/anon", "busybox", "sh", "-c", "echo x > /anon/f; sleep 1000"));
        Ok(d.Docker("run", "-d", "--name", b, "--mount", "type=volume,target=/anon", "busybox", "sleep", "1000"));
        // inspect shows each container's volume, named, with its mount point
        string VolumeOf(string c) => d.Docker("inspect", c, "--format", "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{.Destination}} {{.Driver}}{{end}}{{end}}").Stdout.Trim();
        string va = VolumeOf(a).Split(' ')[0], vb = VolumeOf(b).Split(' ')[0];
        Assert.Equal($"{va} /anon local", VolumeOf(a));
        Assert.NotEqual(va, vb);
        // The anonymous volumes carry docker's label.
        var listed = d.Docker("volume", "ls", "--format", "{{.Name}} {{.Labels}}").Stdout;
        Assert.Contains($"{va} com.docker.volume.anonymous=", listed);
        Assert.Contains($"{vb} com.docker.volume.anonymous=", listed);
        Ok(d.Docker("volume", "create", "--label", "own=" + tag, named));

        // rm -v: a's anonymous volume goes with it; rm without -v keeps b's.
        Ok(d.Docker("rm", "-f", "-v", a));
        Assert.False(Directory.Exists(VolumeDir(va)));
        Ok(d.Docker("rm", "-f", b));
        Assert.True(Directory.Exists(VolumeDir(vb)));

        // A plain prune takes the unused anonymous volumes and leaves the named one.
        var prune = d.Docker("volume", "prune", "-f");
        Ok(prune);
        Assert.Contains("Deleted Volumes:", prune.Stdout);
        Assert.Contains(vb, prune.Stdout);
        Assert.DoesNotContain(named, prune.Stdout);
        Assert.False(Directory.Exists(VolumeDir(vb)));
        Assert.Contains(named, d.Docker("volume", "ls", "-q").Stdout);
        // -a: named ones too (here only the one with this test's label).
        var all = d.Docker("volume", "prune", "-a", "-f", "--filter", "label=own=" + tag);
        Ok(all);
        Assert.Contains(named, all.Stdout);
        Assert.DoesNotContain(named, d.Docker("volume", "ls", "-q").Stdout);
    }

    [Fact]
    public void An_image_volume_becomes_an_anonymous_volume_filled_from_the_image_and_confined_to_its_root()
    {
        string maker = Name(), image = Name() + ":vol", user = Name();
        Ok(d.Docker("run", "--name", maker, "busybox", "sh", "-c",
            "mkdir -p /seed && echo from-image > /seed/f && chown 1:2 /seed/f && ln -s ../../../../../etc /evil"));
        Ok(d.Docker("commit", "--change", "VOLUME /seed", "--change", "VOLUME /evil", maker, image));
        Ok(d.Docker("rm", maker));

        Ok(d.Docker("run", "-d", "--name", user, image, "sh", "-c", "cat /seed/f; echo more > /seed/g; sleep 1000"));
        string? seed = null, evil = null;
        for (int i = 0; i < 50 && !d.Docker("logs", user).Stdout.Contains("from-image"); i++) Thread.Sleep(100);
        Assert.Equal("from-image\n", d.Docker("logs", user).Stdout);
        foreach (var line in d.Docker("inspect", user, "--format", "{{range .Mounts}}{{.Name}} {{.Destination}} {{.Type}}\n{{end}}").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            Assert.Equal("volume", f[2]);
            if (f[1] == "/seed") seed = f[0];
            if (f[1] == "/evil") evil = f[0];
        }
        Assert.NotNull(seed);
        Assert.NotNull(evil);
        Assert.Contains($"{seed} com.docker.volume.anonymous=", d.Docker("volume", "ls", "--format", "{{.Name}} {{.Labels}}").Stdout);
        string data = Path.Combine(VolumeDir(seed!), "_data");
        Assert.Equal("from-image\n", File.ReadAllText(Path.Combine(data, "f")));
        for (int i = 0; i < 50 && !File.Exists(Path.Combine(data, "g")); i++) Thread.Sleep(100);
        Assert.Equal("more\n", File.ReadAllText(Path.Combine(data, "g")));
        Assert.Equal("1:2\n", d.Run("stat", "-c", "%u:%g", Path.Combine(data, "f")).Stdout);
        // What the volume holds is not in the container's own layer.
        Assert.DoesNotContain("/seed/g", d.Docker("diff", user).Stdout);
        // The symlink resolved inside the container's root: its /etc, never the host's.
        string evilData = Path.Combine(VolumeDir(evil!), "_data");
        Assert.True(File.Exists(Path.Combine(evilData, "passwd")));
        Assert.DoesNotContain("daemon:", File.ReadAllText(Path.Combine(evilData, "passwd")));

        Ok(d.Docker("rm", "-f", "-v", user));
        Assert.False(Directory.Exists(VolumeDir(seed!)));
        Assert.False(Directory.Exists(VolumeDir(evil!)));

        // run --rm -v /path: the anonymous volume goes with the container.
        int Anonymous() => d.Docker("volume", "ls", "--format", "{{.Labels}}").Stdout.Split('\n').Count(l => l.Contains("com.docker.volume.anonymous"));
        int before = Anonymous();
        string kept = Name();
        Ok(d.Docker("run", "--name", kept, "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/y"));
        string scratch = d.Docker("inspect", kept, "--format", "{{range .Mounts}}{{if eq .Destination \"/scratch\"}}{{.Name}}{{end}}{{end}}").Stdout.Trim();
        Assert.Equal("x\n", File.ReadAllText(Path.Combine(VolumeDir(scratch), "_data", "y")));
        Ok(d.Docker("rm", kept)); // without -v the volume stays
        Assert.Equal(before + 1, Anonymous());
        Assert.Contains(scratch, d.Docker("volume", "prune", "-f").Stdout);
        Assert.False(Directory.Exists(VolumeDir(scratch)));
        before = Anonymous();
        var rm = d.Docker("run", "--rm", "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/y && cat /scratch/y");
        Ok(rm);
        Assert.Equal("x\n", rm.Stdout);
        Assert.Equal(before, Anonymous());
        Ok(d.Docker("rmi", image));
    }

    [Fact]
    public void Volumes_from_shares_another_containers_volumes_and_binds_in_its_mode_or_the_one_asked_for()
    {
        string data = Name(), named = Name();
        string hostDir = Path.Combine(d.Root, "vf-" + Name());
        Directory.CreateDirectory(hostDir);
        Ok(d.Docker("create", "--name", data, "-v", named + ":/named", "-v", "/anon", "-v", hostDir + ":/host:ro", "busybox", "true"));
        Ok(d.Docker("run", "--rm", "--volumes-from", data, "busybox", "sh", "-c", "echo a > /named/a && echo b > /anon/b"));
        // the source's modes: /host stays read-only; :ro makes all of them read-only
        var ro = d.Docker("run", "--rm", "--volumes-from", data + ":ro", "busybox", "sh", "-c",
            "cat /named/a /anon/b; (touch /named/x 2>/dev/null && echo wrote) || echo read-only; (touch /host/x 2>/dev/null && echo wrote) || echo read-only");
        Ok(ro);
        Assert.Equal("a\nb\nread-only\nread-only\n", ro.Stdout);
        Assert.Equal("read-only\n", d.Docker("run", "--rm", "--volumes-from", data, "busybox", "sh", "-c", "(touch /host/x 2>/dev/null && echo wrote) || echo read-only").Stdout);
        // docker's backup recipe: the volumes of one container into a tar on the host
        string backup = Path.Combine(d.Root, "vf-backup-" + Name());
        Directory.CreateDirectory(backup);
        Ok(d.Docker("run", "--rm", "--volumes-from", data, "-v", backup + ":/backup", "busybox", "tar", "cf", "/backup/b.tar", "/named"));
        Assert.Contains("named/a", d.Run("tar", "tf", Path.Combine(backup, "b.tar")).Stdout);
        // a consumer keeps the volume in use; the container's own mount wins at the same place
        string consumer = Name();
        Ok(d.Docker("create", "--name", consumer, "--volumes-from", data, "-v", backup + ":/named", "busybox", "true"));
        Assert.Equal(backup, d.Docker("inspect", consumer, "--format", "{{range .Mounts}}{{if eq .Destination \"/named\"}}{{.Source}}{{end}}{{end}}").Stdout.Trim());
        Ok(d.Docker("rm", "-v", data));
        var busy = d.Docker("volume", "rm", named);
        Assert.Equal(0, busy.Code); // the consumer mounts its own /named, not the volume
        var missing = d.Docker("run", "--rm", "--volumes-from", "nope-" + Name(), "busybox", "true");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("volumes-from: No such container", missing.Stderr);
        Assert.DoesNotContain("Unable to find image", missing.Stderr); // a 400: the CLI does not go and pull
        Ok(d.Docker("rm", consumer));
    }

    [Fact]
    public void A_new_or_empty_named_volume_starts_with_the_images_content_at_its_first_use_only()
    {
        string maker = Name(), image = Name() + ":site", fresh = Name(), pre = Name(), full = Name(), nocopy = Name(), c = Name();
        Ok(d.Docker("run", "--name", maker, "busybox", "sh", "-c", "mkdir -p /site && echo index > /site/index.html"));
        Ok(d.Docker("commit", maker, image));
        Ok(d.Docker("rm", maker));
        string Ls(string volume) => string.Join(',', Directory.EnumerateFileSystemEntries(Path.Combine(VolumeDir(volume), "_data")).Select(Path.GetFileName).Order());

        // a volume made by this run, and one created empty before: both filled
        Ok(d.Docker("run", "--rm", "-v", fresh + ":/site", image, "true"));
        Assert.Equal("index.html", Ls(fresh));
        Ok(d.Docker("volume", "create", pre));
        Ok(d.Docker("run", "--rm", "--mount", $"type=volume,src={pre},dst=/site", image, "true"));
        Assert.Equal("index.html", Ls(pre));
        // a volume with content keeps it as it is; nocopy leaves a new one empty
        Ok(d.Docker("run", "--rm", "-v", full + ":/site", "busybox", "sh", "-c", "echo mine > /site/own"));
        Ok(d.Docker("run", "--rm", "-v", full + ":/site", image, "true"));
        Assert.Equal("own", Ls(full));
        Ok(d.Docker("run", "--rm", "-v", nocopy + ":/site:nocopy", image, "true"));
        Assert.Equal("", Ls(nocopy));
        // only at a container's first start: emptied by the container, it stays empty after a restart
        string again = Name();
        Ok(d.Docker("run", "-d", "--name", c, "-v", again + ":/site", image, "sleep", "1000"));
        Assert.Equal("index.html", Ls(again));
        Ok(d.Docker("exec", c, "rm", "/site/index.html"));
        Ok(d.Docker("restart", "-t", "1", c));
        Assert.Equal("", Ls(again));
        Ok(d.Docker("rm", "-f", c));
        foreach (var v in new[] { fresh, pre, full, nocopy, again }) Ok(d.Docker("volume", "rm", v));
        Ok(d.Docker("rmi", image));
    }

    [Fact]
    public void Container_prune_removes_the_stopped_containers_that_match_and_nothing_running()
    {
        string running = Name(), exited = Name(), other = Name(), tag = Name();
        Ok(d.Docker("run", "-d", "--name", running, "--label", "p=" + tag, "busybox", "sleep", "1000"));
        Ok(d.Docker("run", "--name", exited, "--label", "p=" + tag, "busybox", "sh", "-c", "head -c 5000 /dev/zero > /junk"));
        Ok(d.Docker("run", "--name", other, "busybox", "true"));
        string exitedId = d.Docker("inspect", exited, "--format", "{{.Id}}").Stdout.Trim();
        var prune = d.Docker("container", "prune", "-f", "--filter", "label=p=" + tag);
        Ok(prune);
        Assert.Contains("Deleted Containers:\n" + exitedId + "\n", prune.Stdout);
        Assert.Contains("Total reclaimed space: 5kB", prune.Stdout);
        Assert.Contains(running, d.Docker("ps", "--format", "{{.Names}}").Stdout);
        Assert.Contains(other, d.Docker("ps", "-a", "--format", "{{.Names}}").Stdout);
        Assert.DoesNotContain(exited, d.Docker("ps", "-a", "--format", "{{.Names}}").Stdout);
        // until: nothing created before a minute ago here
        var none = d.Docker("container", "prune", "-f", "--filter", "until=1h");
        Ok(none);
        Assert.DoesNotContain(other, none.Stdout);
        // docker system prune: containers, networks, images and build cache, each with the filter
        string again = Name();
        Ok(d.Docker("run", "--name", again, "--label", "p=" + tag, "busybox", "true"));
        var system = d.Docker("system", "prune", "-f", "--filter", "label=p=" + tag);
        Ok(system);
        Assert.Contains("Deleted Containers:", system.Stdout);
        Assert.DoesNotContain(again, d.Docker("ps", "-a", "--format", "{{.Names}}").Stdout);
        Assert.Contains(running, d.Docker("ps", "--format", "{{.Names}}").Stdout);
        Ok(d.Docker("rm", "-f", running, other));
    }

    [Fact]
    public void Bad_volume_requests_get_one_line_and_change_nothing()
    {
        var before = Directory.Exists(Path.Combine(d.Root, "data", "volumes")) ? Directory.GetDirectories(Path.Combine(d.Root, "data", "volumes")).Length : 0;
        var bad = d.Docker("volume", "create", "bad name");
        Assert.Equal(1, bad.Code);
        Assert.Contains("includes invalid characters for a local volume name", bad.Stderr);
        var driver = d.Docker("volume", "create", "-d", "nfs-magic", Name());
        Assert.Equal(1, driver.Code);
        Assert.Contains("plugin \"nfs-magic\" not found", driver.Stderr);
        var opts = d.Docker("volume", "create", "-o", "type=nfs", Name());
        Assert.Equal(1, opts.Code);
        Assert.Contains("driver options (type) are not supported", opts.Stderr);
        var missing = d.Docker("volume", "rm", "nope-" + Name());
        Assert.Equal(1, missing.Code);
        Assert.Contains("no such volume", missing.Stderr);
        Ok(d.Docker("volume", "rm", "-f", "nope-" + Name()));
        var filter = d.Docker("volume", "prune", "-f", "--filter", "bogus=1");
        Assert.NotEqual(0, filter.Code);
        Assert.Contains("invalid filter 'bogus'", filter.Stderr);
        var after = Directory.Exists(Path.Combine(d.Root, "data", "volumes")) ? Directory.GetDirectories(Path.Combine(d.Root, "data", "volumes")).Length : 0;
        Assert.Equal(before, after);
    }
}
