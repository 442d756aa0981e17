//! `[workload]`: task count, arrivals (including trace files) and task classes.

use std::path::Path;
use std::sync::Arc;

use super::fields::{Check, Fields, usd};
use super::{Cx, Env};
use crate::economics::money::Usd;
use crate::model::limits;
use crate::model::*;
use crate::scenario::trace;
use crate::scenario::tree::{Node, Value};

pub(super) fn workload(cx: &mut Cx, node: &Node, env: &Env, bus: &mut Vec<String>) -> Option<Workload> {
    let mut f = Fields::of(cx, node, "workload")?;
    let tasks_given = node.get("tasks").is_some();
    let mut tasks = f.count_max(cx, "tasks", 0, 1, limits::MAX_TASKS);
    if !tasks_given {
        f.missing(cx, "tasks", "the number of tasks (a whole number >= 1)");
    }
    let arrivals = match f.sub(cx, "arrivals") {
        None => {
            if node.get("arrivals").is_none() {
                f.missing(cx, "arrivals", "{ process = \"poisson\" | \"fixed\" | \"batch\" | \"trace\", ... }");
            }
            None
        }
        Some(mut a) => {
            let kinds = [("poisson", 0), ("fixed", 1), ("batch", 2), ("trace", 3)];
            let k = if node.get("arrivals").and_then(|n| n.get("process")).is_none() {
                a.missing(cx, "process", "one of \"poisson\", \"fixed\", \"batch\", \"trace\"");
                a.known.extend(["rate_per_hour", "interval_s", "file", "column"]);
                99
            } else {
                a.choice(cx, "process", 99, &kinds)
            };
            let r = match k {
                0 => {
                    let rate_per_hour = a.num_req(cx, "rate_per_hour", Check::Pos);
                    if rate_per_hour > 0.0 {
                        span(cx, node, "rate_per_hour", tasks as f64 * 3600.0 / rate_per_hour, tasks);
                    }
                    Some(Arrivals::Poisson { rate_per_hour })
                }
                1 => {
                    let interval_s = a.num_req(cx, "interval_s", Check::AtMost(limits::MAX_SECONDS));
                    span(cx, node, "interval_s", tasks.saturating_sub(1) as f64 * interval_s, tasks);
                    Some(Arrivals::Fixed { interval_s })
                }
                2 => Some(Arrivals::Batch),
                3 => {
                    let file = a.string_req(cx, "file", "a CSV file path (relative to the scenario)");
                    let column = a.string_req(cx, "column", "the CSV column holding arrival times in seconds");
                    match (file, column) {
                        (Some(fl), Some(col)) => {
                            let line = node.get("arrivals").and_then(|n| n.get("file")).and_then(|n| n.line);
                            read_trace(cx, &env.base_dir.join(fl), fl, col, line).map(|times_s| {
                                if times_s.len() < tasks as usize && tasks_given {
                                    cx.err(
                                        line,
                                        "workload.arrivals.file",
                                        format!("{fl:?}"),
                                        format!("has {} arrival times but workload.tasks = {tasks}", times_s.len()),
                                    );
                                }
                                tasks = tasks.min(times_s.len() as u64);
                                Arrivals::Trace { times_s }
                            })
                        }
                        _ => None,
                    }
                }
                _ => {
                    a.known.extend(["rate_per_hour", "interval_s", "file", "column"]);
                    None
                }
            };
            a.finish(cx);
            r
        }
    };
    let mut classes = Vec::new();
    match f.take("classes") {
        None => {
            bus.push("default".to_string());
            classes.push(Class {
                name: "default".into(),
                share: 1.0,
                business_unit: 0,
                difficulty: 1.0,
                error_correlation: 0.0,
                value_usd: Usd::ZERO,
                wrong_penalty_usd: Usd::ZERO,
                failure_penalty_usd: Usd::ZERO,
                deadline_s: None,
            });
        }
        Some(Node { value: Value::Array(items), .. }) => {
            let mut total = 0.0;
            for (i, it) in items.iter().enumerate() {
                let cname = it.get("name").and_then(|n| if let Value::Str(s) = &n.value { Some(s.clone()) } else { None });
                let path = format!("workload.classes.{}", cname.clone().unwrap_or_else(|| i.to_string()));
                let Some(mut c) = Fields::of(cx, it, &path) else { continue };
                let name = c.string_req(cx, "name", "a class name").unwrap_or("").to_string();
                if classes.iter().any(|x: &Class| x.name == name) {
                    cx.bad(it.get("name").unwrap_or(it), &c.p("name"), "duplicate class name");
                }
                let share = c.num_req(cx, "share", Check::Prob);
                total += share;
                let bu = c.string_opt(cx, "business_unit").unwrap_or("default").to_string();
                let business_unit = match bus.iter().position(|b| *b == bu) {
                    Some(p) => p,
                    None => {
                        bus.push(bu);
                        bus.len() - 1
                    }
                };
                let class = Class {
                    name,
                    share,
                    business_unit,
                    difficulty: c.num(cx, "difficulty", 1.0, Check::NonNeg),
                    error_correlation: super::agents::correlation(cx, &mut c, it).unwrap_or(0.0),
                    value_usd: usd(c.num(cx, "value_usd", 0.0, Check::AtMost(limits::MAX_VALUE_USD))),
                    wrong_penalty_usd: usd(c.num(cx, "wrong_penalty_usd", 0.0, Check::AtMost(limits::MAX_VALUE_USD))),
                    failure_penalty_usd: usd(c.num(cx, "failure_penalty_usd", 0.0, Check::AtMost(limits::MAX_VALUE_USD))),
                    deadline_s: c.num_opt(cx, "deadline_s", Check::PosAtMost(limits::MAX_ARRIVAL_SPAN_S)),
                };
                c.finish(cx);
                classes.push(class);
            }
            if items.is_empty() {
                cx.err(
                    node.get("classes").and_then(|n| n.line),
                    "workload.classes",
                    "[]".into(),
                    "expected at least one [[workload.classes]]",
                );
            } else if (total - 1.0).abs() > 1e-9 && cx.diags.is_empty() {
                cx.err(items[0].line, "workload.classes.share", format!("{total}"), "shares must add up to 1");
            }
        }
        Some(other) => cx.bad(other, "workload.classes", "expected an array of tables ([[workload.classes]])"),
    }
    f.finish(cx);
    Some(Workload { tasks, arrivals: arrivals?, classes })
}

/// Refuses arrivals whose last task would come after [`limits::MAX_ARRIVAL_SPAN_S`]
/// (`last_s` is when, on average for Poisson arrivals).
fn span(cx: &mut Cx, node: &Node, key: &str, last_s: f64, tasks: u64) {
    if last_s > limits::MAX_ARRIVAL_SPAN_S
        && let Some(n) = node.get("arrivals").and_then(|a| a.get(key))
    {
        cx.bad(
            n,
            &format!("workload.arrivals.{key}"),
            format!(
                "the last of workload.tasks = {tasks} would arrive after {last_s:.3e} s; expected at most {:e} s (about 31 years)",
                limits::MAX_ARRIVAL_SPAN_S
            ),
        );
    }
}

/// Reads a trace through the process-wide cache, reporting a problem on its key.
fn read_trace(cx: &mut Cx, path: &Path, shown: &str, column: &str, line: Option<u32>) -> Option<Arc<[f64]>> {
    match trace::load(path, shown, column) {
        Ok(t) => {
            cx.inputs.push((path.display().to_string(), t.sha256.clone()));
            Some(Arc::clone(&t.times_s))
        }
        Err(e) => {
            cx.err(line, &format!("workload.arrivals.{}", e.key), e.value, e.expected);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::economics::money::Usd;
    use crate::model::Arrivals;
    use crate::scenario::schema::testing::{load, load_in, refused};

    const BATCH: &str = "arrivals = { process = \"batch\" }";

    #[test]
    fn arrivals_processes() {
        let sc = load(&[(BATCH, "arrivals = { process = \"poisson\", rate_per_hour = 30 }")]).unwrap();
        assert!(matches!(sc.workload.arrivals, Arrivals::Poisson { rate_per_hour } if rate_per_hour == 30.0));
        assert_eq!(
            refused(&[(BATCH, "arrivals = { process = \"poisson\", rate_per_hour = 0 }")]),
            "t.toml:4: workload.arrivals.rate_per_hour = 0: expected a positive number"
        );
        assert_eq!(
            refused(&[(BATCH, "arrivals = { process = \"hourly\" }")]),
            "t.toml:4: workload.arrivals.process = \"hourly\": expected one of \"poisson\", \"fixed\", \"batch\", \"trace\""
        );
    }

    #[test]
    fn classes_have_shares_that_add_up_to_one() {
        let two = "[[workload.classes]]\nname = \"a\"\nshare = 0.25\nvalue_usd = 2\n[[workload.classes]]\nname = \"b\"\nshare = 0.75";
        let sc = load(&[("WORKLOAD", two)]).unwrap();
        assert_eq!(sc.workload.classes.iter().map(|c| c.share).collect::<Vec<_>>(), [0.25, 0.75]);
        assert_eq!(sc.workload.classes[0].value_usd, Usd::from_f64(2.0));
        assert_eq!(
            refused(&[("WORKLOAD", "[[workload.classes]]\nname = \"a\"\nshare = 0.5")]),
            "t.toml:5: workload.classes.share = 0.5: shares must add up to 1"
        );
        assert_eq!(
            refused(&[("WORKLOAD", "[[workload.classes]]\nname = \"a\"\nshare = 1\ndifficulty = \"hard\"")]),
            "t.toml:8: workload.classes.a.difficulty = \"hard\": expected a non-negative number, found a string"
        );
    }

    #[test]
    fn trace_arrivals_are_read_from_a_csv_column() {
        let dir = std::env::temp_dir().join(format!("orchsim-schema-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.csv"), "t,x\n0,1\n1.5,1\n4,1\n").unwrap();
        std::fs::write(dir.join("b.csv"), "t\n0\n2\n1\n").unwrap();
        let trace = |f: &str| format!("arrivals = {{ process = \"trace\", file = \"{f}\", column = \"t\" }}");
        let sc = load_in(&dir, &[(BATCH, &trace("a.csv")), ("tasks = 10", "tasks = 3")]).unwrap();
        assert!(matches!(&sc.workload.arrivals, Arrivals::Trace { times_s } if times_s[..] == [0.0, 1.5, 4.0]));
        assert_eq!(
            load_in(&dir, &[(BATCH, &trace("b.csv")), ("tasks = 10", "tasks = 3")]).unwrap_err(),
            [
                "t.toml:4: workload.arrivals.file = b.csv:4: expected non-negative, non-decreasing arrival times in seconds, at most 1000000000"
            ]
        );
        assert_eq!(
            load_in(&dir, &[(BATCH, &trace("a.csv"))]).unwrap_err(),
            ["t.toml:4: workload.arrivals.file = \"a.csv\": has 3 arrival times but workload.tasks = 10"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
