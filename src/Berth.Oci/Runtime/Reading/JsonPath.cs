using System.Text;

namespace Berth.Oci.Runtime.Reading;

/// <summary>
/// The stack of properties and indexes down to the value a JsonCursor stands on, rendered the
/// way STJ renders JsonException.Path: $.process.args[0], and $['a.b'] for a name that would be
/// ambiguous after a dot. Only formatted when something fails.
/// </summary>
internal sealed class JsonPath
{
    private string?[] _names = new string?[16];
    private int[] _indexes = new int[16];
    private int _depth;

    private const int Property = -2;
    private const int NoIndexYet = -1;

    public void PushProperty() => Push(Property);
    public void PushIndex() => Push(NoIndexYet);

    private void Push(int kind)
    {
        if (_depth == _names.Length)
        {
            Array.Resize(ref _names, _depth * 2);
            Array.Resize(ref _indexes, _depth * 2);
        }
        _names[_depth] = null;
        _indexes[_depth] = kind;
        _depth++;
    }

    public void SetProperty(string? name) => _names[_depth - 1] = name;
    public void SetIndex(int index) => _indexes[_depth - 1] = index;
    public void Pop() => _depth--;

    private static readonly char[] Special = ['.', ' ', '\'', '/', '"', '[', ']', '(', ')', '\t', '\n', '\r', '\f', '\b', '\\', '\u0085', '\u2028', '\u2029'];

    public override string ToString()
    {
        var sb = new StringBuilder("$");
        for (int i = 0; i < _depth; i++)
        {
            if (_indexes[i] >= 0) sb.Append('[').Append(_indexes[i]).Append(']');
            else if (_indexes[i] == Property && _names[i] is { } name)
            {
                if (name.AsSpan().IndexOfAny(Special) >= 0) sb.Append("['").Append(name).Append("']");
                else sb.Append('.').Append(name);
            }
        }
        return sb.ToString();
    }
}
