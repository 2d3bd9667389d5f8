using System.Text;

namespace Berth.Shim;

/// <summary>Reads one string field out of a flat JSON line (the runtime's log), without a JSON library in the shim.</summary>
internal static class MiniJson
{
    public static string? StringField(string line, string name)
    {
        string key = $"\"{name}\":\"";
        int i = line.IndexOf(key, StringComparison.Ordinal);
        if (i < 0) return null;
        var sb = new StringBuilder();
        for (i += key.Length; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"') return sb.ToString();
            if (c != '\\' || i + 1 >= line.Length) { sb.Append(c); continue; }
            char e = line[++i];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'u' when i + 4 < line.Length && int.TryParse(line.AsSpan(i + 1, 4), System.Globalization.NumberStyles.HexNumber, null, out int u):
                    sb.Append((char)u);
                    i += 4;
                    break;
                default: sb.Append(e); break; // \" \\ \/
            }
        }
        return null;
    }
}
