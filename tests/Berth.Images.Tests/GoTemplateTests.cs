using System.Text.Json;
using Berth.Cli;
using Berth.Cli.Client;

namespace Berth.Images.Tests;

/// <summary>docker's --format: the Go template constructs people use, on inspect-shaped JSON, with Go's output.</summary>
public class GoTemplateTests
{
    private const string Container = """
        {
          "Id": "4f1e2d", "Name": "/web", "RestartCount": 2, "Ratio": 0.5,
          "State": { "Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0, "Error": "" },
          "Config": { "Cmd": ["sh", "-c", "echo <hi> & bye"], "Env": [], "Labels": { "role": "front", "app": "shop" }, "Tty": false },
          "Mounts": [ { "Source": "/srv/data", "Destination": "/data" }, { "Source": "/srv/logs", "Destination": "/logs" } ],
          "NetworkSettings": { "Ports": { "80/tcp": [ { "HostIp": "0.0.0.0", "HostPort": "8080" } ] } },
          "Nothing": null
        }
        """;

    private static string R(string format) => GoTemplate.Render(format, JsonDocument.Parse(Container).RootElement);

    [Theory]
    [InlineData("{{.Name}} {{.State.Status}} {{.State.Pid}}", "/web running 4242")]
    [InlineData("{{.State.Running}} {{.Config.Tty}} {{.Ratio}}", "true false 0.5")]
    [InlineData("{{.Config.Cmd}}", "[sh -c echo <hi> & bye]")]
    [InlineData("{{.Config.Labels}}", "map[app:shop role:front]")]
    [InlineData("{{.Nothing}}", "<no value>")]
    [InlineData("{{json .Config.Cmd}}", "[\"sh\",\"-c\",\"echo <hi> & bye\"]")]
    [InlineData("{{.Config.Cmd | json}}", "[\"sh\",\"-c\",\"echo <hi> & bye\"]")]
    [InlineData("{{json .Config.Labels.role}}", "\"front\"")]
    [InlineData("{{index .Config.Labels \"role\"}} {{index .Config.Labels \"absent\"}}", "front <no value>")]
    [InlineData("{{index .Config.Cmd 1}} {{index .Mounts 1 \"Source\"}}", "-c /srv/logs")]
    [InlineData("{{(index .Mounts 0).Destination}}", "/data")]
    [InlineData("{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}", "8080")]
    [InlineData("{{len .Mounts}} {{len .Config.Labels}} {{len .Name}} {{len .Config.Env}}", "2 2 4 0")]
    [InlineData("{{join .Config.Cmd \",\"}}|{{split \"a:b:c\" \":\"}}|{{len (split \"a:b:c\" \":\")}}", "sh,-c,echo <hi> & bye|[a b c]|3")]
    [InlineData("{{upper .State.Status}} {{.State.Status | title}} {{lower \"ABC\"}} {{title \"hello big world\"}}", "RUNNING Running abc Hello Big World")]
    [InlineData("[{{pad .State.Status 1 2}}] [{{pad \"\" 1 1}}] {{truncate .Id 3}} {{truncate \"ab\" 5}}", "[ running  ] [] 4f1 ab")]
    public void Fields_functions_and_pipelines_print_as_go_does(string format, string expected) => Assert.Equal(expected, R(format));

    [Theory]
    [InlineData("{{if .State.Running}}up{{else}}down{{end}}", "up")]
    [InlineData("{{if .Config.Tty}}tty{{else if .State.Running}}running{{else}}other{{end}}", "running")]
    [InlineData("{{if .Config.Env}}env{{end}}{{if not .Config.Env}}no env{{end}}", "no env")]
    [InlineData("{{if eq .State.Status \"exited\" \"running\"}}live{{end}} {{if ne .State.ExitCode 0}}failed{{else}}ok{{end}}", "live ok")]
    [InlineData("{{if and .State.Running (gt .State.Pid 1)}}yes{{end}} {{or .State.Error \"none\"}} {{and 1 0}}", "yes none 0")]
    [InlineData("{{if lt .RestartCount 3}}few{{end}} {{if ge .Ratio 0.5}}half{{end}} {{if le \"a\" \"b\"}}ab{{end}}", "few half ab")]
    [InlineData("{{with .State}}{{.Status}}/{{.Pid}}{{end}} {{with .State.Error}}err {{.}}{{else}}no error{{end}}", "running/4242 no error")]
    [InlineData("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/srv/data:/data /srv/logs:/logs ")]
    [InlineData("{{range $i, $m := .Mounts}}{{$i}}={{$m.Destination}};{{end}}", "0=/data;1=/logs;")]
    [InlineData("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "app=shop,role=front,")]
    [InlineData("{{range .Config.Labels}}{{.}} {{end}}", "shop front ")]
    [InlineData("{{range .Config.Env}}{{.}}{{else}}empty{{end}}", "empty")]
    [InlineData("{{range .Mounts}}{{$.Name}}{{.Destination}} {{end}}", "/web/data /web/logs ")]
    [InlineData("{{range split \"x y\" \" \"}}<{{.}}>{{end}}", "<x><y>")]
    [InlineData("{{$n := .Name}}{{$s := .State}}{{$n}} {{$s.Status}}", "/web running")]
    [InlineData("{{$x := 1}}{{$x = 2}}{{$x}}", "2")]
    public void Control_structures_and_variables_follow_go(string format, string expected) => Assert.Equal(expected, R(format));

    [Theory]
    [InlineData("{{printf \"%s has pid %d\" .Name .State.Pid}}", "/web has pid 4242")]
    [InlineData("{{printf \"[%6s][%-6s][%03d][%.2f][%q][%v][%t][%x]\" \"ab\" \"ab\" 7 3.14159 \"q\" .Config.Cmd true 255}}", "[    ab][ab    ][007][3.14][\"q\"][[sh -c echo <hi> & bye]][true][ff]")]
    [InlineData("{{len .Mounts | printf \"%d mounts\"}}", "2 mounts")]
    [InlineData("{{printf \"%d %d\" 1}} {{printf \"%d\" 1 2}}", "1 %!d(MISSING) 1%!(EXTRA int=2)")]
    [InlineData("{{print \"a\" \"b\" 1 2 \"c\"}}|{{println .Name 3}}", "ab1 2c|/web 3\n")]
    [InlineData("a  {{- .Name -}}  b\n{{/* a comment */}}c", "a/webb\nc")]
    // \t and \n are turned into a tab and a newline before parsing, as docker's formatter does.
    [InlineData("{{\"}}\"}} {{`raw\\n`}} {{\"tab\\there\"}}", "}} raw\n tab\there")]
    public void Printf_literals_trimming_and_comments(string format, string expected) => Assert.Equal(expected, R(format));

    [Theory]
    [InlineData("{{nope .Name}}", "function \"nope\" not defined")]
    [InlineData("{{.Name", "unclosed action")]
    [InlineData("{{if .State.Running}}up", "has no {{end}}")]
    [InlineData("{{end}}", "unexpected {{end}}")]
    [InlineData("{{$undefined}}", "undefined variable \"$undefined\"")]
    [InlineData("{{template \"x\"}}", "not supported")]
    [InlineData("{{len}}", "wrong number of args for len")]
    [InlineData("a{{ }}b", "missing value for command")]
    public void A_malformed_format_is_a_usage_error(string format, string message)
    {
        var e = Assert.ThrowsAny<Exception>(() => R(format));
        Assert.True(e is UsageException or CliException, e.GetType().Name);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("{{.Nope}}", "can't evaluate field Nope")]
    [InlineData("{{.State.Status.Deeper}}", "can't evaluate field Deeper in type string")]
    [InlineData("{{index .Mounts 5}}", "index out of range: 5")]
    [InlineData("{{len .State.Pid}}", "len of type int")]
    [InlineData("{{.Name | .State}}", "can't give argument to non-function")]
    [InlineData("{{if eq .Name 3}}x{{end}}", "incompatible types for comparison")]
    public void Data_the_format_does_not_fit_fails_with_gos_message(string format, string message)
    {
        var e = Assert.Throws<CliException>(() => R(format));
        Assert.StartsWith("template: :1: executing \"\" at <", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Tables_take_headers_from_fields_and_skip_control_actions()
    {
        var rows = new[]
        {
            JsonDocument.Parse("""{"ID":"abc","Names":"web","Labels":{"a":"1"}}""").RootElement,
            JsonDocument.Parse("""{"ID":"defghijklmno","Names":"db","Labels":{}}""").RootElement,
        };
        var headers = new Dictionary<string, string> { ["ID"] = "CONTAINER ID" };
        string table = GoTemplate.RenderLines("table {{.ID}}\\t{{if .Names}}{{.Names}}{{end}}", rows, headers);
        Assert.Equal("CONTAINER ID   NAMES\nabc            web\ndefghijklmno   db\n", table);
        Assert.Equal("web\ndb\n", GoTemplate.RenderLines("{{.Names}}", rows));
    }
}
