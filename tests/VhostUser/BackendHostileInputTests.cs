using System.Buffers.Binary;
using System.Diagnostics;
using VirtioMq.Adapters.Driver;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// The reference back-end against a hostile front-end: a real <see cref="VhostUserBackend"/> on a socket, fed
/// malformed messages and malformed rings through raw channels. Every bad input must be refused with a logged
/// reason (and a non-zero REPLY_ACK where one was asked for), must not reach outside the mapped guest memory,
/// and must leave the server able to answer the same connection (when the stream is still in step) and the next.
/// Run twice: with one thread per session, and with a ring thread per queue pair (`serve --workers per-pair`), where
/// the messages arrive on another thread than the one serving the rings.
/// </summary>
/// <param name="workers">The back-end's <see cref="ReferenceOptions.Workers"/>: 1, or 0 for a ring thread per pair.</param>
[TestFixture(1), TestFixture(0), NonParallelizable]
public sealed class BackendHostileInputTests(int workers)
{
    private const int Pairs = 2;
    private const ulong G = 0x1_0000_0000;
    private const ulong U = 0x7f00_0000_0000;
    private const ulong K64 = 0x10000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);
    private static readonly ulong Offered = BackendSession.OfferedFeatures.Low64;

    private readonly List<string> _log = [];
    private readonly List<IDisposable> _owned = [];
    private string _path = null!;
    private VhostUserBackend _backend = null!;
    private CancellationTokenSource _stop = null!;
    private Thread _server = null!;
    private Exception? _serverFailure;

    [SetUp]
    public void StartBackend()
    {
        _path = $"/tmp/vu-hostile-{Guid.NewGuid():N}.sock";
        lock (_log) _log.Clear();
        _serverFailure = null;
        _backend = new VhostUserBackend(_path, new ReferenceOptions(MaxPairs: Pairs) { Workers = workers }, Log);
        _backend.Listen();
        _stop = new CancellationTokenSource();
        _server = new Thread(() =>
        {
            try
            {
                _backend.Serve(_stop.Token);
            }
            catch (Exception e)
            {
                _serverFailure = e;
            }
        })
        { IsBackground = true, Name = "hostile-input back-end" };
        _server.Start();
    }

    [TearDown]
    public void StopBackend()
    {
        _stop.Cancel();
        foreach (var d in Enumerable.Reverse(_owned)) d.Dispose();
        _owned.Clear();
        var stopped = _server.Join(TimeSpan.FromMilliseconds(50));
        if (!stopped)
        {
            // Serve may be waiting in accept (200 ms slices); a connection wakes it to see the cancellation.
            try
            {
                using var wake = VhostUserChannel.Connect(_path, TimeSpan.FromMilliseconds(100));
            }
            catch (TimeoutException)
            {
            }
            stopped = _server.Join(TimeSpan.FromSeconds(3));
        }
        _backend.Dispose();
        _stop.Dispose();
        if (File.Exists(_path)) File.Delete(_path);
        var log = LogLines();
        TestContext.Out.WriteLine("back-end log:\n  " + string.Join("\n  ", log));
        Assert.Multiple(() =>
        {
            Assert.That(stopped, Is.True, "the back-end did not stop within 3 s of being cancelled");
            Assert.That(_serverFailure, Is.Null, "Serve itself threw");
            Assert.That(log.Where(l => l.Contains("unexpected error")), Is.Empty, "an exception escaped a session:\n" + string.Join("\n", log));
        });
    }

    // ---------------------------------------------------------------- the wire

    [TestCase(VhostUserRequest.SetVringNum, 4, 8)]
    [TestCase(VhostUserRequest.SetVringNum, 12, 8)]
    [TestCase(VhostUserRequest.SetVringNum, 0, 8)]
    [TestCase(VhostUserRequest.SetVringAddr, 32, 40)]
    [TestCase(VhostUserRequest.SetVringAddr, 48, 40)]
    [TestCase(VhostUserRequest.SetFeatures, 0, 8)]
    [TestCase(VhostUserRequest.SetFeatures, 4, 8)]
    [TestCase(VhostUserRequest.SetFeatures, 16, 8)]
    [TestCase(VhostUserRequest.SetVringEnable, 4, 8)]
    [TestCase(VhostUserRequest.SetVringEnable, 16, 8)]
    [TestCase(VhostUserRequest.SetVringBase, 7, 8)]
    [TestCase(VhostUserRequest.SetVringKick, 4, 8)]
    [TestCase(VhostUserRequest.SetProtocolFeatures, 9, 8)]
    public void A_payload_of_the_wrong_size_is_refused_and_the_stream_stays_in_step(VhostUserRequest request, int size, int expected)
    {
        var c = OpenWithAck();
        Refused(c, request, new byte[size], null, $"{request.WireName()} payload is {size} bytes, expected {expected}");
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [Test]
    public void A_memory_table_whose_size_disagrees_with_its_region_count_is_refused()
    {
        using var a = Memfd("a", K64);
        var c = OpenWithAck();
        var oneRegion = MemoryTable.Encode([new MemoryRegion(G, K64, U, 0)]);
        BinaryPrimitives.WriteUInt32LittleEndian(oneRegion, 2);
        Refused(c, VhostUserRequest.SetMemTable, oneRegion, [a.Fd], "payload is 40 bytes, expected 72 for 2 regions");
        var nine = new byte[MemoryTable.PayloadSize(9)];
        BinaryPrimitives.WriteUInt32LittleEndian(nine, 9);
        Refused(c, VhostUserRequest.SetMemTable, nine, [a.Fd], "announces 9 regions, expected 1..8");
        Refused(c, VhostUserRequest.SetMemTable, new byte[4], [a.Fd], "payload is 4 bytes, expected at least 8");
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [TestCase(1u, 4097u, "4097-byte payload, more than the 4096-byte limit")]
    [TestCase(1u, 1u << 20, "1048576-byte payload")]
    [TestCase(1u, uint.MaxValue, "4294967295-byte payload")]
    [TestCase(0u, 0u, "version 0")]
    [TestCase(2u, 0u, "version 2")]
    [TestCase(3u, 8u, "version 3")]
    public void A_broken_header_drops_the_connection_and_the_server_serves_the_next(uint flags, uint size, string reason)
    {
        var c = Open();
        AssertStillAnswers(c);
        var mark = Mark();
        // GET_FEATURES would be answered if the header were accepted; a broken one must end the connection instead.
        c.SendRaw(Header((uint)VhostUserRequest.GetFeatures, flags, size), []);
        ExpectLog(mark, "closing the connection", reason);
        AssertClosedByBackend(c);
        AssertServesNewConnection(c);
    }

    [TestCase(99u, 0, "request 99")]
    [TestCase(0u, 0, "request 0")]
    [TestCase(0xFFFF_FFFFu, 8, "request 4294967295")]
    [TestCase((uint)VhostUserRequest.SetLogBase, 16, "SET_LOG_BASE")]
    [TestCase((uint)VhostUserRequest.SetLogFd, 0, "SET_LOG_FD")]
    [TestCase((uint)VhostUserRequest.SendRarp, 8, "SEND_RARP")]
    [TestCase((uint)VhostUserRequest.SetVringEndian, 8, "SET_VRING_ENDIAN")]
    [TestCase((uint)VhostUserRequest.AddMemReg, 40, "ADD_MEM_REG")]
    public void An_unknown_or_unsupported_request_is_refused_and_its_fd_closed(uint id, int size, string name)
    {
        using var log = Memfd("log", K64);
        var c = OpenWithAck();
        var request = (VhostUserRequest)id;
        AssertNoFdLeak(() => Refused(c, request, new byte[size], [log.Fd], name, "not supported"));
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [TestCase(VhostUserRequest.GetConfig, 12)]
    [TestCase(VhostUserRequest.GetStatus, 0)]
    [TestCase(VhostUserRequest.GetMaxMemSlots, 0)]
    [TestCase(VhostUserRequest.GetInflightFd, 24)]
    public void An_unsupported_request_that_needs_a_reply_closes_the_connection_instead_of_leaving_it_waiting(VhostUserRequest request, int size)
    {
        var c = OpenWithAck();
        var mark = Mark();
        c.Send(VhostUserMessage.NewRequest(request, new byte[size]));
        ExpectLog(mark, request.WireName(), "not supported");
        AssertClosedByBackend(c);
        AssertServesNewConnection(c);
    }

    [Test]
    public void GET_VRING_BASE_for_a_vring_that_does_not_exist_closes_the_connection()
    {
        var c = OpenWithAck();
        var mark = Mark();
        c.Send(VhostUserMessage.NewRequest(VhostUserRequest.GetVringBase, new VringState(2 * Pairs, 0).Encode()));
        ExpectLog(mark, "GET_VRING_BASE", $"vring index {2 * Pairs} is out of range");
        ExpectLog(mark, "closing the connection");
        AssertClosedByBackend(c);
        AssertServesNewConnection(c);
    }

    // ---------------------------------------------------------------- memory tables

    public static IEnumerable<TestCaseData> BadMemoryTables()
    {
        TestCaseData Row(string name, string fds, string reason, params MemoryRegion[] table) =>
            new TestCaseData(fds, table, reason).SetName($"A memory table with {name} is refused and nothing is mapped");
        var one = new MemoryRegion(G, K64, U, 0);
        yield return Row("fewer fds than regions", "a", "describes 2 region(s) but carries 1 fd(s)", one, new MemoryRegion(G + 0x100000, K64, U + 0x100000, 0));
        yield return Row("no fd", "", "describes 1 region(s) but carries 0 fd(s)", one);
        yield return Row("more fds than regions", "aba", "describes 1 region(s) but carries 3 fd(s)", one);
        yield return Row("regions overlapping in guest space", "ab", "overlap in guest-physical space", one, new MemoryRegion(G + 0x8000, K64, U + 0x100000, 0));
        yield return Row("regions overlapping in user space", "ab", "overlap in user address space", one, new MemoryRegion(G + 0x100000, K64, U + 0x8000, 0));
        yield return Row("the same region twice", "aa", "overlap in guest-physical space", one, one);
        yield return Row("a region larger than its memfd", "a", "reaches past the end of its 65536-byte file", new MemoryRegion(G, 2 * K64, U, 0));
        yield return Row("a region whose offset and size pass the end of its memfd", "a", "reaches past the end", new MemoryRegion(G, K64, U, 0x1000));
        yield return Row("an mmap offset beyond the memfd", "a", "reaches past the end", new MemoryRegion(G, 0x1000, U, 0xFFFF_FFFF_FFFF_0000));
        yield return Row("a size-0 region", "a", "region 0 has size 0", new MemoryRegion(G, 0, U, 0));
        yield return Row("a region of 2^64-1 bytes", "a", "wraps the address space", new MemoryRegion(G, ulong.MaxValue, U, 0));
        yield return Row("a region that wraps guest space", "a", "wraps the address space", new MemoryRegion(0xFFFF_FFFF_FFFF_8000, K64, U, 0));
        yield return Row("a non-page-aligned mmap offset", "a", "not a multiple of the", new MemoryRegion(G, 0x1000, U, 100));
        yield return Row("an eventfd as a region's fd", "e", "reaches past the end of its 0-byte file", one);
        yield return Row("a socket as a region's fd", "s", "region 0: its fd cannot be mapped", one);
    }

    [TestCaseSource(nameof(BadMemoryTables))]
    public void Bad_memory_table(string fds, MemoryRegion[] table, string reason)
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        using var a = Memfd($"a-{tag}", K64);
        using var b = Memfd($"b-{tag}", K64);
        using var e = EventFd.Create();
        var (s, peer) = VhostUserChannel.CreatePair();
        Own(s);
        Own(peer);
        var fdList = fds.Select(f => f switch { 'a' => a.Fd, 'b' => b.Fd, 's' => s.Fd, _ => e.Fd }).ToArray();
        var c = OpenWithAck();
        // Twenty in a row: any fd the back-end failed to close, or region it mapped, would show in the counts below.
        AssertNoFdLeak(() => Refused(c, VhostUserRequest.SetMemTable, MemoryTable.Encode(table), fdList, reason), times: 20);
        Assert.That(MappingsOf($"a-{tag}") + MappingsOf($"b-{tag}"), Is.EqualTo(2), "only the test's own mappings of the memfds exist");
        Refused(c, VhostUserRequest.SetVringAddr, new VringAddress(0, 0, U, U + 0x2000, U + 0x1000, 0).Encode(), null, "before SET_MEM_TABLE");
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [Test]
    public void A_refused_memory_table_leaves_the_previous_one_in_force()
    {
        using var a = Memfd("a", K64);
        using var b = Memfd("b", K64);
        var c = OpenWithAck();
        Assert.That(Ack(c, VhostUserRequest.SetMemTable, MemoryTable.Encode([new MemoryRegion(G, K64, U, 0)]), [a.Fd]), Is.Zero);
        Refused(c, VhostUserRequest.SetMemTable,
            MemoryTable.Encode([new MemoryRegion(G + 0x100000, K64, U + 0x100000, 0), new MemoryRegion(G + 0x108000, K64, U + 0x200000, 0)]), [b.Fd, b.Fd], "overlap");
        Assert.That(Ack(c, VhostUserRequest.SetVringAddr, new VringAddress(0, 0, U, U + 0x2000, U + 0x1000, 0).Encode()), Is.Zero,
            "ring addresses still translate through the first table");
        Refused(c, VhostUserRequest.SetVringAddr, new VringAddress(0, 0, U + 0x100000, U + 0x2000, U + 0x1000, 0).Encode(), null, "in no region");
        AssertServesNewConnection(c);
    }

    // ---------------------------------------------------------------- vring messages

    [TestCase(VhostUserRequest.SetVringKick, 1ul, 0, "has no no-fd bit but carries 0 fds, expected 1")]
    [TestCase(VhostUserRequest.SetVringKick, 1ul, 2, "carries 2 fds, expected 1")]
    [TestCase(VhostUserRequest.SetVringKick, 0x101ul, 1, "sets the no-fd bit but carries 1 fds, expected 0")]
    [TestCase(VhostUserRequest.SetVringKick, 4ul, 1, "vring index 4 is out of range")]
    [TestCase(VhostUserRequest.SetVringKick, 255ul, 1, "vring index 255 is out of range")]
    [TestCase(VhostUserRequest.SetVringKick, 0x201ul, 1, "sets undefined bits 0x200")]
    [TestCase(VhostUserRequest.SetVringCall, 0ul, 0, "has no no-fd bit but carries 0 fds")]
    [TestCase(VhostUserRequest.SetVringCall, 0ul, 2, "carries 2 fds, expected 1")]
    [TestCase(VhostUserRequest.SetVringCall, 5ul, 1, "vring index 5 is out of range")]
    [TestCase(VhostUserRequest.SetVringErr, 0x100ul, 3, "sets the no-fd bit but carries 3 fds")]
    [TestCase(VhostUserRequest.SetVringErr, 200ul, 1, "vring index 200 is out of range")]
    public void A_bad_vring_fd_message_is_refused_and_its_fds_closed(VhostUserRequest request, ulong value, int fds, string reason)
    {
        var events = Enumerable.Range(0, fds).Select(_ => Own(EventFd.Create())).ToArray();
        var c = OpenWithAck();
        AssertNoFdLeak(() => Refused(c, request, Payload.U64(value), events.Select(e => e.Fd).ToArray(), reason));
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [TestCase(VhostUserRequest.SetVringKick, "memfd")]
    [TestCase(VhostUserRequest.SetVringKick, "socket")]
    [TestCase(VhostUserRequest.SetVringCall, "memfd")]
    public void A_vring_fd_that_is_not_an_eventfd_is_refused(VhostUserRequest request, string kind)
    {
        var (one, other) = VhostUserChannel.CreatePair();
        other.Dispose(); // a socket whose peer is gone polls as hung up forever
        Own(one);
        var fd = kind == "memfd" ? Own(Memfd("not-an-eventfd", 4096)).Fd : one.Fd;
        var c = OpenWithAck();
        AssertNoFdLeak(() => Refused(c, request, new VringFd(1, false).Encode(), [fd], "not an eventfd"));
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [TestCase(VhostUserRequest.SetVringNum, 1u, 0u, "size 0 is not a power of two")]
    [TestCase(VhostUserRequest.SetVringNum, 1u, 3u, "size 3 is not a power of two")]
    [TestCase(VhostUserRequest.SetVringNum, 1u, 65536u, "size 65536 is not a power of two from 1 to 32768")]
    [TestCase(VhostUserRequest.SetVringNum, 1u, uint.MaxValue, "is not a power of two")]
    [TestCase(VhostUserRequest.SetVringNum, 1u, 512u, "size 512 is above this back-end's maximum of 256")]
    [TestCase(VhostUserRequest.SetVringNum, 1u, 32768u, "above this back-end's maximum")]
    [TestCase(VhostUserRequest.SetVringNum, 4u, 8u, "vring index 4 is out of range")]
    [TestCase(VhostUserRequest.SetVringEnable, 1u, 2u, "num 2 is neither 0 nor 1")]
    [TestCase(VhostUserRequest.SetVringEnable, 1u, uint.MaxValue, "is neither 0 nor 1")]
    [TestCase(VhostUserRequest.SetVringEnable, 4u, 1u, "vring index 4 is out of range")]
    [TestCase(VhostUserRequest.SetVringEnable, uint.MaxValue, 1u, "out of range")]
    [TestCase(VhostUserRequest.SetVringBase, 1u, 65536u, "65536 does not fit a 16-bit")]
    [TestCase(VhostUserRequest.SetVringBase, 1u, uint.MaxValue, "does not fit a 16-bit")]
    [TestCase(VhostUserRequest.SetVringBase, 9u, 0u, "vring index 9 is out of range")]
    public void A_bad_vring_state_is_refused(VhostUserRequest request, uint index, uint num, string reason)
    {
        var c = OpenWithAck();
        Refused(c, request, new VringState(index, num).Encode(), null, reason);
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [TestCase(1u, U + K64, U + 0x2000, U + 0x1000, "descriptor table user address 0x7f0000010000 is in no region")]
    [TestCase(1u, U - 1, U + 0x2000, U + 0x1000, "descriptor table user address")]
    [TestCase(1u, U, ulong.MaxValue, U + 0x1000, "used ring user address")]
    [TestCase(1u, U, U + 0x2000, 0ul, "available ring user address 0x0")]
    [TestCase(4u, U, U + 0x2000, U + 0x1000, "vring index 4 is out of range")]
    public void Ring_addresses_outside_the_memory_table_are_refused(uint index, ulong desc, ulong used, ulong avail, string reason)
    {
        using var a = Memfd("a", K64);
        var c = OpenWithAck();
        Assert.That(Ack(c, VhostUserRequest.SetMemTable, MemoryTable.Encode([new MemoryRegion(G, K64, U, 0)]), [a.Fd]), Is.Zero);
        Refused(c, VhostUserRequest.SetVringAddr, new VringAddress(index, 0, desc, used, avail, 0).Encode(), null, reason);
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [Test]
    public void Ring_addresses_before_any_memory_table_are_refused()
    {
        var c = OpenWithAck();
        Refused(c, VhostUserRequest.SetVringAddr, new VringAddress(1, 0, U, U + 0x2000, U + 0x1000, 0).Encode(), null, "vring 1: SET_VRING_ADDR before SET_MEM_TABLE");
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    // ---------------------------------------------------------------- connections

    [Test]
    public void A_front_end_that_hangs_up_in_the_middle_of_a_message_does_not_stop_the_server()
    {
        var c = Open();
        AssertStillAnswers(c);
        var mark = Mark();
        var bytes = new byte[10];
        c.SendRaw([.. Header((uint)VhostUserRequest.SetVringAddr, 1, 40), .. bytes], []);
        c.Dispose();
        ExpectLog(mark, "front-end disconnected", "middle of a message");
        AssertServesNewConnection();
    }

    [Test]
    public void A_front_end_that_says_nothing_and_leaves_does_not_stop_the_server()
    {
        var c = Open();
        var mark = Mark();
        Thread.Sleep(300); // longer than the back-end's 200 ms poll slice
        c.Dispose();
        ExpectLog(mark, "front-end disconnected");
        AssertServesNewConnection();
    }

    [Test]
    public void A_front_end_that_hangs_up_before_reading_its_replies_does_not_stop_the_server()
    {
        var c = Open();
        var mark = Mark();
        // Two hundred requests that each get a reply, and gone before the first reply is read.
        var one = VhostUserMessage.NewRequest(VhostUserRequest.GetFeatures).Encode();
        c.SendRaw(Enumerable.Repeat(one, 200).SelectMany(b => b).ToArray(), []);
        c.Dispose();
        ExpectLog(mark, "front-end disconnected");
        AssertServesNewConnection();
    }

    [Test]
    public void Nine_fds_on_one_message_drop_the_connection_and_none_leak()
    {
        var events = Enumerable.Range(0, 9).Select(_ => Own(EventFd.Create())).ToArray();
        AssertNoFdLeak(() =>
        {
            var c = Open();
            var mark = Mark();
            c.SendRaw(Header((uint)VhostUserRequest.SetMemTable, 1, 0), events.Select(e => e.Fd).ToArray());
            ExpectLog(mark, "closing the connection", "more than 8 fds");
            AssertClosedByBackend(c);
            c.Dispose();
            AssertServesNewConnection();
        }, times: 3);
    }

    // ---------------------------------------------------------------- guest memory through real rings

    public enum Chain
    {
        BufferPastTheEnd, BufferBeforeTheStart, BufferAtTheTopOfTheAddressSpace, BufferOf4GiB, SecondBufferOutside,
        TwoDescriptorLoop, SelfLoop, ChainThroughTheWholeTable, NextOutsideTheTable, HeadOutsideTheTable,
        IndirectTableOutside, IndirectTableAcrossTheEnd, IndirectTableOf24Bytes, IndirectTableOf0Bytes,
        IndirectWithNext, NestedIndirect, LoopInsideIndirectTable, IndirectBufferOutside, ReadableAfterWritable,
    }

    [TestCase(Chain.BufferPastTheEnd, "is outside guest memory")]
    [TestCase(Chain.BufferBeforeTheStart, "is outside guest memory")]
    [TestCase(Chain.BufferAtTheTopOfTheAddressSpace, "is outside guest memory")]
    [TestCase(Chain.BufferOf4GiB, "+4294967295 is outside guest memory")]
    [TestCase(Chain.SecondBufferOutside, "is outside guest memory")]
    [TestCase(Chain.TwoDescriptorLoop, "longer than its 8-entry table (a loop?)")]
    [TestCase(Chain.SelfLoop, "(a loop?)")]
    [TestCase(Chain.ChainThroughTheWholeTable, "longer than its 8-entry table")]
    [TestCase(Chain.NextOutsideTheTable, "next 8 is outside the 8-entry table")]
    [TestCase(Chain.HeadOutsideTheTable, "head 9 is outside the 8-entry descriptor table")]
    [TestCase(Chain.IndirectTableOutside, "indirect table 0x100100000+32 is outside guest memory")]
    [TestCase(Chain.IndirectTableAcrossTheEnd, "is outside guest memory")]
    [TestCase(Chain.IndirectTableOf24Bytes, "indirect table length 24")]
    [TestCase(Chain.IndirectTableOf0Bytes, "indirect table is empty (length 0)")]
    [TestCase(Chain.IndirectWithNext, "both INDIRECT and NEXT")]
    [TestCase(Chain.NestedIndirect, "INDIRECT descriptor inside an indirect table")]
    [TestCase(Chain.LoopInsideIndirectTable, "longer than its 4-entry table (a loop?)")]
    [TestCase(Chain.IndirectBufferOutside, "is outside guest memory")]
    [TestCase(Chain.ReadableAfterWritable, "device-readable descriptor after a device-writable one")]
    public void A_malformed_transmit_chain_is_refused_returned_and_the_ring_keeps_working(Chain chain, string reason)
    {
        var c = OpenWithAck();
        using var rig = new GuestRig(c);
        var head = Plant(rig, chain);
        var before = rig.Snapshot();
        var usedBefore = rig.UsedIdx(1);
        var mark = Mark();
        rig.Kick(1);
        ExpectLog(mark, "queue 1: chain at head", reason);
        if (head < GuestRig.QueueSize)
        {
            rig.WaitUsedIdx(1, usedBefore + 1);
            Assert.That(rig.UsedElem(1, usedBefore), Is.EqualTo(((uint)head, 0u)), "the refused chain comes back used, with length 0");
        }
        else
        {
            AssertStillAnswers(c); // a round trip: the kick was handled before the message
            Assert.That(rig.UsedIdx(1), Is.EqualTo(usedBefore), "a head outside the table has nothing to return");
        }
        rig.AssertWrittenOnlyWithin(before, GuestRig.UsedRing(1));
        AssertStillAnswers(c);
        rig.SendFrameAndExpectItBack(tag: 1);
        AssertServesNewConnection(c);
    }

    [Test]
    public void A_receive_buffer_outside_guest_memory_is_refused_and_the_frame_lands_in_the_next_buffer()
    {
        var c = OpenWithAck();
        using var rig = new GuestRig(c, badReceiveBufferFirst: true);
        var mark = Mark();
        rig.SendFrameAndExpectItBack(tag: 7, receiveHead: 1, usedBefore: 1);
        ExpectLog(mark, "queue 0: chain at head 0 refused", "is outside guest memory");
        Assert.That(rig.UsedElem(0, 0), Is.EqualTo((0u, 0u)), "the bad receive buffer comes back used, with length 0");
        AssertStillAnswers(c);
        AssertServesNewConnection(c);
    }

    [Test]
    public void An_avail_idx_ahead_by_more_than_the_ring_size_stops_that_ring_until_it_is_restarted()
    {
        var c = OpenWithAck();
        using var rig = new GuestRig(c);
        rig.SetAvailIdx(1, GuestRig.QueueSize + 1);
        var before = rig.Snapshot();
        var mark = Mark();
        rig.Kick(1);
        ExpectLog(mark, "queue 1: avail idx 9 is 9 ahead of 0, more than the 8 entries the ring holds");
        AssertStillAnswers(c);
        rig.AssertWrittenOnlyWithin(before);

        // The broken ring takes nothing more, whatever the driver does...
        rig.SetAvailIdx(1, 0);
        rig.PlantFrame(tag: 2);
        rig.Expose(1, 0);
        rig.Kick(1);
        AssertStillAnswers(c);
        Assert.That(rig.UsedIdx(1), Is.Zero, "a broken ring is not processed");

        // ...until the front-end stops it and starts it again, as after a device reset.
        var stop = VhostUserMessage.NewRequest(VhostUserRequest.GetVringBase, new VringState(1, 0).Encode());
        c.Send(stop);
        Assert.That(Payload.ReadVringState(ReceiveReply(c, VhostUserRequest.GetVringBase)).Num, Is.Zero);
        rig.RestartRing(1, availBase: 0);
        rig.Kick(1);
        rig.WaitUsedIdx(1, 1);
        rig.WaitUsedIdx(0, 1);
        rig.AssertFrameReceived(tag: 2, receiveHead: 0, usedIndex: 0);
        AssertServesNewConnection(c);
    }

    [Test]
    public void A_ring_that_runs_past_the_end_of_guest_memory_is_not_started()
    {
        var c = OpenWithAck();
        using var rig = new GuestRig(c);
        // Vring 3's descriptor table starts 16 bytes before the end of guest memory: its start translates, the rest does not.
        var desc = GuestRig.Base + GuestRig.DefaultRegionSize - 16;
        Assert.That(Ack(c, VhostUserRequest.SetVringNum, new VringState(3, 8).Encode()), Is.Zero);
        Assert.That(Ack(c, VhostUserRequest.SetVringAddr,
            new VringAddress(3, 0, rig.ToUser(desc), rig.ToUser(GuestRig.Base + 0x2000), rig.ToUser(GuestRig.Base + 0x1000), 0).Encode()), Is.Zero);
        using var kick = EventFd.Create();
        Assert.That(Ack(c, VhostUserRequest.SetVringKick, new VringFd(3, false).Encode(), [kick.Fd]), Is.Zero);
        var before = rig.Snapshot();
        var mark = Mark();
        kick.Signal();
        ExpectLog(mark, "queue 3: ring addresses", "are not inside guest memory");
        AssertStillAnswers(c);
        rig.AssertWrittenOnlyWithin(before);
        rig.SendFrameAndExpectItBack(tag: 3);
        AssertServesNewConnection(c);
    }

    [Test]
    public void A_loop_in_a_huge_indirect_table_is_cut_short()
    {
        // 48 MiB of indirect table is three million entries; a 16-bit next can reach only 65536 of them, so a
        // chain longer than that has looped. Walking the whole table would cost seconds and a huge segment list.
        const long region = 64L << 20;
        const uint tableBytes = 48u << 20;
        var c = OpenWithAck();
        using var rig = new GuestRig(c, regionSize: region);
        var table = GuestRig.Base + 0x100000;
        rig.WriteDesc(table, 0, GuestRig.TxBuffer, 16, SplitRing.DescFNext, 0);
        rig.WriteDesc(GuestRig.Desc(1), 0, table, tableBytes, SplitRing.DescFIndirect, 0);
        rig.Expose(1, 0);
        var before = rig.Snapshot();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var mark = Mark();
        rig.Kick(1);
        ExpectLog(mark, "queue 1: chain at head 0 refused", "longer than the 65536 entries a 16-bit next can reach", "(a loop?)");
        rig.WaitUsedIdx(1, 1);
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - allocated, Is.LessThan(16L << 20), "bytes allocated while refusing one chain");
        rig.AssertWrittenOnlyWithin(before, GuestRig.UsedRing(1));
        rig.SendFrameAndExpectItBack(tag: 4);
        AssertServesNewConnection(c);
    }

    /// <summary>Writes the bad chain on vring 1 and exposes it; returns its head.</summary>
    private static int Plant(GuestRig rig, Chain chain)
    {
        const int h = 5;
        var d = GuestRig.Desc(1);
        var end = GuestRig.Base + GuestRig.DefaultRegionSize;
        var table = GuestRig.Base + 0x40000;
        var buf = GuestRig.TxBuffer;
        switch (chain)
        {
            case Chain.BufferPastTheEnd: rig.WriteDesc(d, h, end - 16, 64, 0, 0); break;
            case Chain.BufferBeforeTheStart: rig.WriteDesc(d, h, GuestRig.Base - 64, 64, 0, 0); break;
            case Chain.BufferAtTheTopOfTheAddressSpace: rig.WriteDesc(d, h, ulong.MaxValue - 15, 64, 0, 0); break;
            case Chain.BufferOf4GiB: rig.WriteDesc(d, h, buf, uint.MaxValue, 0, 0); break;
            case Chain.SecondBufferOutside:
                rig.WriteDesc(d, h, buf, 12, SplitRing.DescFNext, 6);
                rig.WriteDesc(d, 6, end, 64, 0, 0);
                break;
            case Chain.TwoDescriptorLoop:
                rig.WriteDesc(d, h, buf, 16, SplitRing.DescFNext, 6);
                rig.WriteDesc(d, 6, buf, 16, SplitRing.DescFNext, h);
                break;
            case Chain.SelfLoop: rig.WriteDesc(d, h, buf, 16, SplitRing.DescFNext, h); break;
            case Chain.ChainThroughTheWholeTable:
                for (var i = 0; i < GuestRig.QueueSize; i++)
                    rig.WriteDesc(d, (h + i) % GuestRig.QueueSize, buf, 16, SplitRing.DescFNext, (ushort)((h + i + 1) % GuestRig.QueueSize));
                break;
            case Chain.NextOutsideTheTable: rig.WriteDesc(d, h, buf, 16, SplitRing.DescFNext, 8); break;
            case Chain.HeadOutsideTheTable:
                rig.Expose(1, 9);
                return 9;
            case Chain.IndirectTableOutside: rig.WriteDesc(d, h, end, 32, SplitRing.DescFIndirect, 0); break;
            case Chain.IndirectTableAcrossTheEnd: rig.WriteDesc(d, h, end - 16, 32, SplitRing.DescFIndirect, 0); break;
            case Chain.IndirectTableOf24Bytes: rig.WriteDesc(d, h, table, 24, SplitRing.DescFIndirect, 0); break;
            case Chain.IndirectTableOf0Bytes: rig.WriteDesc(d, h, table, 0, SplitRing.DescFIndirect, 0); break;
            case Chain.IndirectWithNext: rig.WriteDesc(d, h, table, 32, SplitRing.DescFIndirect | SplitRing.DescFNext, 6); break;
            case Chain.NestedIndirect:
                rig.WriteDesc(table, 0, table, 16, SplitRing.DescFIndirect, 0);
                rig.WriteDesc(d, h, table, 16, SplitRing.DescFIndirect, 0);
                break;
            case Chain.LoopInsideIndirectTable:
                rig.WriteDesc(table, 0, buf, 16, SplitRing.DescFNext, 1);
                rig.WriteDesc(table, 1, buf, 16, SplitRing.DescFNext, 0);
                rig.WriteDesc(d, h, table, 64, SplitRing.DescFIndirect, 0);
                break;
            case Chain.IndirectBufferOutside:
                rig.WriteDesc(table, 0, buf, 12, SplitRing.DescFNext, 1);
                rig.WriteDesc(table, 1, end, 64, 0, 0);
                rig.WriteDesc(d, h, table, 32, SplitRing.DescFIndirect, 0);
                break;
            case Chain.ReadableAfterWritable:
                rig.WriteDesc(d, h, buf, 16, SplitRing.DescFWrite | SplitRing.DescFNext, 6);
                rig.WriteDesc(d, 6, buf, 16, 0, 0);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(chain));
        }
        rig.Expose(1, h);
        return h;
    }

    // ---------------------------------------------------------------- helpers

    private void Log(string line)
    {
        lock (_log) _log.Add(line);
    }

    private string[] LogLines()
    {
        lock (_log) return [.. _log];
    }

    private int Mark()
    {
        lock (_log) return _log.Count;
    }

    /// <summary>Waits for a log line written after <paramref name="mark"/> that contains every fragment.</summary>
    private string ExpectLog(int mark, params string[] fragments)
    {
        var clock = Stopwatch.StartNew();
        List<string> lines;
        do
        {
            lines = LogLines().Skip(mark).ToList();
            var hit = lines.FirstOrDefault(l => fragments.All(f => l.Contains(f, StringComparison.OrdinalIgnoreCase)));
            if (hit is not null) return hit;
            Thread.Sleep(5);
        } while (clock.Elapsed < Wait);
        Assert.Fail($"no log line with {string.Join(" and ", fragments.Select(f => $"\"{f}\""))}; the back-end logged:\n  {string.Join("\n  ", lines)}");
        return null!;
    }

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private static SharedMemoryRegion Memfd(string name, ulong size) => SharedMemoryRegion.CreateMemfd($"vu-hostile-{name}", (long)size);

    private static int MappingsOf(string name) => File.ReadLines("/proc/self/maps").Count(l => l.Contains($"/memfd:vu-hostile-{name} "));

    private VhostUserChannel Open() => Own(VhostUserChannel.Connect(_path, Wait));

    /// <summary>A front-end that negotiated REPLY_ACK, so every refusal comes back as a non-zero ack.</summary>
    private VhostUserChannel OpenWithAck()
    {
        var c = Open();
        AssertStillAnswers(c);
        Assert.That(CallU64(c, VhostUserRequest.GetProtocolFeatures) & 1UL << VhostUserProtocolFeature.ReplyAck, Is.Not.Zero, "REPLY_ACK offered");
        c.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetProtocolFeatures,
            Payload.U64(1UL << VhostUserProtocolFeature.Mq | 1UL << VhostUserProtocolFeature.ReplyAck)));
        Assert.That(Ack(c, VhostUserRequest.SetOwner, []), Is.Zero, "SET_OWNER acked");
        return c;
    }

    private static VhostUserMessage ReceiveReply(VhostUserChannel c, VhostUserRequest request)
    {
        var reply = c.Receive(Wait, $"the reply to {request.WireName()}");
        reply.CloseFds();
        Assert.That((reply.IsReply, reply.Request), Is.EqualTo((true, request)), $"reply to {request.WireName()}: {reply}");
        return reply;
    }

    private static ulong CallU64(VhostUserChannel c, VhostUserRequest request)
    {
        c.Send(VhostUserMessage.NewRequest(request));
        return Payload.ReadU64(ReceiveReply(c, request));
    }

    private static ulong Ack(VhostUserChannel c, VhostUserRequest request, byte[] payload, int[]? fds = null)
    {
        c.Send(VhostUserMessage.NewRequest(request, payload, fds, needReply: true));
        return Payload.ReadU64(ReceiveReply(c, request));
    }

    /// <summary>Sends a request the back-end must refuse: a non-zero ack and a log line naming the reason.</summary>
    private string Refused(VhostUserChannel c, VhostUserRequest request, byte[] payload, int[]? fds, params string[] reason)
    {
        var mark = Mark();
        Assert.That(Ack(c, request, payload, fds), Is.Not.Zero, $"REPLY_ACK of the refused {request.WireName()}");
        return ExpectLog(mark, reason);
    }

    private static void AssertStillAnswers(VhostUserChannel c) =>
        Assert.That(CallU64(c, VhostUserRequest.GetFeatures), Is.EqualTo(Offered), "GET_FEATURES on the same connection");

    private static void AssertClosedByBackend(VhostUserChannel c) =>
        Assert.That(() => c.Receive(Wait, "the back-end to close the connection"), Throws.TypeOf<VhostUserDisconnectedException>());

    /// <summary>The back-end serves one front-end at a time, so the previous one hangs up first.</summary>
    private void AssertServesNewConnection(VhostUserChannel? previous = null)
    {
        previous?.Dispose();
        using var c = VhostUserChannel.Connect(_path, Wait);
        Assert.That(CallU64(c, VhostUserRequest.GetFeatures), Is.EqualTo(Offered), "GET_FEATURES on a new connection");
        Assert.That(CallU64(c, VhostUserRequest.GetQueueNum), Is.EqualTo((ulong)Pairs), "GET_QUEUE_NUM on a new connection");
    }

    /// <summary>The back-end runs in this process, so an fd it fails to close shows in /proc/self/fd.</summary>
    private static void AssertNoFdLeak(Action action, int times = 5)
    {
        action(); // the first time may open files of the runtime's own
        var before = FdTable();
        for (var i = 0; i < times; i++) action();
        // A session the back-end has not yet noticed is over still holds its socket for a moment. A leak is growth: the
        // table is the whole process's, and a session of an earlier test that ends meanwhile closes fds of its own (a
        // full run once failed here on a count that had gone down), which says nothing about this action.
        var clock = Stopwatch.StartNew();
        var after = FdTable();
        while (after.Count > before.Count && clock.Elapsed < Wait)
        {
            Thread.Sleep(10);
            after = FdTable();
        }
        var opened = after.Except(before).Select(kv => $"{kv.Key} -> {kv.Value}");
        var closed = before.Except(after).Select(kv => $"{kv.Key} -> {kv.Value}");
        Assert.That(after, Has.Count.LessThanOrEqualTo(before.Count),
            $"open fds after {times} more of the same; opened: [{string.Join(", ", opened)}], closed: [{string.Join(", ", closed)}]");
    }

    private static Dictionary<int, string> FdTable()
    {
        OpenFds.Count(); // runs pending finalizers first
        var table = new Dictionary<int, string>();
        foreach (var path in Directory.GetFiles("/proc/self/fd"))
        {
            var fd = int.Parse(Path.GetFileName(path), System.Globalization.CultureInfo.InvariantCulture);
            // No target: the fd closed between the listing and the readlink (the listing's own, or a runtime thread's),
            // so it is not held open; a leaked fd stays and always has one. Seen once in CI as "closed: [193 -> ?]".
            if (new FileInfo(path).LinkTarget is not { } target) continue;
            // The runtime maps assemblies lazily, whenever some code first needs one; those are not the back-end's.
            if (target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".so", StringComparison.Ordinal)) continue;
            table[fd] = target;
        }
        return table;
    }

    private static byte[] Header(uint request, uint flags, uint size)
    {
        var bytes = new byte[VhostUserMessage.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, request);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), size);
        return bytes;
    }

    /// <summary>
    /// Guest RAM shared with the back-end through SET_MEM_TABLE, with vrings 0 (receiveq1) and 1 (transmitq1)
    /// set up and enabled and two receive buffers posted. The memfd has 64 KiB on either side of the region the
    /// table announces: mappable by the back-end but outside guest memory, so a write that escaped the bounds
    /// checks would land there. Everything is filled with a canary pattern that tells a write from no write.
    /// </summary>
    private sealed class GuestRig : IDisposable
    {
        public const ulong Base = G;
        public const long Guard = 0x10000;
        public const long DefaultRegionSize = 1 << 20;
        public const int QueueSize = 8;
        public const ulong TxBuffer = Base + 0x20000;
        private const byte Canary = 0xC3;
        private const int ReceiveBufferSize = 2048;

        private readonly VhostUserChannel _c;
        private readonly SharedMemoryRegion _file;
        private readonly GuestMemory _mem = new();
        private readonly long _regionSize;
        private readonly Dictionary<int, EventFd> _kicks = [];
        private readonly List<EventFd> _calls = [];
        private readonly ushort[] _avail = new ushort[2];

        public GuestRig(VhostUserChannel c, long regionSize = DefaultRegionSize, bool badReceiveBufferFirst = false)
        {
            _c = c;
            _regionSize = regionSize;
            _file = SharedMemoryRegion.CreateMemfd("vu-hostile-guest", Guard + regionSize + Guard);
            _file.Span(0, (int)(2 * Guard + regionSize)).Fill(Canary);
            _mem.AddRegion(Base, _file, Guard, regionSize);
            for (var vq = 0; vq < 2; vq++)
            {
                _mem.WriteU32(Avail(vq), 0);
                _mem.WriteU32(Used(vq), 0);
            }
            var features = FeatureSet.Of(FeatureBit.Version1, FeatureBit.IndirectDesc, FeatureBit.ProtocolFeatures).Low64;
            Assert.That(Ack(c, VhostUserRequest.SetFeatures, Payload.U64(features)), Is.Zero, "SET_FEATURES");
            Assert.That(Ack(c, VhostUserRequest.SetMemTable,
                MemoryTable.Encode([new MemoryRegion(Base, (ulong)regionSize, (ulong)_file.Address + Guard, Guard)]), [_file.Fd]), Is.Zero, "SET_MEM_TABLE");
            for (var vq = 0; vq < 2; vq++) RestartRing(vq, availBase: 0);
            for (var vq = 0; vq < 2; vq++)
            {
                var call = EventFd.Create();
                _calls.Add(call);
                Assert.That(Ack(c, VhostUserRequest.SetVringCall, new VringFd((byte)vq, false).Encode(), [call.Fd]), Is.Zero, "SET_VRING_CALL");
                Assert.That(Ack(c, VhostUserRequest.SetVringEnable, new VringState((uint)vq, 1).Encode()), Is.Zero, "SET_VRING_ENABLE");
            }
            WriteDesc(Desc(0), 0, badReceiveBufferFirst ? Base + (ulong)regionSize - 100 : ReceiveBuffer(0), ReceiveBufferSize, SplitRing.DescFWrite, 0);
            WriteDesc(Desc(0), 1, ReceiveBuffer(1), ReceiveBufferSize, SplitRing.DescFWrite, 0);
            Expose(0, 0);
            Expose(0, 1);
            Kick(0);
        }

        public static ulong Desc(int vq) => Base + 0x1000 + (ulong)vq * 0x4000;
        public static ulong Avail(int vq) => Desc(vq) + 0x1000;
        public static ulong Used(int vq) => Desc(vq) + 0x2000;
        public static ulong ReceiveBuffer(int i) => Base + 0x30000 + (ulong)i * 0x1000;
        public ulong ToUser(ulong guest) => (ulong)_file.Address + (ulong)Guard + (guest - Base);
        public static (ulong, int) UsedRing(int vq) => (Used(vq), SplitRing.UsedRingBytes(QueueSize));

        /// <summary>SET_VRING_NUM/BASE/ADDR and a fresh kick fd, as a front-end starting (or restarting) a ring.</summary>
        public void RestartRing(int vq, ushort availBase)
        {
            Assert.That(Ack(_c, VhostUserRequest.SetVringNum, new VringState((uint)vq, QueueSize).Encode()), Is.Zero, "SET_VRING_NUM");
            Assert.That(Ack(_c, VhostUserRequest.SetVringBase, new VringState((uint)vq, availBase).Encode()), Is.Zero, "SET_VRING_BASE");
            Assert.That(Ack(_c, VhostUserRequest.SetVringAddr,
                new VringAddress((uint)vq, 0, ToUser(Desc(vq)), ToUser(Used(vq)), ToUser(Avail(vq)), 0).Encode()), Is.Zero, "SET_VRING_ADDR");
            var kick = EventFd.Create();
            Assert.That(Ack(_c, VhostUserRequest.SetVringKick, new VringFd((byte)vq, false).Encode(), [kick.Fd]), Is.Zero, "SET_VRING_KICK");
            if (_kicks.Remove(vq, out var old)) old.Dispose();
            _kicks[vq] = kick;
        }

        public void WriteDesc(ulong table, int i, ulong addr, uint len, ushort flags, ushort next)
        {
            var d = table + 16UL * (ulong)i;
            _mem.WriteU64(d, addr);
            _mem.WriteU32(d + 8, len);
            _mem.WriteU16(d + 12, flags);
            _mem.WriteU16(d + 14, next);
        }

        public void Expose(int vq, int head)
        {
            _mem.WriteU16(Avail(vq) + 4 + 2UL * (ulong)(_avail[vq] % QueueSize), (ushort)head);
            _avail[vq]++;
            _mem.WriteU16Release(Avail(vq) + 2, _avail[vq]);
        }

        public void SetAvailIdx(int vq, int idx)
        {
            _avail[vq] = (ushort)idx;
            _mem.WriteU16Release(Avail(vq) + 2, (ushort)idx);
        }

        public void Kick(int vq) => _kicks[vq].Signal();

        public ushort UsedIdx(int vq) => _mem.ReadU16Acquire(Used(vq) + 2);

        public (uint Id, uint Len) UsedElem(int vq, int i)
        {
            var e = Used(vq) + 4 + 8UL * (ulong)(i % QueueSize);
            return (_mem.ReadU32(e), _mem.ReadU32(e + 4));
        }

        public void WaitUsedIdx(int vq, int idx)
        {
            var clock = Stopwatch.StartNew();
            while (UsedIdx(vq) != (ushort)idx && clock.Elapsed < Wait) Thread.Sleep(1);
            Assert.That(UsedIdx(vq), Is.EqualTo((ushort)idx), $"used idx of vring {vq}");
        }

        public byte[] Snapshot() => _file.Span(0, (int)(2 * Guard + _regionSize)).ToArray();

        /// <summary>Every byte of the memfd that changed since <paramref name="before"/> lies in one of <paramref name="allowed"/>.</summary>
        public void AssertWrittenOnlyWithin(byte[] before, params (ulong Start, int Length)[] allowed)
        {
            var after = _file.Span(0, before.Length);
            var stray = new List<string>();
            for (var o = 0; o < before.Length && stray.Count < 5; o++)
            {
                o += before.AsSpan(o).CommonPrefixLength(after[o..]);
                if (o >= before.Length) break;
                if (o < Guard) stray.Add($"memfd offset 0x{o:x}, in the guard below guest memory");
                else if (o >= Guard + _regionSize) stray.Add($"memfd offset 0x{o:x}, in the guard above guest memory");
                else
                {
                    var g = Base + (ulong)(o - Guard);
                    if (!allowed.Any(a => g >= a.Start && g < a.Start + (ulong)a.Length)) stray.Add($"guest 0x{g:x}");
                }
            }
            Assert.That(stray, Is.Empty, "bytes the back-end wrote where it had no business");
        }

        /// <summary>A 64-byte UDP frame behind a zero virtio-net header, as descriptor 0 of vring 1 (not exposed).</summary>
        public void PlantFrame(ulong tag)
        {
            var packet = new byte[SplitRing.NetHeaderSize + TestFrames.Length];
            TestFrames.Udp(1, tag).CopyTo(packet, SplitRing.NetHeaderSize);
            packet.CopyTo(_mem.Span(TxBuffer, packet.Length));
            WriteDesc(Desc(1), 0, TxBuffer, (uint)packet.Length, 0, 0);
        }

        /// <summary>
        /// Sends one well-formed frame on transmitq1 and checks it comes back on receiveq1 in the given buffer,
        /// with nothing else in guest memory touched.
        /// </summary>
        public void SendFrameAndExpectItBack(ulong tag, int receiveHead = 0, int usedBefore = 0)
        {
            PlantFrame(tag);
            Expose(1, 0);
            var before = Snapshot();
            var tx = UsedIdx(1);
            Kick(1);
            WaitUsedIdx(1, tx + 1);
            Assert.That(UsedElem(1, tx), Is.EqualTo((0u, 0u)), "the frame's transmit buffer comes back used");
            WaitUsedIdx(0, usedBefore + 1);
            AssertFrameReceived(tag, receiveHead, usedBefore);
            AssertWrittenOnlyWithin(before, UsedRing(0), UsedRing(1), (ReceiveBuffer(receiveHead), ReceiveBufferSize));
        }

        public void AssertFrameReceived(ulong tag, int receiveHead, int usedIndex)
        {
            const int packet = SplitRing.NetHeaderSize + TestFrames.Length;
            Assert.That(UsedElem(0, usedIndex), Is.EqualTo(((uint)receiveHead, (uint)packet)), "the frame's receive buffer");
            var bytes = _mem.Span(ReceiveBuffer(receiveHead), packet).ToArray();
            Assert.That(TestFrames.TagOf(bytes.AsSpan(SplitRing.NetHeaderSize)), Is.EqualTo(tag), "the frame that came back");
        }

        public void Dispose()
        {
            foreach (var k in _kicks.Values) k.Dispose();
            foreach (var c in _calls) c.Dispose();
            _file.Dispose();
        }
    }
}
