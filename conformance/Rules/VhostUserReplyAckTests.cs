using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// VHOST_USER_PROTOCOL_F_REPLY_ACK: once negotiated, a request with need_reply set gets an ack. A front-end
/// (QEMU) then waits for it, so a back-end that offers the feature and drops acks hangs its front-end.
/// </summary>
[TestFixture, Category("vhost-user")]
public sealed class VhostUserReplyAckTests
{
    public static Property NeedReplyGetsAnAck(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Choose(0, 1)), second =>
        {
            using var s = ctx.Open();
            if (Needs.Capability<IVhostUserBackEnd>(s, Needs.VhostUserBackEnd) is not { } backEnd) return;
            if ((backEnd.ProtocolFeatures & (1UL << VhostUserProtocolFeature.ReplyAck)) == 0)
            {
                ThisCase.NotApplicable("the back-end does not offer VHOST_USER_PROTOCOL_F_REPLY_ACK");
                return;
            }
            try
            {
                // The same protocol features again: a request every back-end accepts, so the ack must be 0.
                backEnd.Send(VhostUserRequest.SetProtocolFeatures, Payload.U64(backEnd.ProtocolFeatures));
                // And the requests of a whole device start, each with need_reply.
                if (second == 1) s.Driver.Initialize(pairs: 1);
                ThisCase.Judged(); // every request above got its ack
            }
            // A non-zero ack is an ack: refusing a request is the back-end's right (vu.reply-ack.nonzero-on-failure), and
            // this rule asks only that the answer comes. Whether the refusal was warranted is other checks' business.
            catch (VhostUserRefusalException)
            {
            }
            catch (DeviceTimeoutException e)
            {
                throw Expect.Violated(Rule.VuReplyAckMustReply, $"REPLY_ACK was negotiated (protocol features 0x{backEnd.ProtocolFeatures:x}), but a request with need_reply got no ack: {e.Message}");
            }
        });

    public static readonly SuiteCheck NeedReply = new(nameof(A_request_with_need_reply_gets_its_ack), NeedReplyGetsAnAck,
        [Rule.VuReplyAckMustReply], [Plane.Data], 2, vhostUserOnly: true);

    [Test, Check]
    public void A_request_with_need_reply_gets_its_ack() => Suite.Verify(NeedReply);
}
