using System.Globalization;
using System.Text;

namespace Berth.Cli.Templates;

/// <summary>
/// Parses a template into <see cref="Node"/>s. Errors read like Go's ("template parsing error:
/// template: :1: ...") and are usage errors: the format, not the data, is wrong.
/// </summary>
internal static class TemplateParser
{
    private static readonly HashSet<string> Functions = new(StringComparer.Ordinal)
    {
        "and", "or", "not", "len", "index", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
        "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
    };

    public static List<Node> Parse(string template)
    {
        var items = Lex(template);
        int pos = 0;
        var nodes = ParseList(items, ref pos, out string? stop);
        if (stop is not null) throw Error($"unexpected {{{{{stop}}}}}");
        return nodes;
    }

    /// <summary>The actions' sources, in order, outside comments (for table headers).</summary>
    public static IEnumerable<string> Actions(string template) =>
        Lex(template).Where(i => i.IsAction).Select(i => i.Text);

    private readonly record struct Item(bool IsAction, string Text);

    // Text and actions. "{{- " trims the white space before the action, " -}}" the white space after it.
    private static List<Item> Lex(string s)
    {
        var items = new List<Item>();
        int i = 0;
        bool trimNext = false;
        while (i < s.Length)
        {
            int open = s.IndexOf("{{", i, StringComparison.Ordinal);
            string text = open < 0 ? s[i..] : s[i..open];
            if (trimNext) text = text.TrimStart();
            trimNext = false;
            if (open < 0) { if (text.Length > 0) items.Add(new Item(false, text)); break; }
            int start = open + 2;
            bool trimBefore = start + 1 < s.Length && s[start] == '-' && char.IsWhiteSpace(s[start + 1]);
            if (trimBefore) { text = text.TrimEnd(); start += 2; }
            if (text.Length > 0) items.Add(new Item(false, text));
            int close = FindClose(s, start);
            if (close < 0) throw Error("unclosed action");
            int end = close;
            if (end - 1 >= start && s[end - 1] == '-' && end - 2 >= start && char.IsWhiteSpace(s[end - 2])) { trimNext = true; end -= 1; }
            string action = s[start..end].Trim();
            if (!(action.StartsWith("/*", StringComparison.Ordinal) && action.EndsWith("*/", StringComparison.Ordinal)))
                items.Add(new Item(true, action));
            i = close + 2;
        }
        return items;
    }

    // The "}}" that ends an action, skipping any inside string literals.
    private static int FindClose(string s, int from)
    {
        for (int i = from; i < s.Length - 1; i++)
        {
            char c = s[i];
            if (c == '"' || c == '`')
            {
                int j = i + 1;
                while (j < s.Length && s[j] != c) j += c == '"' && s[j] == '\\' ? 2 : 1;
                i = j;
                continue;
            }
            if (c == '}' && s[i + 1] == '}') return i;
        }
        return -1;
    }

    // Nodes until the end of input or an {{else...}} / {{end}}, whose text comes back in stop.
    private static List<Node> ParseList(List<Item> items, ref int pos, out string? stop)
    {
        var nodes = new List<Node>();
        stop = null;
        while (pos < items.Count)
        {
            var item = items[pos++];
            if (!item.IsAction) { nodes.Add(new TextNode(item.Text)); continue; }
            string a = item.Text;
            string keyword = FirstWord(a);
            switch (keyword)
            {
                case "end":
                case "else":
                    stop = a;
                    return nodes;
                case "if":
                case "range":
                case "with":
                    nodes.Add(ParseControl(keyword, a, items, ref pos));
                    break;
                case "define":
                case "template":
                case "block":
                case "break":
                case "continue":
                    throw Error($"{{{{{keyword}}}}} is not supported in --format");
                default:
                    var pipe = ParsePipeline(a);
                    if (pipe.Commands.Count == 0) throw Error("missing value for command");
                    nodes.Add(new ActionNode(pipe, a));
                    break;
            }
        }
        return nodes;
    }

    private static Node ParseControl(string keyword, string action, List<Item> items, ref int pos)
    {
        var pipe = ParsePipeline(action[keyword.Length..]);
        if (pipe.Commands.Count == 0) throw Error($"missing value for {keyword}");
        var body = ParseList(items, ref pos, out string? stop);
        List<Node>? otherwise = null;
        if (stop is not null && FirstWord(stop) == "else")
        {
            string rest = stop[4..].Trim();
            if (rest.Length > 0)
            {
                // {{else if X}} ... {{end}}: a nested if that shares the outer {{end}}.
                string inner = FirstWord(rest);
                if (inner is not ("if" or "with")) throw Error($"unexpected \"{rest}\" after else");
                otherwise = [ParseControl(inner, rest, items, ref pos)];
                return new ControlNode(keyword, pipe, body, otherwise, action);
            }
            otherwise = ParseList(items, ref pos, out stop);
        }
        if (stop is null || stop != "end") throw Error($"unexpected EOF: {{{{{action}}}}} has no {{{{end}}}}");
        return new ControlNode(keyword, pipe, body, otherwise, action);
    }

    private static string FirstWord(string action)
    {
        int i = 0;
        while (i < action.Length && !char.IsWhiteSpace(action[i])) i++;
        return action[..i];
    }

    // ---- pipelines ----

    private static Pipeline ParsePipeline(string source)
    {
        var tokens = Tokenize(source);
        int p = 0;
        var pipe = ParsePipelineTokens(tokens, ref p);
        if (p != tokens.Count) throw Error($"unexpected \"{tokens[p]}\" in {{{{{source.Trim()}}}}}");
        return pipe;
    }

    private static Pipeline ParsePipelineTokens(List<string> t, ref int p)
    {
        var vars = new List<string>();
        bool assign = false;
        // $x := ... or $k, $v := ... (only at the start of a pipeline)
        int q = p;
        var names = new List<string>();
        while (q < t.Count && t[q].StartsWith('$') && !t[q].Contains('.'))
        {
            names.Add(t[q++]);
            if (q < t.Count && t[q] == ",") { q++; continue; }
            break;
        }
        if (names.Count > 0 && q < t.Count && (t[q] == ":=" || t[q] == "="))
        {
            vars = names;
            assign = t[q] == "=";
            p = q + 1;
        }
        var commands = new List<Command>();
        var operands = new List<Operand>();
        while (p < t.Count && t[p] != ")")
        {
            string tok = t[p++];
            if (tok == "|")
            {
                if (operands.Count == 0) throw Error("missing command before |");
                commands.Add(new Command(operands));
                operands = new List<Operand>();
                continue;
            }
            operands.Add(ParseOperand(tok, t, ref p));
        }
        if (operands.Count > 0) commands.Add(new Command(operands));
        else if (commands.Count > 0) throw Error("missing command after |");
        if (vars.Count > 0 && commands.Count == 0) throw Error("missing value for declaration");
        return new Pipeline(vars, assign, commands);
    }

    private static Operand ParseOperand(string tok, List<string> t, ref int p)
    {
        if (tok == "(")
        {
            var inner = ParsePipelineTokens(t, ref p);
            if (p >= t.Count || t[p] != ")") throw Error("unclosed left paren");
            p++;
            string[] fields = [];
            if (p < t.Count && t[p].StartsWith(FieldOfParen)) fields = Fields(t[p++][1..]);
            return new SubPipelineOperand(inner, fields);
        }
        if (tok == ".") return new FieldOperand([]);
        if (tok.StartsWith('.')) return new FieldOperand(Fields(tok));
        if (tok.StartsWith('$'))
        {
            int dot = tok.IndexOf('.');
            return dot < 0 ? new VariableOperand(tok, []) : new VariableOperand(tok[..dot], Fields(tok[dot..]));
        }
        if (tok.StartsWith('"')) return new LiteralOperand(Unquote(tok));
        if (tok.StartsWith('`')) return new LiteralOperand(tok[1..^1]);
        if (tok is "true" or "false") return new LiteralOperand(tok == "true");
        if (tok == "nil") return new LiteralOperand(null);
        if (tok.Length > 0 && (char.IsAsciiDigit(tok[0]) || (tok[0] is '-' or '+' && tok.Length > 1)))
        {
            if (long.TryParse(tok, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return new LiteralOperand(l);
            if (double.TryParse(tok, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return new LiteralOperand(d);
            throw Error($"bad number syntax: \"{tok}\"");
        }
        if (Functions.Contains(tok)) return new FunctionOperand(tok);
        throw Error($"function \"{tok}\" not defined");
    }

    private static string[] Fields(string chain)
    {
        var parts = chain[1..].Split('.');
        if (parts.Any(f => f.Length == 0)) throw Error($"bad field \"{chain}\"");
        return parts;
    }

    private const char FieldOfParen = '\u0001';

    private static List<string> Tokenize(string s)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == ')' && i + 2 < s.Length && s[i + 1] == '.' && char.IsLetter(s[i + 2]))
            {
                // (pipeline).Field: a field of the parenthesized value, not another argument.
                int f = i + 1;
                while (f < s.Length && (char.IsLetterOrDigit(s[f]) || s[f] is '.' or '_')) f++;
                tokens.Add(")");
                tokens.Add(FieldOfParen + s[(i + 1)..f]);
                i = f;
                continue;
            }
            if (c is '(' or ')' or '|' or ',') { tokens.Add(c.ToString()); i++; continue; }
            if (c == ':' && i + 1 < s.Length && s[i + 1] == '=') { tokens.Add(":="); i += 2; continue; }
            if (c == '=') { tokens.Add("="); i++; continue; }
            if (c == '"' || c == '`')
            {
                int j = i + 1;
                while (j < s.Length && s[j] != c) j += c == '"' && s[j] == '\\' ? 2 : 1;
                if (j >= s.Length) throw Error("unterminated quoted string");
                tokens.Add(s[i..(j + 1)]);
                i = j + 1;
                continue;
            }
            int k = i;
            while (k < s.Length && !char.IsWhiteSpace(s[k]) && s[k] is not ('(' or ')' or '|' or ',' or '"' or '`')
                   && !(s[k] == ':' && k + 1 < s.Length && s[k + 1] == '=')) k++;
            tokens.Add(s[i..k]);
            i = k;
        }
        return tokens;
    }

    private static string Unquote(string quoted)
    {
        var sb = new StringBuilder();
        for (int i = 1; i < quoted.Length - 1; i++)
        {
            char c = quoted[i];
            if (c != '\\' || i + 1 >= quoted.Length - 1) { sb.Append(c); continue; }
            char e = quoted[++i];
            sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '\\' => '\\', '"' => '"', '0' => '\0', _ => throw Error($"unknown escape sequence \\{e}") });
        }
        return sb.ToString();
    }

    internal static UsageException Error(string message) => new($"template parsing error: template: :1: {message}");
}
