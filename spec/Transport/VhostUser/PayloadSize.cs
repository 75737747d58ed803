namespace VirtioMq.Spec.VhostUser;

/// <summary>The one size check every decoder makes, so all of them word the error the same way.</summary>
internal static class PayloadSize
{
    public static void Expect(VhostUserRequest request, int actual, int expected)
    {
        if (actual != expected)
            throw new VhostUserProtocolException(request, $"payload is {actual} bytes, expected {expected}");
    }
}
