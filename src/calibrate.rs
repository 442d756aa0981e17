//! `orchsim calibrate`: scenario parameters from published figures.
//!
//! `pass-at-k` turns a benchmark's pass@1 and pass@k into `error_correlation`, the `rho`
//! of the quality model ([`crate::model::quality`]): with `e = 1 - pass@1`,
//! `pass@k = 1 - P(all k attempts wrong)`, which falls from the independent
//! `1 - e^k` at `rho = 0` to `pass@1` as `rho` nears 1. Several pass@k figures are fitted
//! by least squares.

use crate::error::{Error, Result};
use crate::model::quality::p_all_wrong;

/// The sources `orchsim calibrate` reads.
#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// error_correlation from a benchmark's pass@1 and pass@k figures (one-factor model,
    /// least squares over every --pass-at).
    PassAtK {
        /// pass@1: the share of tasks one attempt solves, in (0, 1).
        #[arg(long, value_name = "P", allow_negative_numbers = true)]
        pass1: f64,
        /// pass@k: the share of tasks at least one of k attempts solves, e.g.
        /// `--pass-at 10=0.4681`. Repeatable.
        #[arg(long = "pass-at", value_name = "K=P", required = true)]
        pass_at: Vec<String>,
    },
    /// A scenario fitted to recorded traces (OTLP JSON, OpenTelemetry SDK spans, Langfuse).
    ///
    /// Each agent's invocations (its calls inside the span that names it) are fitted as an
    /// agent loop: turns, first-turn input beyond the cached system prompt, growth per turn
    /// beyond the previous answer, tool time between turns, output and reasoning tokens.
    /// Invocations of one agent that overlap in time are a vote's replicas; a last step
    /// that runs again in a trace is a reviewer sending work back; a failed call followed
    /// by another is a retry. Every fit's comment gives its sample size and KS distance.
    /// Tool fees are not in traces and are not fitted. See the README, "Traces".
    Traces {
        /// Trace files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// A CSV `trace_id,outcome` (correct, wrong or failed) of scored runs.
        #[arg(long)]
        outcomes: Option<std::path::PathBuf>,
        /// A LiteLLM price map [default: the built-in one].
        #[arg(long)]
        prices: Option<std::path::PathBuf>,
        /// The scenario file to write.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

/// Runs a calibration and returns the text to print.
pub fn run(source: &Source) -> Result<String> {
    match source {
        Source::PassAtK { pass1, pass_at } => {
            let observed = pass_at.iter().map(|s| parse_pass_at(s)).collect::<Result<Vec<_>>>()?;
            Ok(fit_pass_at_k(*pass1, &observed)?.render())
        }
        Source::Traces { files, outcomes, prices, out } => {
            crate::traces::calibrate::command(files, outcomes.as_deref(), prices.as_deref(), out)
        }
    }
}

/// One published figure: `pass@k = pass`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassAt {
    /// Attempts.
    pub k: u32,
    /// Share of tasks solved by at least one of them.
    pub pass: f64,
}

/// Parses `K=P` (`K` an integer of at least 2, `P` in (0, 1)).
pub fn parse_pass_at(s: &str) -> Result<PassAt> {
    let bad = |why: &str| Error::Usage(format!("--pass-at {s:?}: {why}"));
    let (k, p) = s.split_once('=').ok_or_else(|| bad("expected K=P, e.g. --pass-at 10=0.4681"))?;
    let k: u32 = k.trim().parse().map_err(|_| bad("K must be a whole number of attempts, e.g. --pass-at 10=0.4681"))?;
    let pass: f64 = p.trim().parse().map_err(|_| bad("P must be a number, e.g. --pass-at 10=0.4681"))?;
    if k < 2 {
        return Err(bad("K must be at least 2 (pass@1 is given by --pass1)"));
    }
    if !(pass > 0.0 && pass < 1.0) {
        return Err(bad("P must lie strictly between 0 and 1"));
    }
    Ok(PassAt { k, pass })
}

/// The pass@k that the quality model implies for `pass1` and `rho`.
pub fn pass_at(pass1: f64, rho: f64, k: u32) -> f64 {
    1.0 - p_all_wrong(1.0 - pass1, rho, k)
}

/// The largest `error_correlation` the fit considers (it prints as 0.999).
pub const RHO_MAX: f64 = 0.999;

/// A fitted `error_correlation`.
#[derive(Clone, Debug)]
pub struct Fit {
    /// The pass@1 given.
    pub pass1: f64,
    /// The pass@k figures given, in the order given.
    pub observed: Vec<PassAt>,
    /// The least-squares `error_correlation`, in `[0, RHO_MAX]`.
    pub rho: f64,
}

/// Fits `error_correlation` to `pass1` and the `observed` pass@k figures by least squares.
///
/// Errors (exit 2) when the figures are impossible: `pass1` outside (0, 1), a pass@k not
/// above pass@1, or a pass@k that falls as k grows.
pub fn fit_pass_at_k(pass1: f64, observed: &[PassAt]) -> Result<Fit> {
    if !(pass1 > 0.0 && pass1 < 1.0) {
        return Err(Error::Usage(format!("--pass1 {pass1}: pass@1 must lie strictly between 0 and 1")));
    }
    if observed.is_empty() {
        return Err(Error::Usage("at least one --pass-at K=P is needed, e.g. --pass-at 10=0.4681".into()));
    }
    for o in observed {
        if o.pass < pass1 {
            return Err(Error::Usage(format!(
                "pass@{} = {} is below pass@1 = {pass1}: {} attempts cannot solve fewer tasks than one",
                o.k, o.pass, o.k
            )));
        }
        if o.pass == pass1 {
            return Err(Error::Usage(format!("pass@{} = {} equals pass@1: that needs error_correlation = 1, outside [0, 1)", o.k, o.pass)));
        }
    }
    for a in observed {
        for b in observed {
            if a.k < b.k && a.pass > b.pass {
                return Err(Error::Usage(format!(
                    "pass@{} = {} is above pass@{} = {}: pass@k cannot fall as k grows",
                    a.k, a.pass, b.k, b.pass
                )));
            }
        }
    }
    let loss = |rho: f64| observed.iter().map(|o| (pass_at(pass1, rho, o.k) - o.pass).powi(2)).sum::<f64>();
    Ok(Fit { pass1, observed: observed.to_vec(), rho: minimise(loss, 0.0, RHO_MAX) })
}

/// The minimum of `f` on `[lo, hi]`: the best of a grid of 100 intervals, refined by
/// golden-section search on the two intervals around it (to 1e-9).
fn minimise(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const N: usize = 100;
    let at = |i: usize| lo + (hi - lo) * i as f64 / N as f64;
    let best = (0..=N).map(|i| (f(at(i)), i)).min_by(|a, b| a.0.total_cmp(&b.0)).map_or(0, |(_, i)| i);
    let (mut a, mut b) = (at(best.saturating_sub(1)), at((best + 1).min(N)));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-9 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let x = 0.5 * (a + b);
    // The ends of the range are candidates too (the fit may sit on a boundary).
    [lo, x, hi].into_iter().min_by(|p, q| f(*p).total_cmp(&f(*q))).unwrap_or(x)
}

impl Fit {
    /// The text `orchsim calibrate pass-at-k` prints: the value as a TOML line, then
    /// comments (the implied pass@k curve and a line citing the inputs), so that the
    /// whole output can be pasted into a scenario's class or agent.
    pub fn render(&self) -> String {
        let mut ks: Vec<u32> = vec![1, 2, 5, 10, 100];
        ks.extend(self.observed.iter().map(|o| o.k));
        ks.sort_unstable();
        ks.dedup();
        // The curve is that of the value printed, which is what a scenario will hold.
        let rho = (self.rho * 1000.0).round() / 1000.0;
        let mut s = format!("error_correlation = {rho:.3}\n");
        s += &format!("# pass@k implied by the one-factor model with pass@1 = {} and error_correlation = {rho:.3}:\n", self.pass1);
        s += "#     k  implied    given\n";
        for k in ks {
            let given: Vec<String> = self.observed.iter().filter(|o| o.k == k).map(|o| format!("{:.4}", o.pass)).collect();
            let given = if k == 1 { format!("{:.4}", self.pass1) } else { given.join(" ") };
            s += format!("# {k:>5}  {:>7.4}  {:>7}", pass_at(self.pass1, rho, k), given).trim_end();
            s += "\n";
        }
        let independent: Vec<String> = self
            .observed
            .iter()
            .filter(|o| o.pass >= 1.0 - (1.0 - self.pass1).powi(o.k as i32))
            .map(|o| format!("pass@{} = {}", o.k, o.pass))
            .collect();
        if !independent.is_empty() {
            s += &format!(
                "# note: {} {} at or above what independent attempts give, 1 - (1 - pass@1)^k: errors look uncorrelated, and 0 is the least error_correlation there is\n",
                independent.join(", "),
                if independent.len() == 1 { "is" } else { "are" }
            );
        }
        if self.rho >= RHO_MAX - 1e-6 {
            s += &format!("# note: the fit reached the largest error_correlation considered, {RHO_MAX}\n");
        }
        let given: Vec<String> = self.observed.iter().map(|o| format!("pass@{} = {}", o.k, o.pass)).collect();
        s += &format!(
            "# error_correlation fitted to pass@1 = {}, {} (orchsim calibrate pass-at-k); source: <benchmark, paper, table, date>\n",
            self.pass1,
            given.join(", ")
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_on_humaneval_gives_0_902() {
        // Chen et al. 2021, Codex-12B on HumanEval: pass@1 28.81%, pass@10 46.81%.
        let fit = fit_pass_at_k(0.2881, &[PassAt { k: 10, pass: 0.4681 }]).unwrap();
        assert!((fit.rho - 0.902).abs() <= 0.001, "{}", fit.rho);
        // One figure is matched exactly.
        assert!((pass_at(0.2881, fit.rho, 10) - 0.4681).abs() < 1e-7);
        assert!(fit.render().starts_with("error_correlation = 0.902\n"), "{}", fit.render());
    }

    #[test]
    fn figures_made_by_the_model_are_recovered() {
        for rho in [0.0, 0.25, 0.6, 0.95] {
            let observed: Vec<PassAt> = [2, 5, 100].iter().map(|&k| PassAt { k, pass: pass_at(0.4, rho, k) }).collect();
            let fit = fit_pass_at_k(0.4, &observed).unwrap();
            assert!((fit.rho - rho).abs() < 1e-5, "{rho}: {}", fit.rho);
        }
    }

    #[test]
    fn least_squares_lies_between_two_disagreeing_figures() {
        let (lo, hi) = (0.3, 0.8);
        let observed = [PassAt { k: 10, pass: pass_at(0.3, hi, 10) }, PassAt { k: 10, pass: pass_at(0.3, lo, 10) }];
        let rho = fit_pass_at_k(0.3, &observed).unwrap().rho;
        assert!(rho > lo && rho < hi, "{rho}");
        // At the optimum the two residuals cancel.
        let r: f64 = observed.iter().map(|o| pass_at(0.3, rho, 10) - o.pass).sum();
        assert!(r.abs() < 1e-7, "{r}");
    }

    #[test]
    fn independent_figures_fit_zero() {
        let fit = fit_pass_at_k(0.5, &[PassAt { k: 2, pass: 0.75 }]).unwrap();
        assert_eq!(fit.rho, 0.0);
        assert!(fit.render().contains("# note:"));
    }

    #[test]
    fn nearly_identical_figures_stop_at_the_largest_value() {
        let fit = fit_pass_at_k(0.2881, &[PassAt { k: 10, pass: 0.2882 }]).unwrap();
        assert!((fit.rho - RHO_MAX).abs() < 1e-6, "{}", fit.rho);
        assert!(fit.render().contains("# note: the fit reached the largest"));
    }

    #[test]
    fn impossible_input_is_refused() {
        for bad in ["10", "10:0.4", "x=0.4", "1=0.4", "0=0.4", "10=1", "10=0", "10=abc", "-3=0.5"] {
            assert!(matches!(parse_pass_at(bad), Err(Error::Usage(_))), "{bad}");
        }
        assert_eq!(parse_pass_at(" 10 = 0.4681 ").unwrap(), PassAt { k: 10, pass: 0.4681 });
        let p = |k, pass| PassAt { k, pass };
        for (pass1, obs) in [
            (0.3, vec![p(10, 0.2)]),
            (0.3, vec![p(10, 0.3)]),
            (1.0, vec![p(10, 0.5)]),
            (0.0, vec![p(10, 0.5)]),
            (0.3, vec![p(5, 0.6), p(10, 0.5)]),
        ] {
            let e = fit_pass_at_k(pass1, &obs).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
        }
    }
}
