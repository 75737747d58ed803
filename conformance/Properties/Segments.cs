namespace VirtioMq.Conformance.Properties;

/// <summary>Buffers cut into descriptors the way the list checks lay them out: even pieces, the last taking the rest.</summary>
public static class Segments
{
    /// <summary><paramref name="total"/> bytes cut into <paramref name="parts"/> pieces, the last taking the rest.</summary>
    public static int[] Lengths(int total, int parts)
    {
        var each = total / parts;
        return [.. Enumerable.Repeat(each, parts - 1), total - each * (parts - 1)];
    }

    /// <summary><paramref name="bytes"/> cut into <paramref name="parts"/> pieces, as <see cref="Lengths"/> says.</summary>
    public static byte[][] Cut(byte[] bytes, int parts)
    {
        var at = 0;
        return [.. Lengths(bytes.Length, parts).Select(n => bytes[at..(at += n)])];
    }
}
