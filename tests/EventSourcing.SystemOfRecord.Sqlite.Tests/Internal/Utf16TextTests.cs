using System.Text.RegularExpressions;
using EventSourcing.SystemOfRecord.Sqlite.Internal;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Internal;

public sealed class Utf16TextTests
{
    // Cases are written escaped (@"\uD83C") and unescaped at run time: an attribute stores a string argument as UTF-8,
    // which would turn a lone surrogate into U+FFFD, and a test name holding one does not survive the test adapter.
    [TestCase(@"")]
    [TestCase(@"plain ascii")]
    [TestCase(@"h\u00E9llo \u65E5\u672C")]
    [TestCase(@"\uD83C\uDF89")]
    [TestCase(@"a\uD83C\uDF89b\uD83D\uDD11c")]
    public void IsValid_NoSurrogatesOrOnlyPairs_ReturnsTrue(string escaped) => Assert.That(Utf16Text.IsValid(Regex.Unescape(escaped)), Is.True);

    [TestCase(@"\uD83C")]             // high surrogate at the end
    [TestCase(@"a\uDF89b")]           // low surrogate alone
    [TestCase(@"\uDF89\uD83C")]       // a pair in the wrong order
    [TestCase(@"\uD83C\uDF89\uD83Cx")] // a good pair, then a lone high one
    [TestCase(@"\uD83C\uD83C\uDF89")] // high, then a full pair
    public void IsValid_LoneSurrogate_ReturnsFalse(string escaped) => Assert.That(Utf16Text.IsValid(Regex.Unescape(escaped)), Is.False);
}
