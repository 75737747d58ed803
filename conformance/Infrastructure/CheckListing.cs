using VirtioMq.Conformance.Rules;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>One line per check for `conformance/Tool list`: what a run would judge, without touching a device.</summary>
public static class CheckListing
{
    public static string Line(SuiteCheck c)
    {
        var formats = c.SplitOnly is not null ? "split" : c.PackedOnly ? "packed" : "split+packed";
        var limits = (c.VhostUserOnly ? "; vhost-user only" : "") + (c.PciOnly ? "; virtio-pci only" : "");
        var cases = c.DeclaredCases is { } n ? $"{n} cases" : $"run's cases (default {SuiteCheck.DefaultCases})";
        return $"{c.Test}  [{formats}; {string.Join("+", c.Planes).ToLowerInvariant()} plane; {cases}{limits}]  {string.Join(", ", c.RequirementIds)}";
    }
}
