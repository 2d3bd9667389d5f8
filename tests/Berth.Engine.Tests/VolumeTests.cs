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
