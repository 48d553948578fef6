//! The Prometheus text exposition format, version 0.0.4: a `# HELP` and
//! a `# TYPE` line per family, then one line per sample, label values
//! escaped. Pure: values in, text out.

use std::fmt::{Display, Write};

/// The content type a scrape is answered with.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a family is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A scrape's text, family by family.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts the family `name`; its samples follow.
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.name());
    }

    /// One sample of `name` (the family's, or its `_bucket`, `_sum` or
    /// `_count`), with `labels` in order.
    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(label);
                self.out.push_str("=\"");
                push_escaped(&mut self.out, value);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family of one sample without labels.
    pub(crate) fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The text.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// A label value with backslash, double quote and line feed escaped, as
/// the format requires.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_help_type_then_samples() {
        let mut text = Exposition::default();
        text.family("x_total", Kind::Counter, "Things.\nMore \\ things.");
        text.sample("x_total", &[("a", "1"), ("b", "q\"\\\n")], 3);
        text.single("y", Kind::Gauge, "Why.", 0.5);
        assert_eq!(
            text.finish(),
            "# HELP x_total Things.\\nMore \\\\ things.\n\
             # TYPE x_total counter\n\
             x_total{a=\"1\",b=\"q\\\"\\\\\\n\"} 3\n\
             # HELP y Why.\n# TYPE y gauge\ny 0.5\n"
        );
    }
}
