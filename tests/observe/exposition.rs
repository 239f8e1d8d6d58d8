//! A strict reader of the Prometheus text exposition format (0.0.4), enough
//! to check what `/metrics` serves: every sample must belong to a family
//! announced by both `# HELP` and `# TYPE` before it.

use std::collections::{BTreeMap, HashSet};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: the families' types and every sample.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of the one sample of `name` whose labels include `labels`;
    /// `None` when there is none, a panic when there are several.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|sample| sample.name == name)
            .filter(|sample| {
                labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
            })
            .collect();
        assert!(
            found.len() <= 1,
            "several {name} samples match {labels:?}: {found:?}"
        );
        found.first().map(|sample| sample.value)
    }
}

/// Parses `text`, or says which line is wrong and why.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    let mut helped = HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let fail = |why: &str| format!("line {}: {why}: {line:?}", index + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest
                .split_once(' ')
                .ok_or_else(|| fail("HELP without text"))?;
            check_name(name).map_err(|why| fail(&why))?;
            if help.trim().is_empty() || !helped.insert(name.to_owned()) {
                return Err(fail("empty or repeated HELP"));
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| fail("TYPE without type"))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(fail("unknown type"));
            }
            if !helped.contains(name) || exposition.types.contains_key(name) {
                return Err(fail("TYPE without HELP before it, or repeated"));
            }
            exposition.types.insert(name.to_owned(), kind.to_owned());
        } else if line.starts_with('#') || line.is_empty() {
            return Err(fail("unexpected comment or empty line"));
        } else {
            let sample = parse_sample(line).map_err(|why| fail(&why))?;
            if family_of(&exposition.types, &sample.name).is_none() {
                return Err(fail("sample of a family without HELP and TYPE"));
            }
            exposition.samples.push(sample);
        }
    }
    check_histograms(&exposition)?;
    Ok(exposition)
}

/// The family a sample belongs to: its own name, or for `_bucket`, `_sum`
/// and `_count` the histogram it is part of.
fn family_of<'a>(types: &BTreeMap<String, String>, sample: &'a str) -> Option<&'a str> {
    if types.contains_key(sample) {
        return Some(sample);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| sample.strip_suffix(suffix))
        .find(|base| types.get(*base).is_some_and(|kind| kind == "histogram"))
}

/// Every histogram series: buckets with `le`, cumulative (never falling),
/// ending in `+Inf`, which equals `_count`.
fn check_histograms(exposition: &Exposition) -> Result<(), String> {
    let histograms = exposition
        .types
        .iter()
        .filter(|(_, kind)| *kind == "histogram");
    for (family, _) in histograms {
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for sample in &exposition.samples {
            if sample.name != format!("{family}_bucket") {
                continue;
            }
            let mut labels = sample.labels.clone();
            let le = labels
                .remove("le")
                .ok_or(format!("{family} bucket without le"))?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().map_err(|_| format!("{family}: le {le:?}"))?
            };
            series.entry(labels).or_default().push((le, sample.value));
        }
        for (labels, buckets) in series {
            let cumulative = buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
            let last = buckets.last().copied().unwrap_or((0.0, 0.0));
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let count = exposition.value(&format!("{family}_count"), &pairs);
            if !cumulative || last.0 != f64::INFINITY || count != Some(last.1) {
                return Err(format!(
                    "{family}{labels:?}: buckets {buckets:?} not cumulative up to +Inf = _count {count:?}"
                ));
            }
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if valid {
        Ok(())
    } else {
        Err(format!("invalid metric name {name:?}"))
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let start = chars.peek().map(|(i, _)| *i).ok_or("unterminated labels")?;
            if inner[start..].starts_with('}') {
                rest = &inner[start + 1..];
                break;
            }
            let eq = inner[start..].find("=\"").ok_or("label without =\"")? + start;
            let key = &inner[start..eq];
            check_name(key)?;
            while chars.peek().is_some_and(|(i, _)| *i < eq + 2) {
                chars.next();
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")?.1 {
                    '"' => break,
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => return Err(format!("unknown escape \\{other}")),
                    },
                    other => value.push(other),
                }
            }
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            if chars.peek().is_some_and(|(_, c)| *c == ',') {
                chars.next();
            }
        }
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value: f64 = value
        .parse()
        .map_err(|_| format!("value {value:?} is not a number"))?;
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

#[test]
fn the_reader_takes_escaped_labels_and_refuses_orphans() {
    let good = "# HELP a_total Things.\n# TYPE a_total counter\na_total{k=\"x\\\"y\",j=\"z\"} 3\n";
    let parsed = parse(good).unwrap();
    assert_eq!(parsed.value("a_total", &[("k", "x\"y")]), Some(3.0));
    assert!(parse("a 1\n").is_err());
    assert!(parse("# TYPE a gauge\na 1\n").is_err());
    assert!(parse("# HELP a x\n# TYPE a gauge\na{k=\"v} 1\n").is_err());
}

#[test]
fn the_reader_checks_histogram_buckets() {
    let head = "# HELP h Durations.\n# TYPE h histogram\n";
    let good = format!(
        "{head}h_sum{{z=\"a\"}} 0.5\nh_count{{z=\"a\"}} 2\nh_bucket{{le=\"0.1\",z=\"a\"}} 1\nh_bucket{{le=\"+Inf\",z=\"a\"}} 2\n"
    );
    let parsed = parse(&good).unwrap();
    assert_eq!(parsed.value("h_count", &[("z", "a")]), Some(2.0));
    let falling = good.replace("le=\"0.1\",z=\"a\"} 1", "le=\"0.1\",z=\"a\"} 3");
    assert_ne!(falling, good, "the test changed a bucket");
    assert!(parse(&falling).is_err());
    let short = format!("{head}h_count 3\nh_bucket{{le=\"+Inf\"}} 2\n");
    assert!(parse(&short).is_err());
    assert!(parse("# HELP g x\n# TYPE g gauge\ng_count 1\n").is_err());
}
