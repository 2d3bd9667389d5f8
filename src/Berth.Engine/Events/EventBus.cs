using System.Threading.Channels;

namespace Berth.Engine.Events;

/// <summary>
/// The daemon's event stream: the last <see cref="HistoryLimit"/> events kept in memory for
/// since/until replays (docker keeps a similar ring), and a channel per live subscriber.
/// </summary>
public sealed class EventBus
{
    public const int HistoryLimit = 1024;
    private readonly Queue<EventMessage> _history = new();
    private readonly List<Channel<EventMessage>> _subs = [];
    private readonly Lock _gate = new();
    private long _lastNano;

    public int Listeners { get { lock (_gate) return _subs.Count; } }

    public void Publish(string type, string action, string id, Dictionary<string, string> attributes)
    {
        var e = new EventMessage { Type = type, Action = action, Actor = new EventActor { ID = id, Attributes = attributes } };
        // The legacy fields exist for container and image events only (as in docker).
        if (type is "container" or "image") { e.Status = action; e.Id = id; }
        if (type == "container") e.From = attributes.GetValueOrDefault("image");
        lock (_gate)
        {
            // Strictly increasing times: a replay's since/until never splits two events of one instant.
            long nano = Math.Max((DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100, _lastNano + 1);
            _lastNano = nano;
            e.TimeNano = nano;
            e.Time = nano / 1_000_000_000;
            _history.Enqueue(e);
            if (_history.Count > HistoryLimit) _history.Dequeue();
            foreach (var s in _subs) s.Writer.TryWrite(e);
        }
    }

    /// <summary>Kept events from <paramref name="sinceNano"/> on, and a channel of the ones to come (no event is in both or lost between).</summary>
    public (List<EventMessage> Past, ChannelReader<EventMessage> Live, IDisposable Subscription) Subscribe(long sinceNano)
    {
        var ch = Channel.CreateUnbounded<EventMessage>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _subs.Add(ch);
            var past = _history.Where(e => e.TimeNano >= sinceNano).ToList();
            return (past, ch.Reader, new Unsub(this, ch));
        }
    }

    private sealed class Unsub(EventBus bus, Channel<EventMessage> ch) : IDisposable
    {
        public void Dispose()
        {
            lock (bus._gate) bus._subs.Remove(ch);
            ch.Writer.TryComplete();
        }
    }
}
