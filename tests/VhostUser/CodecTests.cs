using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

[TestFixture]
public sealed class CodecTests
{
    private static VhostUserMessage With(VhostUserRequest request, byte[] payload) => VhostUserMessage.NewRequest(request, payload);

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property Header_round_trips() => Prop.ForAll(
        Arb.From(from r in Generators.U32 from f in Generators.U32 from s in Generators.U32 select new VhostUserHeader((VhostUserRequest)r, (VhostUserFlags)f, s)),
        h =>
        {
            var bytes = new byte[VhostUserMessage.HeaderSize];
            h.Encode(bytes);
            return VhostUserHeader.Decode(bytes) == h;
        });

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property Message_encoding_is_header_then_payload() => Prop.ForAll(
        Arb.From(from r in Gen.Choose(1, 43)
                 from n in Gen.Choose(0, 300)
                 from ack in Gen.Elements(false, true)
                 select VhostUserMessage.NewRequest((VhostUserRequest)r, Enumerable.Range(0, n).Select(i => (byte)(i * 31 + r)).ToArray(), needReply: ack)),
        m =>
        {
            var bytes = m.Encode();
            var h = VhostUserHeader.Decode(bytes);
            return bytes.Length == VhostUserMessage.HeaderSize + m.Payload.Length
                && h == new VhostUserHeader(m.Request, m.Flags, (uint)m.Payload.Length)
                && bytes.AsSpan(VhostUserMessage.HeaderSize).SequenceEqual(m.Payload);
        });

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property U64_round_trips() => Prop.ForAll(Arb.From(Generators.U64), v =>
        Payload.U64(v).Length == 8 && Payload.ReadU64(With(VhostUserRequest.SetFeatures, Payload.U64(v))) == v);

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property VringState_round_trips() => Prop.ForAll(
        Arb.From(from i in Generators.U32 from n in Generators.U32 select new VringState(i, n)),
        s => s.Encode().Length == VringState.Size && Payload.ReadVringState(With(VhostUserRequest.SetVringBase, s.Encode())) == s);

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property VringAddress_round_trips() => Prop.ForAll(Arb.From(Generators.Address), a =>
        a.Encode().Length == VringAddress.Size && Payload.ReadVringAddress(With(VhostUserRequest.SetVringAddr, a.Encode())) == a);

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property MemoryTable_round_trips() => Prop.ForAll(
        Arb.From(from n in Gen.Choose(1, MemoryTable.MaxRegions) from rs in Generators.Region.ArrayOf(n) select rs),
        regions =>
        {
            var payload = MemoryTable.Encode(regions);
            return payload.Length == 8 + 32 * regions.Length
                && Payload.ReadMemoryTable(With(VhostUserRequest.SetMemTable, payload)).SequenceEqual(regions);
        });

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property Single_region_round_trips() => Prop.ForAll(Arb.From(Generators.Region), r =>
        Payload.ReadSingleMemoryRegion(With(VhostUserRequest.AddMemReg, r.EncodeSingle())) == r);

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property VringFd_round_trips() => Prop.ForAll(
        Arb.From(from i in Gen.Choose(0, 255) from noFd in Gen.Elements(false, true) select new VringFd((byte)i, noFd)),
        v =>
        {
            var m = VhostUserMessage.NewRequest(VhostUserRequest.SetVringCall, v.Encode(), v.NoFd ? [] : [42]);
            return Payload.ReadVringFd(m) == v && Payload.ReadU64(m) == (ulong)v.Index + (v.NoFd ? 0x100UL : 0);
        });

    [FsCheck.NUnit.Property(MaxTest = 300)]
    public Property VringFd_rejects_every_undefined_bit() => Prop.ForAll(
        Arb.From(from bit in Gen.Choose(9, 63) from low in Gen.Choose(0, 0x1FF) select (1UL << bit) | (uint)low),
        value =>
        {
            try
            {
                Payload.ReadVringFd(With(VhostUserRequest.SetVringKick, Payload.U64(value)));
                return false;
            }
            catch (VhostUserProtocolException e)
            {
                return e.Message.StartsWith("SET_VRING_KICK ", StringComparison.Ordinal) && e.Message.Contains("undefined bits");
            }
        });

    [Test]
    public void Used_precedes_avail_on_the_wire()
    {
        var bytes = new VringAddress(7, 1, Desc: 0x1111, Used: 0x2222, Avail: 0x3333, Log: 0x4444).Encode();
        Assert.Multiple(() =>
        {
            Assert.That(BitConverter.ToUInt64(bytes, 16), Is.EqualTo(0x2222UL));
            Assert.That(BitConverter.ToUInt64(bytes, 24), Is.EqualTo(0x3333UL));
        });
    }

    private static IEnumerable<TestCaseData> Decoders()
    {
        yield return new TestCaseData(VhostUserRequest.SetFeatures, 8, (Action<VhostUserMessage>)(m => Payload.ReadU64(m))).SetArgDisplayNames("u64");
        yield return new TestCaseData(VhostUserRequest.SetVringNum, 8, (Action<VhostUserMessage>)(m => Payload.ReadVringState(m))).SetArgDisplayNames("vring state");
        yield return new TestCaseData(VhostUserRequest.SetVringAddr, 40, (Action<VhostUserMessage>)(m => Payload.ReadVringAddress(m))).SetArgDisplayNames("vring address");
        yield return new TestCaseData(VhostUserRequest.AddMemReg, 40, (Action<VhostUserMessage>)(m => Payload.ReadSingleMemoryRegion(m))).SetArgDisplayNames("single region");
        yield return new TestCaseData(VhostUserRequest.SetVringKick, 8, (Action<VhostUserMessage>)(m => Payload.ReadVringFd(m))).SetArgDisplayNames("vring fd");
        yield return new TestCaseData(VhostUserRequest.GetFeatures, 0, (Action<VhostUserMessage>)(m => Payload.ReadEmpty(m))).SetArgDisplayNames("empty");
    }

    [TestCaseSource(nameof(Decoders))]
    public void Decoders_reject_every_wrong_size(VhostUserRequest request, int size, Action<VhostUserMessage> decode)
    {
        var wrong = Enumerable.Range(0, 300).Append(VhostUserMessage.MaxPayloadSize).Where(n => n != size).ToList();
        Assert.Multiple(() =>
        {
            foreach (var n in wrong)
            {
                var e = Assert.Throws<VhostUserProtocolException>(() => decode(With(request, new byte[n])), $"{n} bytes");
                Assert.That(e!.Message, Is.EqualTo($"{request.WireName()} payload is {n} bytes, expected {size}"));
                Assert.That(e.Request, Is.EqualTo(request));
            }
        });
    }

    [Test]
    public void The_error_reads_like_the_spec_names_it() =>
        Assert.That(() => Payload.ReadVringAddress(With(VhostUserRequest.SetVringAddr, new byte[20])),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.EqualTo("SET_VRING_ADDR payload is 20 bytes, expected 40"));

    [TestCase(0u)]
    [TestCase(9u)]
    [TestCase(uint.MaxValue)]
    public void MemoryTable_rejects_region_counts_outside_1_to_8(uint count)
    {
        var payload = new byte[8 + 32 * (int)Math.Min(count, 9)];
        BitConverter.TryWriteBytes(payload, count);
        Assert.That(() => Payload.ReadMemoryTable(With(VhostUserRequest.SetMemTable, payload)),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.EqualTo($"SET_MEM_TABLE announces {count} regions, expected 1..8"));
    }

    [TestCase(2, 8 + 32 * 3)]
    [TestCase(2, 8 + 32 * 2 - 1)]
    [TestCase(8, 8 + 32 * 8 + 1)]
    [TestCase(1, 8)]
    [TestCase(1, 4)]
    public void MemoryTable_rejects_a_size_that_does_not_match_the_count(int count, int size)
    {
        var payload = new byte[size];
        if (size >= 4) BitConverter.TryWriteBytes(payload, (uint)count);
        Assert.That(() => Payload.ReadMemoryTable(With(VhostUserRequest.SetMemTable, payload)),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.StartsWith($"SET_MEM_TABLE payload is {size} bytes, expected "));
    }

    [Test]
    public void MemoryTable_encoder_refuses_0_and_9_regions() => Assert.Multiple(() =>
    {
        Assert.Throws<ArgumentException>(() => MemoryTable.Encode([]));
        Assert.Throws<ArgumentException>(() => MemoryTable.Encode(new MemoryRegion[9]));
    });

    [Test]
    public void VringFd_must_agree_with_the_fds_carried() => Assert.Multiple(() =>
    {
        var noFd = new VringFd(2, NoFd: true).Encode();
        var withFd = new VringFd(2, NoFd: false).Encode();
        Assert.That(() => Payload.ReadVringFd(VhostUserMessage.NewRequest(VhostUserRequest.SetVringCall, noFd, [5])),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.Contains("carries 1 fds, expected 0"));
        Assert.That(() => Payload.ReadVringFd(VhostUserMessage.NewRequest(VhostUserRequest.SetVringCall, withFd)),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.Contains("carries 0 fds, expected 1"));
    });

    [Test]
    public void Request_ids_1_to_43_are_all_named()
    {
        var ids = Enum.GetValues<VhostUserRequest>().Select(r => (uint)r).Order().ToArray();
        Assert.That(ids, Is.EqualTo(Enumerable.Range(1, 43).Select(i => (uint)i)));
    }

    [TestCase(VhostUserRequest.SetVringAddr, "SET_VRING_ADDR")]
    [TestCase(VhostUserRequest.SetBackendReqFd, "SET_BACKEND_REQ_FD")]
    [TestCase(VhostUserRequest.GetMaxMemSlots, "GET_MAX_MEM_SLOTS")]
    [TestCase(VhostUserRequest.IotlbMsg, "IOTLB_MSG")]
    [TestCase((VhostUserRequest)99, "request 99")]
    public void Wire_names_follow_the_spec(VhostUserRequest request, string name) => Assert.That(request.WireName(), Is.EqualTo(name));

    [Test]
    public void Requests_that_always_get_a_reply()
    {
        VhostUserRequest[] gets = [VhostUserRequest.GetFeatures, VhostUserRequest.GetProtocolFeatures, VhostUserRequest.GetVringBase,
            VhostUserRequest.GetQueueNum, VhostUserRequest.GetConfig, VhostUserRequest.GetStatus, VhostUserRequest.GetMaxMemSlots, VhostUserRequest.GetInflightFd];
        Assert.Multiple(() =>
        {
            foreach (var r in gets) Assert.That(r.AlwaysGetsReply(), Is.True, r.WireName());
            foreach (var r in new[] { VhostUserRequest.SetFeatures, VhostUserRequest.SetVringEnable, VhostUserRequest.SetMemTable, VhostUserRequest.SetLogBase })
                Assert.That(r.AlwaysGetsReply(), Is.False, r.WireName());
        });
    }

    [Test]
    public void Replies_that_depend_on_protocol_features() => Assert.Multiple(() =>
    {
        var replyAck = VhostUserProtocolFeature.Mask(VhostUserProtocolFeature.ReplyAck);
        var logShmfd = VhostUserProtocolFeature.Mask(VhostUserProtocolFeature.LogShmfd);
        var ack = VhostUserFlags.Version1 | VhostUserFlags.NeedReply;
        Assert.That(VhostUserRequestInfo.ExpectsReply(VhostUserRequest.SetVringEnable, ack, replyAck), Is.True);
        Assert.That(VhostUserRequestInfo.ExpectsReply(VhostUserRequest.SetVringEnable, ack, 0), Is.False);
        Assert.That(VhostUserRequestInfo.ExpectsReply(VhostUserRequest.SetVringEnable, VhostUserFlags.Version1, replyAck), Is.False);
        Assert.That(VhostUserRequestInfo.ExpectsReply(VhostUserRequest.SetLogBase, VhostUserFlags.Version1, logShmfd), Is.True);
        Assert.That(VhostUserRequestInfo.ExpectsReply(VhostUserRequest.GetFeatures, VhostUserFlags.Version1, 0), Is.True);
    });

    [Test]
    public void Requests_that_carry_fds() => Assert.Multiple(() =>
    {
        foreach (var r in new[] { VhostUserRequest.SetMemTable, VhostUserRequest.AddMemReg, VhostUserRequest.SetVringKick, VhostUserRequest.SetVringCall,
                     VhostUserRequest.SetVringErr, VhostUserRequest.SetLogFd, VhostUserRequest.SetBackendReqFd, VhostUserRequest.SetInflightFd })
            Assert.That(r.RequestCarriesFds(), Is.True, r.WireName());
        foreach (var r in new[] { VhostUserRequest.GetFeatures, VhostUserRequest.SetVringAddr, VhostUserRequest.RemMemReg, VhostUserRequest.SetVringEnable })
            Assert.That(r.RequestCarriesFds(), Is.False, r.WireName());
    });

    [Test]
    public void Request_and_reply_flags() => Assert.Multiple(() =>
    {
        var request = VhostUserMessage.NewRequest(VhostUserRequest.SetVringEnable, new VringState(3, 1).Encode(), needReply: true);
        Assert.That(request.Flags, Is.EqualTo((VhostUserFlags)0x9));
        Assert.That(request.NeedsReply && !request.IsReply && request.Version == 1, Is.True);
        var reply = request.ReplyWith(Payload.U64(0));
        Assert.That(reply.Request, Is.EqualTo(VhostUserRequest.SetVringEnable));
        Assert.That(reply.Flags, Is.EqualTo((VhostUserFlags)0x5));
        Assert.That(reply.IsReply && !reply.NeedsReply, Is.True);
        Assert.That(VhostUserProtocolFeature.ProtocolFeaturesBit, Is.EqualTo(30));
    });

    [Test]
    public void ToString_names_request_flags_size_and_fds()
    {
        var text = VhostUserMessage.NewRequest(VhostUserRequest.SetVringKick, new VringFd(1, false).Encode(), [10]).ToString();
        Assert.That(text, Is.EqualTo("SET_VRING_KICK flags=Version1 (0x1) size=8 fds=1"));
    }

    [TestCase(0u, "version 0")]
    [TestCase(2u, "version 2")]
    [TestCase(3u, "version 3")]
    public void Headers_with_another_version_are_refused(uint flags, string expected) =>
        Assert.That(new VhostUserHeader(VhostUserRequest.GetFeatures, (VhostUserFlags)flags, 0).Problem, Does.Contain(expected));

    [Test]
    public void Headers_announcing_more_than_4096_bytes_are_refused() => Assert.Multiple(() =>
    {
        Assert.That(new VhostUserHeader(VhostUserRequest.GetConfig, VhostUserFlags.Version1, 4096).Problem, Is.Null);
        Assert.That(new VhostUserHeader(VhostUserRequest.GetConfig, VhostUserFlags.Version1, 4097).Problem, Does.Contain("4097-byte payload"));
    });
}
