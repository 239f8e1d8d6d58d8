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
            if !exposition.types.contains_key(&sample.name) {
                return Err(fail("sample of a family without HELP and TYPE"));
            }
            exposition.samples.push(sample);
        }
    }
    Ok(exposition)
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
