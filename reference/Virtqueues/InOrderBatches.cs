namespace VirtioMq.Reference.Virtqueues;

/// <summary>One used entry of an in-order ring: the id it carries, the length of its last buffer, and what it covers.</summary>
public readonly record struct UsedBatch(ushort Id, uint Length, int Buffers, int Slots);

/// <summary>
/// What a ring with VIRTIO_F_IN_ORDER (§2.7.9, §2.8.8) used since it last published, held back and handed out as batches
/// when it publishes, by its <see cref="IInOrderRules"/>. Both formats share it; each writes a batch's used entry its own
/// way and moves its used side by the buffers (split) or the ring slots (packed) the batch covers.
/// </summary>
public sealed class InOrderBatches(IInOrderRules rules)
{
    private readonly List<HeldUsed> _held = [];
    private int _handedOut;

    public IInOrderRules Rules => rules;

    public void Hold(ChainHandle chain, uint length) => _held.Add(new HeldUsed(chain, length));

    /// <summary>Forgets what is held: the ring starts again elsewhere.</summary>
    public void Clear()
    {
        _held.Clear();
        _handedOut = 0;
    }

    /// <summary>
    /// The next batch of what is held, in the order the rules put it: it ends at a buffer the device did not use whole, or
    /// at the last one. False, and nothing held any more, once every batch was handed out.
    /// </summary>
    public bool TryTake(out UsedBatch batch)
    {
        batch = default;
        if (_handedOut == _held.Count)
        {
            Clear();
            return false;
        }
        if (_handedOut == 0) rules.Order(_held);
        var first = _handedOut;
        var last = first;
        var slots = _held[first].Chain.Slots;
        while (last + 1 < _held.Count && rules.MaySkip(_held[last].Length, _held[last].Chain.Writable)) slots += _held[++last].Chain.Slots;
        batch = new UsedBatch(rules.BatchId(_held[first].Chain.Id, _held[last].Chain.Id), _held[last].Length, last - first + 1, slots);
        _handedOut = last + 1;
        return true;
    }
}
