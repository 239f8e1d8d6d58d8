//! Loads a page in headless Chromium (Debian's `chromium` package) and
//! returns what a person would read: the rendered DOM's text.

use std::process::Command;

/// The text of the page at `url` after Chromium rendered it, tags removed
/// and white space folded. Panics with the package to install when
/// Chromium is missing.
pub fn visible_text(url: &str) -> String {
    let output = Command::new("timeout")
        .args([
            "60",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .args(["--virtual-time-budget=2000", "--dump-dom", url])
        .output()
        .unwrap_or_else(|e| panic!("cannot run chromium ({e}): apt-get install chromium"));
    assert!(
        output.status.success(),
        "chromium failed on {url} (install it with apt-get install chromium): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dom = String::from_utf8_lossy(&output.stdout);
    text_of(&dom)
}

/// The text content of an HTML document, without the head's.
fn text_of(dom: &str) -> String {
    let body = dom.split_once("<body").map_or(dom, |(_, rest)| rest);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
