//! The README's walk-through of the default run ("What the default run says") quotes
//! figures; this re-runs the default scenario and checks every quoted figure against the
//! run. The run is deterministic (same seed, same binary), so quotes must match exactly.
//! On a mismatch the test prints the fresh figures, ready to paste into the README.

use std::path::Path;

use crate::common::{orchsim, root, tmp};

/// The README section that holds the walk-through.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let start = readme.find("## What the default run says").expect("a section \"What the default run says\"");
    let rest = &readme[start + 3..];
    let end = rest.find("\n## ").map_or(rest.len(), |e| e);
    rest[..end].to_string()
}

/// The fenced blocks of a section whose first line starts with `first`, without the fences.
fn blocks<'a>(section: &'a str, first: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut lines = section.lines();
    while let Some(l) = lines.next() {
        if l.trim_start().starts_with("```") {
            let block: Vec<&str> = lines.by_ref().take_while(|l| !l.trim_start().starts_with("```")).collect();
            if block.first().is_some_and(|b| b.starts_with(first)) {
                out.push(block);
            }
        }
    }
    out
}

/// Lines of `quoted` missing from `fresh` (whitespace-normalised).
fn missing<'a>(quoted: &[&'a str], fresh: &str) -> Vec<&'a str> {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let have: Vec<String> = fresh.lines().map(norm).collect();
    quoted.iter().filter(|q| !q.trim().is_empty() && !have.contains(&norm(q))).copied().collect()
}

fn run_default(dir: &Path) -> String {
    let out = orchsim(dir).args(["run", "--no-charts", "--out", "o"]).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).expect("utf-8")
}

#[test]
fn the_readme_quotes_the_default_run_as_it_is() {
    let section = walkthrough();
    let t = tmp("readme");
    let stdout = run_default(t.path());
    // The table and the verdict lines, exactly as printed.
    let tables = blocks(&section, "research-report:");
    assert_eq!(tables.len(), 1, "the walk-through quotes the run's table once");
    let table: Vec<&str> = tables[0].clone();
    assert!(table.iter().any(|l| l.starts_with("Cheapest per correct result:")), "the quote includes the verdict lines");
    let gone = missing(&table, &stdout);
    assert!(
        gone.is_empty(),
        "README quotes lines the default run no longer prints:\n{}\n\nfresh output to paste:\n{stdout}",
        gone.join("\n")
    );
    // The quoted rows of comparisons.csv, exactly as written.
    let comps = std::fs::read_to_string(t.path().join("o/comparisons.csv")).expect("comparisons.csv");
    let quoted = blocks(&section, "strategy,baseline,metric");
    assert_eq!(quoted.len(), 1, "the walk-through quotes comparisons.csv once");
    assert!(quoted[0].len() >= 3, "at least two rows are quoted");
    let gone = missing(&quoted[0], &comps);
    assert!(
        gone.is_empty(),
        "README quotes rows comparisons.csv no longer has:\n{}\n\nfresh file to paste from:\n{comps}",
        gone.join("\n")
    );
}

#[test]
fn the_readme_quotes_the_sensitivity_of_the_default_run_as_it_is() {
    // The full sensitivity takes 36 runs; each quoted line is one input, run at its two
    // ends on the same seeds, so re-running just the quoted inputs reproduces each line.
    let section = walkthrough();
    let sens = blocks(&section, "$ orchsim sensitivity");
    assert_eq!(sens.len(), 1, "the walk-through quotes one sensitivity run");
    let block = &sens[0];
    let compare = block[0].split("--compare ").nth(1).map(|s| s.split_whitespace().next().unwrap_or(""));
    let inputs: Vec<(&str, &str, &str)> = block
        .iter()
        .filter(|l| l.starts_with("  ") && l.contains(" -> "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[0], w[1], w[4])
        })
        .collect();
    assert!(inputs.len() >= 2, "at least two inputs quoted");
    let t = tmp("readme-sens");
    let mut c = orchsim(t.path());
    c.args(["sensitivity"]).arg(root().join("scenarios/research-report.toml")).args(["--out", "s"]);
    if let Some(pair) = compare {
        c.args(["--compare", pair]);
    }
    for (input, low, high) in &inputs {
        c.args(["--range", &format!("{input}={low}:{high}")]);
    }
    let out = c.assert().success();
    let fresh = String::from_utf8(out.get_output().stdout.clone()).expect("utf-8");
    let lines: Vec<&str> = block.iter().filter(|l| l.starts_with("  ") && l.contains(" -> ")).copied().collect();
    let mut want: Vec<&str> = lines.clone();
    want.extend(block.iter().filter(|l| l.starts_with("Sensitivity of")).copied());
    let gone = missing(&want, &fresh);
    assert!(gone.is_empty(), "README quotes sensitivity lines a fresh run does not print:\n{}\n\nfresh output:\n{fresh}", gone.join("\n"));
}
