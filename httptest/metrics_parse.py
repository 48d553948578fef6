#!/usr/bin/env python3
"""Reads a Prometheus text exposition on standard input with the Prometheus
project's own parser (prometheus_client) and prints what it understood:
one `TYPE name kind` line per family, then one `name{label="value",...} value`
line per sample, labels sorted. Exits 1 naming the problem when the text
does not parse, 2 when prometheus_client is not installed."""

import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prometheus_client is not installed", file=sys.stderr)
    sys.exit(2)


def main():
    text = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as err:  # the parser raises ValueError and friends
        print(f"does not parse: {err}", file=sys.stderr)
        sys.exit(1)
    for family in families:
        print(f"TYPE {family.name} {family.type}")
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            print(f"{sample.name}{{{labels}}} {sample.value!r}")


if __name__ == "__main__":
    main()
