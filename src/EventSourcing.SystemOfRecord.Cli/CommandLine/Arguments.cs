using System.CommandLine;
using System.CommandLine.Parsing;

namespace EventSourcing.SystemOfRecord.Cli.CommandLine;

/// <summary>Options that several commands share: times, a range, durations.</summary>
internal static class Arguments
{
    /// <summary>A time option (see <see cref="TimeText"/>); <c>now</c> reads the console's clock.</summary>
    public static Option<DateTime?> Time(string name, string description, CliConsole console) => new(name)
    {
        Description = $"{description}: {TimeText.TimeHelp}.",
        HelpName = "TIME",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (TimeText.TryParseTime(text, console.Clock, out var utc))
            {
                return utc;
            }

            result.AddError($"{name} takes a time ({TimeText.TimeHelp}); got '{text}'.");
            return null;
        },
    };

    /// <summary>A duration option (see <see cref="TimeText"/>); the command applies <paramref name="defaultValue"/>, which help shows.</summary>
    public static Option<TimeSpan?> Duration(string name, string description, TimeSpan? defaultValue = null)
    {
        return new Option<TimeSpan?>(name)
        {
            Description = description + (defaultValue is { } d ? $" [default: {TimeText.Format(d)}]" : string.Empty),
            HelpName = "DURATION",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
                if (TimeText.TryParseDuration(text, out var duration))
                {
                    return duration;
                }

                result.AddError($"{name} takes a duration ({TimeText.DurationHelp}); got '{text}'.");
                return null;
            },
        };
    }

    /// <summary>The --from and --to of a range, required, with a check that the range does not end before it starts.</summary>
    public static (Option<DateTime?> From, Option<DateTime?> To) Range(Command command, CliConsole console, string what, bool required = true)
    {
        var from = Time("--from", $"The start of the range {what} (its bucket is the first)", console);
        var to = Time("--to", $"The end of the range {what}, exclusive", console);
        from.Required = required;
        to.Required = required;
        command.Options.Add(from);
        command.Options.Add(to);
        command.Validators.Add(result =>
        {
            if (result.ValueOrDefault(from) is { } start && result.ValueOrDefault(to) is { } end && start > end)
            {
                result.AddError($"The range starts ({TimeText.Format(start)}) after it ends ({TimeText.Format(end)}).");
            }
        });
        return (from, to);
    }

    /// <summary>True when the option was written on the command line (not filled in by a default).</summary>
    public static bool IsGiven(this CommandResult result, Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>
    /// The option's value for a validator, or the default when its text did not convert: the conversion error is already
    /// reported, and a validator must not throw it again.
    /// </summary>
    public static T? ValueOrDefault<T>(this CommandResult result, Option<T> option)
    {
        try
        {
            return result.GetValue(option);
        }
        catch (InvalidOperationException)
        {
            return default;
        }
    }
}
