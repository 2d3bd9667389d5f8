using System.Globalization;
using System.Text;
using System.Text.Json;
using static Berth.Cli.Templates.TemplateValues;

namespace Berth.Cli.Templates;

/// <summary>
/// Go's template built-ins (and, or, not, len, index, print, printf, println, eq, ne, lt, le, gt, ge)
/// and the ones docker adds for --format (json, split, join, title, lower, upper, pad, truncate).
/// </summary>
internal static class TemplateFunctions
{
    /// <summary>Calls a function; an <see cref="ArgumentException"/> carries Go's "error calling X" text.</summary>
    public static object? Call(string name, List<object?> a)
    {
        switch (name)
        {
            case "and": Min(name, a, 1); return a.FirstOrDefault(x => !Truth(x), a[^1]);
            case "or": Min(name, a, 1); return a.FirstOrDefault(Truth, a[^1]);
            case "not": Exactly(name, a, 1); return !Truth(a[0]);
            case "len": Exactly(name, a, 1); return Length(a[0]);
            case "index": Min(name, a, 1); return Index(a[0], a.Skip(1));
            case "print": return Sprint(a);
            case "println": return string.Join(' ', a.Select(Print)) + "\n";
            case "printf":
                Min(name, a, 1);
                return Printf(Normalize(a[0]) as string ?? throw new ArgumentException("error calling printf: the format is not a string"), a.Skip(1).ToList());
            case "eq": Min(name, a, 2); return a.Skip(1).Any(b => Compare("eq", a[0], b) == 0);
            case "ne": Exactly(name, a, 2); return Compare(name, a[0], a[1]) != 0;
            case "lt": Exactly(name, a, 2); return Compare(name, a[0], a[1]) < 0;
            case "le": Exactly(name, a, 2); return Compare(name, a[0], a[1]) <= 0;
            case "gt": Exactly(name, a, 2); return Compare(name, a[0], a[1]) > 0;
            case "ge": Exactly(name, a, 2); return Compare(name, a[0], a[1]) >= 0;
            case "json": Exactly(name, a, 1); return Json(a[0]);
            case "split": Exactly(name, a, 2); return Print(a[0]).Split(Print(a[1])).Select(s => (object?)s).ToList();
            case "join":
                Exactly(name, a, 2);
                return Items(a[0]) is { } items ? string.Join(Print(a[1]), items.Select(Print)) : Print(a[0]);
            case "title": Exactly(name, a, 1); return Title(Print(a[0]));
            case "lower": Exactly(name, a, 1); return Print(a[0]).ToLowerInvariant();
            case "upper": Exactly(name, a, 1); return Print(a[0]).ToUpperInvariant();
            case "pad":
                {
                    Exactly(name, a, 3);
                    string s = Print(a[0]);
                    return s.Length == 0 ? s : new string(' ', (int)Integer(name, a[1])) + s + new string(' ', (int)Integer(name, a[2]));
                }
            case "truncate":
                {
                    Exactly(name, a, 2);
                    string s = Print(a[0]);
                    long n = Integer(name, a[1]);
                    return s.Length < n ? s : s[..(int)Math.Max(0, n)];
                }
        }
        throw new ArgumentException($"function \"{name}\" not defined");
    }

    private static void Exactly(string name, List<object?> a, int n)
    {
        if (a.Count != n) throw new ArgumentException($"wrong number of args for {name}: want {n} got {a.Count}");
    }

    private static void Min(string name, List<object?> a, int n)
    {
        if (a.Count < n) throw new ArgumentException($"wrong number of args for {name}: want at least {n} got {a.Count}");
    }

    private static long Length(object? v) => Normalize(v) switch
    {
        string s => Encoding.UTF8.GetByteCount(s),
        JsonElement { ValueKind: JsonValueKind.Array } e => e.GetArrayLength(),
        JsonElement e => e.EnumerateObject().Count(),
        List<object?> list => list.Count,
        var x => throw new ArgumentException($"error calling len: len of type {TypeName(x)}"),
    };

    private static object? Index(object? v, IEnumerable<object?> keys)
    {
        foreach (var k in keys)
        {
            var key = Normalize(k);
            if (v is JsonElement { ValueKind: JsonValueKind.Object } obj)
            {
                // A key the map does not have gives its zero value, as in Go.
                v = obj.TryGetProperty(Print(key), out var x) ? x : null;
                continue;
            }
            var items = Items(v) ?? throw new ArgumentException($"error calling index: can't index item of type {TypeName(v)}");
            long i = key switch
            {
                long l => l,
                string s when long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long p) => p,
                _ => throw new ArgumentException($"error calling index: cannot index slice/array with type {TypeName(key)}"),
            };
            if (i < 0 || i >= items.Count) throw new ArgumentException($"error calling index: index out of range: {i}");
            v = items[(int)i];
        }
        return v;
    }

    // fmt.Sprint: a space between two operands when neither is a string.
    private static string Sprint(List<object?> a)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < a.Count; i++)
        {
            if (i > 0 && Normalize(a[i - 1]) is not string && Normalize(a[i]) is not string) sb.Append(' ');
            sb.Append(Print(a[i]));
        }
        return sb.ToString();
    }

    // Go's comparison functions: numbers with numbers, strings with strings, bools for eq/ne.
    private static int Compare(string name, object? x, object? y)
    {
        x = Normalize(x);
        y = Normalize(y);
        switch (x, y)
        {
            case (long a, long b): return a.CompareTo(b);
            case (long or double, long or double): return Convert.ToDouble(x, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(y, CultureInfo.InvariantCulture));
            case (string a, string b): return string.CompareOrdinal(a, b);
            case (bool a, bool b) when name is "eq" or "ne": return a == b ? 0 : 1;
            case (null, null) when name is "eq" or "ne": return 0;
        }
        if (name is "eq" or "ne" && (x is null || y is null)) return 1;
        throw new ArgumentException($"error calling {name}: incompatible types for comparison");
    }

    private static long Integer(string name, object? v) => Normalize(v) switch
    {
        long l => l,
        double d when d == Math.Floor(d) => (long)d,
        var x => throw new ArgumentException($"error calling {name}: expected an integer, got {TypeName(x)}"),
    };

    // strings.Title: the first letter of each word in upper case.
    private static string Title(string s)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            if (char.IsLetter(chars[i]) && (i == 0 || !char.IsLetterOrDigit(chars[i - 1]))) chars[i] = char.ToUpperInvariant(chars[i]);
        return new string(chars);
    }

    // fmt.Sprintf for the verbs people use in --format: %v %s %d %q %t %f %g %x and %%, with flags, width, precision.
    private static string Printf(string format, List<object?> args)
    {
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%') { sb.Append(c); continue; }
            if (++i >= format.Length) { sb.Append("%!(NOVERB)"); break; }
            bool left = false, zero = false, plus = false;
            for (; i < format.Length && format[i] is '-' or '0' or '+' or ' ' or '#'; i++)
            {
                if (format[i] == '-') left = true;
                else if (format[i] == '0') zero = true;
                else if (format[i] == '+') plus = true;
            }
            int width = 0, precision = -1;
            for (; i < format.Length && char.IsAsciiDigit(format[i]); i++) width = width * 10 + (format[i] - '0');
            if (i < format.Length && format[i] == '.')
            {
                precision = 0;
                for (i++; i < format.Length && char.IsAsciiDigit(format[i]); i++) precision = precision * 10 + (format[i] - '0');
            }
            if (i >= format.Length) { sb.Append("%!(NOVERB)"); break; }
            char verb = format[i];
            if (verb == '%') { sb.Append('%'); continue; }
            if (next >= args.Count) { sb.Append($"%!{verb}(MISSING)"); continue; }
            var v = Normalize(args[next++]);
            string text = verb switch
            {
                'v' or 's' => precision >= 0 && Print(v) is { } p && p.Length > precision ? Print(v)[..precision] : Print(v),
                'q' => Json(Print(v)),
                't' => v is bool b ? (b ? "true" : "false") : $"%!t({TypeName(v)}={Print(v)})",
                'd' => v is long l ? (plus && l >= 0 ? "+" : "") + l.ToString(CultureInfo.InvariantCulture) : $"%!d({TypeName(v)}={Print(v)})",
                'x' => v switch
                {
                    long l => l.ToString("x", CultureInfo.InvariantCulture),
                    string s => Convert.ToHexString(Encoding.UTF8.GetBytes(s)).ToLowerInvariant(),
                    _ => $"%!x({TypeName(v)}={Print(v)})",
                },
                'f' or 'g' or 'e' => v is long or double
                    ? Convert.ToDouble(v, CultureInfo.InvariantCulture).ToString(verb == 'f' ? "F" + (precision < 0 ? 6 : precision) : verb == 'e' ? "e" + (precision < 0 ? 6 : precision) : "G", CultureInfo.InvariantCulture)
                    : $"%!{verb}({TypeName(v)}={Print(v)})",
                _ => $"%!{verb}({TypeName(v)}={Print(v)})",
            };
            if (text.Length < width)
                text = left ? text.PadRight(width) : zero && verb is 'd' or 'f' or 'x' ? text.PadLeft(width, '0') : text.PadLeft(width);
            sb.Append(text);
        }
        if (next < args.Count) sb.Append("%!(EXTRA ").Append(string.Join(", ", args.Skip(next).Select(x => $"{TypeName(x)}={Print(x)}"))).Append(')');
        return sb.ToString();
    }
}
