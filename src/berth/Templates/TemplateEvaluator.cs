using System.Text;
using System.Text.Json;
using static Berth.Cli.Templates.TemplateValues;

namespace Berth.Cli.Templates;

/// <summary>
/// Runs parsed nodes on a value. Errors read like Go's ("template: :1: executing "" at &lt;ACTION&gt;:
/// ...") and are the data's fault, not the format's: an unknown field, a bad index.
/// </summary>
internal sealed class TemplateEvaluator
{
    private readonly List<(string Name, object? Value)> _vars = new();
    private readonly StringBuilder _out = new();

    public static string Run(List<Node> nodes, object? data)
    {
        var ev = new TemplateEvaluator();
        ev._vars.Add(("$", data));
        ev.Walk(nodes, data);
        return ev._out.ToString();
    }

    private void Walk(List<Node> nodes, object? dot)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode t:
                    _out.Append(t.Text);
                    break;
                case ActionNode a:
                    {
                        var v = Pipeline(a.Pipe, dot, a.Source, declare: true);
                        // A declaration ({{$x := ...}}) prints nothing.
                        if (a.Pipe.Variables.Count == 0) _out.Append(Print(v));
                        break;
                    }
                case ControlNode c:
                    {
                        int scope = _vars.Count;
                        if (c.Keyword == "range") Range(c, dot);
                        else
                        {
                            var v = Pipeline(c.Pipe, dot, c.Source, declare: true);
                            if (Truth(v)) Walk(c.Body, c.Keyword == "with" ? v : dot);
                            else if (c.Else is not null) Walk(c.Else, dot);
                        }
                        _vars.RemoveRange(scope, _vars.Count - scope);
                        break;
                    }
            }
        }
    }

    private void Range(ControlNode c, object? dot)
    {
        var v = Normalize(Pipeline(c.Pipe, dot, c.Source, declare: false));
        var entries = new List<(object? Key, object? Value)>();
        switch (v)
        {
            case JsonElement { ValueKind: JsonValueKind.Object } obj:
                // Go ranges over a map in the order of its sorted keys.
                foreach (var p in obj.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal)) entries.Add((p.Name, p.Value));
                break;
            case long n:
                for (long i = 0; i < n; i++) entries.Add((i, i));
                break;
            case null:
                break;
            default:
                var items = Items(v) ?? throw Fail(c.Source, $"range can't iterate over {Print(v)}");
                for (int i = 0; i < items.Count; i++) entries.Add(((long)i, items[i]));
                break;
        }
        if (entries.Count == 0)
        {
            if (c.Else is not null) Walk(c.Else, dot);
            return;
        }
        var names = c.Pipe.Variables;
        if (names.Count > 2) throw Fail(c.Source, "too many declarations in range");
        int scope = _vars.Count;
        foreach (var (key, value) in entries)
        {
            _vars.RemoveRange(scope, _vars.Count - scope);
            if (names.Count == 1) Set(names[0], value, c.Pipe.Assign, c.Source);
            if (names.Count == 2) { Set(names[0], key, c.Pipe.Assign, c.Source); Set(names[1], value, c.Pipe.Assign, c.Source); }
            Walk(c.Body, value);
        }
    }

    private object? Pipeline(Pipeline pipe, object? dot, string source, bool declare)
    {
        object? value = null;
        for (int i = 0; i < pipe.Commands.Count; i++)
            value = Command(pipe.Commands[i], dot, source, hasFinal: i > 0, final: value);
        if (declare)
            foreach (var name in pipe.Variables) Set(name, value, pipe.Assign, source);
        return value;
    }

    private object? Command(Command cmd, object? dot, string source, bool hasFinal, object? final)
    {
        var first = cmd.Operands[0];
        if (first is FunctionOperand f)
        {
            var args = cmd.Operands.Skip(1).Select(o => Argument(o, dot, source)).ToList();
            if (hasFinal) args.Add(final);
            try { return TemplateFunctions.Call(f.Name, args); }
            catch (ArgumentException e) { throw Fail(source, e.Message); }
        }
        if (cmd.Operands.Count > 1 || hasFinal) throw Fail(source, $"can't give argument to non-function {Describe(first)}");
        return Argument(first, dot, source);
    }

    private object? Argument(Operand op, object? dot, string source) => op switch
    {
        FieldOperand f => Fields(dot, f.Fields, source),
        VariableOperand v => Fields(Lookup(v.Name, source), v.Fields, source),
        LiteralOperand l => l.Value,
        SubPipelineOperand s => Fields(Pipeline(s.Pipe, dot, source, declare: true), s.Fields, source),
        FunctionOperand f => Command(new Command([f]), dot, source, hasFinal: false, final: null),
        _ => null,
    };

    private static object? Fields(object? v, string[] fields, string source)
    {
        foreach (var name in fields)
        {
            // docker's values are typed structs: a field they do not have is an error.
            if (v is not JsonElement { ValueKind: JsonValueKind.Object } obj || !obj.TryGetProperty(name, out var next))
                throw Fail(source, v is null ? $"nil pointer evaluating interface {{}}.{name}" : $"can't evaluate field {name} in type {TypeName(v)}");
            v = next;
        }
        return v;
    }

    private object? Lookup(string name, string source)
    {
        for (int i = _vars.Count - 1; i >= 0; i--)
            if (_vars[i].Name == name) return _vars[i].Value;
        throw new UsageException($"template parsing error: template: :1: undefined variable \"{name}\"");
    }

    private void Set(string name, object? value, bool assign, string source)
    {
        if (!assign) { _vars.Add((name, value)); return; }
        for (int i = _vars.Count - 1; i >= 0; i--)
            if (_vars[i].Name == name) { _vars[i] = (name, value); return; }
        throw new UsageException($"template parsing error: template: :1: undefined variable \"{name}\"");
    }

    private static string Describe(Operand op) => op switch
    {
        FieldOperand f => f.Fields.Length == 0 ? "." : "." + string.Join('.', f.Fields),
        VariableOperand v => v.Name + string.Concat(v.Fields.Select(x => "." + x)),
        LiteralOperand l => Print(l.Value),
        _ => "(...)",
    };

    private static Client.CliException Fail(string source, string message) =>
        new($"template: :1: executing \"\" at <{source}>: {message}");
}
