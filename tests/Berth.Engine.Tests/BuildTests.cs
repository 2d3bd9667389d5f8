using System.Diagnostics;

namespace Berth.Engine.Tests;

/// <summary>
/// `docker build` (the classic builder's POST /build) and docker-compose's build, through the real
/// clients against berthd: the instructions' effects seen from a container of the result, failures
/// with docker's messages, and no step container or intermediate image left behind.
/// </summary>
[Collection("daemon")]
public sealed class BuildTests(DaemonFixture d) : IDisposable
{
    private readonly string _ctx = Directory.CreateDirectory(Path.Combine(d.Root, "ctx-" + Guid.NewGuid().ToString("N")[..8])).FullName;
    private readonly List<string> _images = [];

    public void Dispose()
    {
        foreach (var i in _images) d.Docker("rmi", "-f", i);
        try { Directory.Delete(_ctx, true); } catch (IOException) { }
    }

    private string Tag()
    {
        string t = "built" + Guid.NewGuid().ToString("N")[..8] + ":v1";
        _images.Add(t);
        return t;
    }

    private void Write(string rel, string content)
    {
        string p = Path.Combine(_ctx, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
    }

    private static void Ok((int Code, string Stdout, string Stderr) r) => Assert.True(r.Code == 0, $"exit {r.Code}: {r.Stdout}{r.Stderr}");

    private (int Code, string Stdout, string Stderr) Build(params string[] args) =>
        d.Docker(["build", .. args, _ctx]);

    private string Leftovers() => d.Docker("ps", "-aq").Stdout.Trim() + "|" + d.Docker("images", "-q", "--filter", "dangling=true").Stdout.Trim();

    [Fact]
    public void A_dockerfile_is_built_into_an_image_whose_containers_see_every_instruction()
    {
        Write("hello.txt", "hello\n");
        Write("sub/a.txt", "in sub\n");
        Write("sub/deeper/b.txt", "deeper\n");
        Write("glob1.conf", "g1\n");
        Write("glob2.conf", "g2\n");
        Directory.CreateDirectory(Path.Combine(_ctx, "t"));
        File.WriteAllText(Path.Combine(_ctx, "t", "from-tar.txt"), "unpacked\n");
        using (var tar = Process.Start("tar", ["-czf", Path.Combine(_ctx, "files.tgz"), "-C", Path.Combine(_ctx, "t"), "."])!)
        {
            tar.WaitForExit();
            Assert.Equal(0, tar.ExitCode);
        }
        Write("Dockerfile", """
            FROM busybox
            ARG GREETING=hi
            ENV APP=/app MODE=test
            WORKDIR $APP
            COPY hello.txt .
            COPY sub /app/subdir/
            COPY *.conf /etc/myconf/
            COPY --chown=1000:1001 hello.txt /owned.txt
            ADD files.tgz /opt/
            RUN echo "$GREETING from run in $(pwd) mode $MODE" > run.txt && cat hello.txt
            LABEL team=builders
            EXPOSE 8080
            USER 1000
            ENTRYPOINT ["sh", "-c"]
            CMD ["cat /app/run.txt"]
            """);
        string tag = Tag();
        string before = Leftovers();
        var b = Build("-t", tag, "--build-arg", "GREETING=yo");
        Ok(b);
        Assert.Contains("Step 10/15 : RUN", b.Stdout);
        Assert.Contains("hello\n", b.Stdout); // the RUN step's output is streamed
        Assert.Contains($"Successfully tagged {tag}", b.Stdout);

        var run = d.Docker("run", "--rm", tag);
        Ok(run);
        Assert.Equal("yo from run in /app mode test\n", run.Stdout);
        var look = d.Docker("run", "--rm", tag, "cat /app/hello.txt /app/subdir/a.txt /app/subdir/deeper/b.txt /etc/myconf/glob1.conf /etc/myconf/glob2.conf /opt/from-tar.txt; stat -c '%u:%g' /owned.txt; id -u");
        Ok(look);
        Assert.Equal("hello\nin sub\ndeeper\ng1\ng2\nunpacked\n1000:1001\n1000\n", look.Stdout);
        var cfg = d.Docker("inspect", tag, "--format", "{{.Config.WorkingDir}}|{{index .Config.Labels \"team\"}}|{{json .Config.ExposedPorts}}|{{.Config.User}}|{{json .Config.Entrypoint}}");
        Assert.Equal("/app|builders|{\"8080/tcp\":{}}|1000|[\"sh\",\"-c\"]", cfg.Stdout.Trim());
        Assert.Contains("ENV APP=/app MODE=test", d.Docker("history", "--no-trunc", tag).Stdout);
        Assert.Equal(before, Leftovers()); // no step container, no intermediate image
    }

    [Fact]
    public void A_multi_stage_build_copies_from_an_earlier_stage_and_keeps_only_the_last()
    {
        Write("src.txt", "source\n");
        Write("Dockerfile", """
            ARG BASE=busybox
            FROM $BASE AS builder
            WORKDIR /work
            COPY src.txt .
            RUN tr a-z A-Z < src.txt > out.txt && mkdir -p /work/dir && echo nested > /work/dir/n.txt
            FROM scratch AS empty
            FROM busybox
            COPY --from=builder /work/out.txt /result.txt
            COPY --from=0 /work/dir /copied/
            RUN cat /result.txt /copied/n.txt && test ! -e /work
            CMD ["cat", "/result.txt"]
            """);
        string tag = Tag(), before = Leftovers();
        var b = Build("-t", tag);
        Ok(b);
        Assert.Contains("SOURCE\nnested\n", b.Stdout);
        Assert.Equal("SOURCE\n", d.Docker("run", "--rm", tag).Stdout);
        Assert.Equal(before, Leftovers()); // the earlier stages' images went with the step containers

        Write("Dockerfile", "FROM busybox\nCOPY --from=nosuchstage /x /y\n");
        Assert.Contains("no build stage and no local image of that name", Build().Stderr);
        Write("Dockerfile", "FROM busybox AS one\nFROM busybox\nCOPY --from=one /nope /y\n");
        Assert.Contains("file not found in stage one", Build().Stderr);
    }

    [Fact]
    public void Healthcheck_and_onbuild_are_recorded_and_the_triggers_run_in_the_next_build()
    {
        string parent = Tag(), child = Tag();
        Write("Dockerfile", "FROM busybox\nHEALTHCHECK --interval=5s --retries=2 CMD test -e /trig\nONBUILD RUN echo triggered > /trig\n");
        Ok(Build("-t", parent));
        Assert.Equal("[\"CMD-SHELL\",\"test -e /trig\"]|5s|2|[\"RUN echo triggered > /trig\"]",
            d.Docker("inspect", parent, "--format", "{{json .Config.Healthcheck.Test}}|{{.Config.Healthcheck.Interval}}|{{.Config.Healthcheck.Retries}}|{{json .Config.OnBuild}}").Stdout.Trim());

        Write("Dockerfile", $"FROM {parent}\nRUN cat /trig\n");
        var b = Build("-t", child);
        Ok(b);
        Assert.Contains("# Executing 1 build trigger", b.Stdout);
        Assert.Contains("triggered\n", b.Stdout);
        Assert.Equal("null", d.Docker("inspect", child, "--format", "{{json .Config.OnBuild}}").Stdout.Trim());

        Write("Dockerfile", "FROM busybox\nHEALTHCHECK --interval=soon CMD true\n");
        Assert.Contains("not a duration", Build().Stderr);
        Write("Dockerfile", "FROM busybox\nONBUILD FROM busybox\n");
        Assert.Contains("isn't allowed as an ONBUILD trigger", Build().Stderr);
    }

    [Fact]
    public void A_failing_step_or_a_bad_dockerfile_fails_the_build_with_dockers_message_and_leaves_nothing()
    {
        Write("Dockerfile", "FROM busybox\nRUN echo started && exit 3\n");
        string tag = Tag(), before = Leftovers();
        var failed = Build("-t", tag);
        Assert.Equal(1, failed.Code);
        Assert.Contains("The command '/bin/sh -c echo started && exit 3' returned a non-zero code: 3", failed.Stderr);
        Assert.Contains("started", failed.Stdout);
        Assert.NotEqual(0, d.Docker("image", "inspect", tag).Code);
        Assert.Equal(before, Leftovers());

        Write("Dockerfile", "FROM busybox\nCOPY missing.txt /x\n");
        Assert.Contains("file not found in build context", Build().Stderr);
        Write("Dockerfile", "FROM busybox\nFOO bar\n");
        Assert.Contains("unknown instruction: FOO", Build().Stderr);
        Write("Dockerfile", "FROM no-such-image-here\n");
        Assert.NotEqual(0, Build().Code);
        var noFile = Build("-f", Path.Combine(_ctx, "Nope.Dockerfile")); // the CLI looks for it before sending
        Assert.NotEqual(0, noFile.Code);
        Assert.Contains("Nope.Dockerfile", noFile.Stderr);
        Assert.Equal(before, Leftovers());
    }

    [Fact]
    public void A_symlink_in_the_context_never_brings_a_host_file_into_the_image()
    {
        File.CreateSymbolicLink(Path.Combine(_ctx, "evil"), "/etc");
        Directory.CreateDirectory(Path.Combine(_ctx, "up"));
        File.CreateSymbolicLink(Path.Combine(_ctx, "up", "shadow"), "../../../../../../../etc/shadow");
        Write("Dockerfile", "FROM busybox\nCOPY evil/shadow /x\n");
        var through = Build();
        Assert.NotEqual(0, through.Code);
        Assert.Contains("file not found in build context", through.Stderr);

        // A relative link climbing out of the context is resolved inside it: there is no etc/shadow there.
        Write("Dockerfile", "FROM busybox\nCOPY up/shadow /s\n");
        var climb = Build();
        Assert.NotEqual(0, climb.Code);
        Assert.Contains("file not found in build context", climb.Stderr);
    }

    [Fact]
    public void Docker_compose_builds_a_service_image_and_runs_it()
    {
        string project = "b" + Guid.NewGuid().ToString("N")[..8];
        Write("app/Dockerfile", "FROM busybox\nCOPY msg.txt /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n");
        Write("app/msg.txt", "built by compose\n");
        Write("docker-compose.yml", """
            version: "3.8"
            services:
              app:
                build: ./app
            """);
        _images.Add(project + "_app");
        try
        {
            var up = d.Compose(_ctx, project, "up", "-d", "--build");
            Assert.True(up.Code == 0, up.Output);
            Ok(d.Docker("wait", project + "_app_1"));
            Assert.Equal("built by compose\n", d.Docker("logs", project + "_app_1").Stdout);
        }
        finally { d.Compose(_ctx, project, "down"); }
    }
}
