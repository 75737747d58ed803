using VirtioMq.Reference.Seams;

namespace VirtioMq.Reference.Zoo;

/// <summary>A variant of the bug zoo as code: the deviation that gives a device <paramref name="fault"/>.</summary>
public abstract class ZooDeviation(DeviceFault fault) : Deviation
{
    public DeviceFault Fault => fault;
    public override string Name => fault.Name();
    public override bool InBackend => BugZoo.Of(fault).Backend;
}

/// <summary>Which deviation reproduces each fault of the zoo.</summary>
public static class ZooDeviations
{
    public static ZooDeviation Of(DeviceFault f) => f switch
    {
        DeviceFault.CvqAt2 => new CvqAt2(),
        DeviceFault.CvqMissingWithoutMq => new CvqMissingWithoutMq(),
        DeviceFault.CvqRoleSurvivesReset => new CvqRoleSurvivesReset(),
        DeviceFault.SwapRxTx => new SwapRxTx(),
        DeviceFault.MqWithoutCtrlVq => new MqWithoutCtrlVq(),
        DeviceFault.MaxPairsZero => new MaxPairsZero(),
        DeviceFault.AcceptPairsZero => new AcceptPairsZero(),
        DeviceFault.AcceptPairsAboveMax => new AcceptPairsAboveMax(),
        DeviceFault.AcceptPairsWithoutMq => new AcceptPairsWithoutMq(),
        DeviceFault.AckUnknownCommands => new AckUnknownCommands(),
        DeviceFault.RestoreLosesPairs => new RestoreLosesPairs(),
        DeviceFault.ConsumeBeforeDriverOk => new ConsumeBeforeDriverOk(),
        DeviceFault.ResetKeepsRings => new ResetKeepsRings(),
        DeviceFault.ResetKeepsPairs => new ResetKeepsPairs(),
        DeviceFault.IdxWrapStall => new IdxWrapStall(),
        DeviceFault.MalformedChainStopsQueue => new MalformedChainStopsQueue(),
        DeviceFault.DisabledTxStalls => new DisabledTxStalls(),
        DeviceFault.DisabledTxKept => new DisabledTxKept(),
        DeviceFault.TxHeaderOwnDescriptor => new TxHeaderOwnDescriptor(),
        DeviceFault.TxPartialBurstKept => new TxPartialBurstKept(),
        DeviceFault.RxOnDisabled => new RxOnDisabled(),
        DeviceFault.SteerAllToQ1 => new SteerAllToQ1(),
        DeviceFault.SteerToMaxPairs => new SteerToMaxPairs(),
        DeviceFault.DropsTopPair => new DropsTopPair(),
        DeviceFault.DropsFirstFrame => new DropsFirstFrame(),
        DeviceFault.RxNumBuffersZero => new RxNumBuffersZero(),
        DeviceFault.RxLenWithoutHeader => new RxLenWithoutHeader(),
        DeviceFault.RxDuplicates => new RxDuplicates(),
        DeviceFault.RssConfigNotApplied => new RssConfigNotApplied(),
        DeviceFault.RssRefusalDisables => new RssRefusalDisables(),
        DeviceFault.RssTableStride => new RssTableStride(),
        DeviceFault.HashReportUninitialised => new HashReportUninitialised(),
        DeviceFault.QueueResetKeepsServing => new QueueResetKeepsServing(),
        DeviceFault.RssOutlivesPairsSet => new RssOutlivesPairsSet(),
        DeviceFault.PackedIdFromFirstDescriptor => new PackedIdFromFirstDescriptor(),
        DeviceFault.PackedUsedSkipsOne => new PackedUsedSkipsOne(),
        DeviceFault.PackedEventIgnoresWrap => new PackedEventIgnoresWrap(),
        DeviceFault.PackedRxBatchIgnoresNext => new PackedRxBatchIgnoresNext(),
        DeviceFault.PackedAvailIgnoresUsed => new PackedAvailIgnoresUsed(),
        DeviceFault.PackedAvailIgnoresWrap => new PackedAvailIgnoresWrap(),
        DeviceFault.PackedTakesAhead => new PackedTakesAhead(),
        DeviceFault.InOrderReordered => new InOrderReordered(),
        DeviceFault.InOrderBatchCountKept => new InOrderBatchCountKept(),
        DeviceFault.InOrderBatchFirstId => new InOrderBatchFirstId(),
        DeviceFault.InOrderSkipsPartialReceive => new InOrderSkipsPartialReceive(),
        DeviceFault.PackedGetBaseAvailOnly => new PackedGetBaseAvailOnly(),
        DeviceFault.QueueNumLies => new QueueNumLies(),
        DeviceFault.QueueNumOverstates => new QueueNumOverstates(),
        DeviceFault.NoMqProtocolFeature => new NoMqProtocolFeature(),
        DeviceFault.AdvertiseReplyAckButNoAck => new AdvertiseReplyAckButNoAck(),
        DeviceFault.SetBaseRejectsWrapped => new SetBaseRejectsWrapped(),
        DeviceFault.GetBaseKeepsRunning => new GetBaseKeepsRunning(),
        DeviceFault.GetBaseOffByOne => new GetBaseOffByOne(),
        DeviceFault.GetBaseReturnsZero => new GetBaseReturnsZero(),
        DeviceFault.GetBaseNoReply => new GetBaseNoReply(),
        DeviceFault.ResumeClearsIndices => new ResumeClearsIndices(),
        DeviceFault.RingsStartEnabled => new RingsStartEnabled(),
        DeviceFault.EnableIndexPerPair => new EnableIndexPerPair(),
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, "every fault of the zoo has a deviation"),
    };
}
