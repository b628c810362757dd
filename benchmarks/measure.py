"""Small statistics and table printing shared by the benchmark scripts.

Medians and percentiles, not means: a single descheduled run on a shared 2-core machine would
move a mean, not a median. Ratios are "time of the first / time of the second", so > 1 means
the first is slower.
"""


def percentile(values, fraction):
    """Linear interpolation between the closest ranks; fraction in [0, 1]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values):
    return percentile(values, 0.5)


def ratio(numerator, denominator):
    return numerator / denominator if denominator else float("nan")


def paired_ratio(first, second):
    """Median of the per-round ratios first[i] / second[i]: each pair ran back to back, so slow
    drifts of the machine cancel out. A second estimate next to the ratio of the medians."""
    return median([a / b for a, b in zip(first, second) if b])


def bootstrap_interval(first, second, resamples=1000, seed=115634, paired=True):
    """95 % interval of ratio(median(first), median(second)) over resampled samples.

    paired: first[i] and second[i] ran in the same round, so rounds are resampled as pairs;
    otherwise each list is resampled on its own. The width is the spread a headline ratio
    carries: a claim about 1 % needs a half-width well under 1 %.
    """
    import random

    rng = random.Random(seed)
    values = []
    for _ in range(resamples):
        if paired:
            count = min(len(first), len(second))
            picks = [rng.randrange(count) for _ in range(count)]
            a, b = [first[i] for i in picks], [second[i] for i in picks]
        else:
            a = [first[rng.randrange(len(first))] for _ in first]
            b = [second[rng.randrange(len(second))] for _ in second]
        values.append(ratio(median(a), median(b)))
    return percentile(values, 0.025), percentile(values, 0.975)


def bootstrap_paired(first, second, resamples=1000, seed=115634):
    """95 % interval of paired_ratio(first, second): the per-round ratios resampled. Rounds
    cancel the machine's drift between them, so this is the tighter of the two estimates."""
    import random

    rng = random.Random(seed)
    ratios = [a / b for a, b in zip(first, second) if b]
    values = [
        median([ratios[rng.randrange(len(ratios))] for _ in ratios]) for _ in range(resamples)
    ]
    return percentile(values, 0.025), percentile(values, 0.975)


def interval_text(low, high):
    return "%.3f-%.3f (+-%.1f %%)" % (low, high, (high - low) / 2 * 100)


def rotated(items, round_number):
    """The order to run items in this round: A B C, then B C A, ... so no contender always runs
    first (or right after the same other one)."""
    shift = round_number % len(items)
    return list(items[shift:]) + list(items[:shift])


def ms(seconds):
    return "%.2f" % (seconds * 1000.0)


def goal_note(value, goal):
    return "meets the goal (<= %.2f)" % goal if value <= goal else "OVER the goal (<= %.2f)" % goal


def table(headers, rows):
    """A Markdown table, so the output pastes straight into BENCHMARKS.md."""
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)
