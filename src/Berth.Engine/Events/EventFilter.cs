using Berth.Engine.Containers;

namespace Berth.Engine.Events;

/// <summary>
/// docker's event filters. Each key narrows (values of one key are alternatives): type and event
/// match exactly; container (and network, volume ...) match the actor's id or name by prefix, for
/// events of any type, as docker does; image matches an image event's id or name, or a container
/// event's image, with or without the tag; label matches the actor's attributes.
/// </summary>
public sealed class EventFilter
{
    private static readonly string[] Accepted =
        ["config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret", "service", "type", "volume"];

    private readonly Filters _f;

    private EventFilter(Filters f) => _f = f;

    /// <summary>Parses the filters query; an unknown key is a 400 "invalid filter 'x'".</summary>
    public static EventFilter Parse(string? json)
    {
        var f = Filters.Parse(json);
        foreach (var k in f.Keys)
            if (!Accepted.Contains(k)) throw EngineException.BadRequest($"invalid filter '{k}'");
        return new EventFilter(f);
    }

    public bool Includes(EventMessage e)
    {
        if (!MatchesEvent(e.Action)) return false;
        if (!Exact("type", e.Type) || !Exact("scope", e.Scope)) return false;
        foreach (var kind in new[] { "container", "network", "volume", "plugin", "daemon", "node", "service", "secret", "config" })
            if (!ByIdOrName(kind, e)) return false;
        if (!MatchesImage(e) || !MatchesLabels(e.Actor.Attributes)) return false;
        return true;
    }

    private bool Exact(string key, string value) => !_f.Has(key) || _f.Values(key).Contains(value);

    /// <summary>Prefix match: a filter value that is a prefix of the id or the name passes.</summary>
    private bool ByIdOrName(string key, EventMessage e)
    {
        if (!_f.Has(key)) return true;
        string name = e.Actor.Attributes.GetValueOrDefault("name") ?? "";
        return _f.Values(key).Any(v => e.Actor.ID.StartsWith(v, StringComparison.Ordinal) || name.StartsWith(v, StringComparison.Ordinal));
    }

    /// <summary>exec_create, exec_start and health_status carry their details after a colon: those match by prefix.</summary>
    private bool MatchesEvent(string action)
    {
        if (!_f.Has("event")) return true;
        var values = _f.Values("event");
        if (values.Any(v => v is "exec_create" or "exec_start" or "health_status"))
            return values.Any(v => action.StartsWith(v, StringComparison.Ordinal));
        return values.Contains(action);
    }

    private bool MatchesImage(EventMessage e)
    {
        if (!_f.Has("image")) return true;
        string image = e.Actor.Attributes.GetValueOrDefault(e.Type == "image" ? "name" : "image") ?? "";
        var candidates = new[] { e.Actor.ID, image, StripTag(e.Actor.ID), StripTag(image) };
        return _f.Values("image").Any(v => candidates.Contains(v));
    }

    private static string StripTag(string reference)
    {
        int at = reference.IndexOf('@');
        if (at >= 0) reference = reference[..at];
        int colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') ? reference[..colon] : reference;
    }

    private bool MatchesLabels(Dictionary<string, string> attributes)
    {
        foreach (var l in _f.Values("label"))
        {
            int eq = l.IndexOf('=');
            if (eq < 0 ? !attributes.ContainsKey(l) : attributes.GetValueOrDefault(l[..eq]) != l[(eq + 1)..]) return false;
        }
        return true;
    }
}
