//! The figures as one Markdown table, ready for the README's Performance section.

/// The table's columns.
const HEADER: [&str; 4] = ["Measure", "dnsfailover", "Comparison", "Target"];

/// Rows collected while the benchmarks run.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    /// Adds a row: what was measured, the agent's figure, the comparison's
    /// figure (or `-`), and the target (or `-`).
    pub fn add(&mut self, measure: &str, agent: &str, comparison: &str, target: &str) {
        self.rows.push([
            measure.to_string(),
            agent.to_string(),
            comparison.to_string(),
            target.to_string(),
        ]);
    }

    /// The Markdown text.
    pub fn markdown(&self) -> String {
        let mut text = format!("| {} |\n", HEADER.join(" | "));
        text.push_str("|---|---|---|---|\n");
        for row in &self.rows {
            text.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        text
    }
}
