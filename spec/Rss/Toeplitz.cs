namespace VirtioMq.Spec.Rss;

/// <summary>
/// The Toeplitz hash the spec names for RSS and hash reporting (§5.1.9.4.3, after Microsoft's RSS definition): for each
/// set bit of the input, most significant first, the 32 key bits starting at that bit's position are XORed into the
/// result. Key bits past the end of the key count as zero; the spec's 40-byte minimum covers every input it defines
/// (36 bytes for IPv6 with ports).
/// </summary>
public static class Toeplitz
{
    public static uint Hash(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input)
    {
        uint result = 0;
        // The key window holds key bits [i, i+32) for the input bit i under consideration; the next key bits wait in 'next'.
        uint window = Word(key, 0);
        var nextByte = 4;
        for (var i = 0; i < input.Length; i++)
        {
            var b = input[i];
            var following = nextByte < key.Length ? key[nextByte] : (byte)0;
            nextByte++;
            for (var bit = 7; bit >= 0; bit--)
            {
                if ((b & (1 << bit)) != 0) result ^= window;
                window = (window << 1) | (uint)((following >> bit) & 1);
            }
        }
        return result;
    }

    private static uint Word(ReadOnlySpan<byte> key, int at)
    {
        uint w = 0;
        for (var i = 0; i < 4; i++) w = (w << 8) | (at + i < key.Length ? key[at + i] : 0u);
        return w;
    }
}
