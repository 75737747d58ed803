using System.Globalization;
using System.Net.Sockets;
using System.Text;
using VirtioMq.Adapters.Devices;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// QEMU's qtest line protocol, from the test program's side: QEMU connects to a socket the suite listens on and
/// takes one command per line (<c>readl 0x…</c>, <c>outl 0xcf8 0x…</c>); each answer is one line starting with
/// <c>OK</c>, or <c>FAIL</c>/<c>ERR</c>. Lines starting with <c>IRQ</c> are interrupt events, not answers.
/// </summary>
public sealed class QtestConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly TimeSpan _timeout;

    private QtestConnection(Socket socket, TimeSpan timeout)
    {
        _socket = socket;
        _timeout = timeout;
        // A blocking read that gives up: the stream throws once nothing came for this long.
        socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        _reader = new StreamReader(new NetworkStream(socket, ownsSocket: false), Encoding.ASCII);
    }

    /// <summary>Speaks qtest over a socket QEMU has connected to.</summary>
    public static QtestConnection Wrap(Socket socket, TimeSpan timeout) => new(socket, timeout);

    /// <summary>Sends one command and returns the text after <c>OK</c>.</summary>
    /// <exception cref="DeviceProtocolException">QEMU answered FAIL/ERR, closed the connection, or did not answer in time.</exception>
    public string Command(string command)
    {
        _socket.Send(Encoding.ASCII.GetBytes(command + "\n"));
        while (true)
        {
            string? line;
            try
            {
                line = _reader.ReadLine();
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
            {
                throw new DeviceTimeoutException($"QEMU's qtest answer to '{command}'", _timeout);
            }
            catch (IOException e)
            {
                // A reset connection is QEMU going away (it exits when it cannot build the machine), not a slow answer.
                throw new DeviceProtocolException($"QEMU closed the qtest connection instead of answering '{command}'", e);
            }
            if (line is null) throw new DeviceProtocolException($"QEMU closed the qtest connection instead of answering '{command}'");
            // Interrupt events (only sent after irq_intercept_*, which the suite does not use) are not answers.
            if (line.StartsWith("IRQ", StringComparison.Ordinal)) continue;
            if (line == "OK" || line.StartsWith("OK ", StringComparison.Ordinal)) return line.Length > 2 ? line[3..] : "";
            throw new DeviceProtocolException($"QEMU's qtest refused '{command}': {line}");
        }
    }

    /// <summary>Sends a command whose answer is one number (<c>OK 0x…</c>).</summary>
    public ulong Read(string command)
    {
        var answer = Command(command);
        var hex = answer.StartsWith("0x", StringComparison.Ordinal) ? answer[2..] : answer;
        return ulong.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        _reader.Dispose();
        _socket.Dispose();
    }
}
